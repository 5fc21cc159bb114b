/**
 * A reader for the part of nats-server's configuration format that deploy/k8s/cluster/nats/ uses:
 * `key: value`, `key = value`, `key { … }`, `key: { … }`, lists `[ … ]` separated by newlines or
 * commas, quoted and bare values, `#` and `//` comments. Values stay strings (`$VAR` included);
 * that is all the manifest tests compare. nats-server itself checks the files for real in
 * test/nats/deploy-nats-permissions.test.ts.
 */

export type ConfValue = string | ConfValue[] | { [key: string]: ConfValue };

class Parser {
  #i = 0;
  readonly #s: string;

  constructor(text: string) {
    this.#s = text;
  }

  parse(): { [key: string]: ConfValue } {
    const out = this.#map('');
    if (this.#i < this.#s.length) throw new Error(`nats-conf: unexpected ${JSON.stringify(this.#s.slice(this.#i, this.#i + 20))}`);
    return out;
  }

  /** Skips blanks, commas (when `commas`), newlines and comments. */
  #skip(commas: boolean): void {
    for (;;) {
      const ch = this.#s[this.#i];
      if (ch === undefined) return;
      if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === ';' || (commas && ch === ',')) this.#i++;
      else if (ch === '#' || (ch === '/' && this.#s[this.#i + 1] === '/')) {
        while (this.#i < this.#s.length && this.#s[this.#i] !== '\n') this.#i++;
      } else return;
    }
  }

  #map(close: string): { [key: string]: ConfValue } {
    const out: { [key: string]: ConfValue } = {};
    for (;;) {
      this.#skip(true);
      const ch = this.#s[this.#i];
      if (ch === undefined || ch === close) {
        if (close && ch !== close) throw new Error('nats-conf: unterminated block');
        if (close) this.#i++;
        return out;
      }
      const key = this.#scalar(/[\s:={]/);
      while (this.#s[this.#i] === ' ' || this.#s[this.#i] === '\t') this.#i++;
      if (this.#s[this.#i] === ':' || this.#s[this.#i] === '=') this.#i++;
      while (this.#s[this.#i] === ' ' || this.#s[this.#i] === '\t') this.#i++;
      if (key in out) throw new Error(`nats-conf: duplicate key ${key}`);
      out[key] = this.#value();
    }
  }

  #value(): ConfValue {
    const ch = this.#s[this.#i];
    if (ch === '{') {
      this.#i++;
      return this.#map('}');
    }
    if (ch === '[') {
      this.#i++;
      const list: ConfValue[] = [];
      for (;;) {
        this.#skip(true);
        if (this.#s[this.#i] === ']') {
          this.#i++;
          return list;
        }
        if (this.#i >= this.#s.length) throw new Error('nats-conf: unterminated list');
        list.push(this.#value());
      }
    }
    return this.#scalar(/[\n,\]}#]/);
  }

  /** A quoted string, or a bare one up to (not including) a character matching `end`. */
  #scalar(end: RegExp): string {
    const q = this.#s[this.#i];
    if (q === '"' || q === "'") {
      const stop = this.#s.indexOf(q, this.#i + 1);
      if (stop < 0) throw new Error('nats-conf: unterminated string');
      const v = this.#s.slice(this.#i + 1, stop);
      this.#i = stop + 1;
      return v;
    }
    const start = this.#i;
    while (this.#i < this.#s.length && !end.test(this.#s[this.#i]!)) this.#i++;
    const v = this.#s.slice(start, this.#i).trim();
    if (v === '') throw new Error(`nats-conf: empty value at ${JSON.stringify(this.#s.slice(start, start + 20))}`);
    return v;
  }
}

export function parseNatsConf(text: string): { [key: string]: ConfValue } {
  return new Parser(text).parse();
}

/** Depth-first: the first value stored under `key`, at any depth. */
function find(v: ConfValue, key: string): ConfValue | undefined {
  if (typeof v === 'string') return undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = find(x, key);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (key in v) return v[key];
  for (const x of Object.values(v)) {
    const r = find(x, key);
    if (r !== undefined) return r;
  }
  return undefined;
}

/** The string stored under `key` (first occurrence, any depth); throws when absent or not a string. */
export function natsConfValue(text: string, key: string): string {
  const v = find(parseNatsConf(text), key);
  if (typeof v !== 'string') throw new Error(`nats-conf: ${key} is not a string value`);
  return v;
}

/** The list of strings stored under `key` (first occurrence, any depth). */
export function natsConfList(text: string, key: string): string[] {
  const v = find(parseNatsConf(text), key);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`nats-conf: ${key} is not a list of strings`);
  return v as string[];
}

export interface UserPermissions {
  account: string;
  password: string;
  publish: string[];
  subscribe: string[];
}

/** The account, password and allowed subjects of one user of an `accounts { … }` block. */
export function relayPermissions(text: string, user: string): UserPermissions | undefined {
  const conf = parseNatsConf(text);
  const accounts = conf.accounts;
  if (!accounts || typeof accounts !== 'object' || Array.isArray(accounts)) return undefined;
  for (const [account, body] of Object.entries(accounts)) {
    if (typeof body !== 'object' || Array.isArray(body)) continue;
    const users = body.users;
    if (!Array.isArray(users)) continue;
    for (const u of users) {
      if (typeof u !== 'object' || Array.isArray(u) || u.user !== user) continue;
      const perms = u.permissions as { [k: string]: { [k: string]: ConfValue } } | undefined;
      const allow = (dir: string) => (perms?.[dir]?.allow ?? []) as string[];
      return { account, password: String(u.password), publish: allow('publish'), subscribe: allow('subscribe') };
    }
  }
  return undefined;
}
