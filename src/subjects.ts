/**
 * Every bus subject is built and parsed here (DESIGN §4).
 *
 *   events    <prefix>.evt.<upstream>.<resource>.<id>.<event…>
 *   commands  <prefix>.cmd.<upstream>.<resource>.<id>
 *
 * Tokens are escaped so that no id can add a token or a wildcard: `%`, `.`, `*`, `>`, whitespace
 * and control characters become `%XX` (UTF-8 bytes, upper-case hex). The empty string, which NATS
 * cannot carry as a token, is written `%`, which escaping never produces on its own.
 */
import { typesRetained, type Retention } from './event-types.ts';
import { eventUpstream, type BridgeEvent } from './events.ts';

const UNSAFE = /[%.*>\s\u0000-\u001f\u007f-\u009f]/u;
const UNSAFE_ALL = /[%.*>\s\u0000-\u001f\u007f-\u009f]/gu;

function percent(ch: string): string {
  let out = '';
  for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** Escapes one subject token. Pure; safe for any string. */
export function escapeToken(raw: string): string {
  if (raw === '') return '%';
  return UNSAFE.test(raw) ? raw.replace(UNSAFE_ALL, percent) : raw;
}

/** Reverses {@link escapeToken}; null for a token escaping never produces (a malformed `%XX`). */
export function unescapeToken(token: string): string | null {
  if (token === '%') return '';
  if (!token.includes('%')) return token;
  try {
    return decodeURIComponent(token);
  } catch {
    return null;
  }
}

const KV_SAFE = /^[A-Za-z0-9_-]+$/;

/**
 * Escapes one token of a NATS KV key. KV keys allow only `[-/=._A-Za-z0-9]`, so the subject
 * escaping (`%XX`) cannot be used: every byte outside `[A-Za-z0-9_-]` becomes `=XX` instead
 * (`.` and `/` too, so a token never splits), and the empty string is `=`. One-to-one and pure.
 */
export function kvToken(raw: string): string {
  if (raw === '') return '=';
  if (KV_SAFE.test(raw)) return raw;
  let out = '';
  for (const ch of raw) out += KV_SAFE.test(ch) ? ch : percent(ch).replace(/%/g, '=');
  return out;
}

export { retentionOf, type Retention } from './event-types.ts';

/** The event-type tails (after `<resource>.<id>.`) that each retention class covers, for stream filters. */
export function retainedTails(kind: Exclude<Retention, 'none'>): { resource: string; tail: string }[] {
  return typesRetained(kind).map((t) => {
    const dot = t.indexOf('.');
    return { resource: t.slice(0, dot), tail: t.slice(dot + 1) };
  });
}

/**
 * The subject of an event relative to `<prefix>.evt.`: `<upstream>.<resource>.<id>.<event…>`.
 * Clients of the CloudEvents dialect name events in this form, so the adapter shares it.
 */
export function eventSubject(event: BridgeEvent): string {
  return eventTail(eventUpstream(event), event.type, event.subject);
}

function eventTail(upstream: string, type: string, id: string): string {
  const dot = type.indexOf('.');
  return `${escapeToken(upstream)}.${type.slice(0, dot)}.${escapeToken(id)}.${type.slice(dot + 1)}`;
}

export interface EventAddress {
  upstream: string;
  resource: string;
  id: string;
  /** The event type without its resource, e.g. `console`, `install.output`. */
  event: string;
}

/** Builds and parses the subjects of one relay (one prefix). */
export class Subjects {
  readonly prefix: string;

  constructor(prefix = 'bridge') {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) throw new Error(`invalid subject prefix: ${prefix}`);
    this.prefix = prefix;
  }

  /** The subject of an event of `type` (`resource.event…`) about resource `id` of `upstream`. */
  event(upstream: string, type: string, id: string): string {
    return `${this.prefix}.evt.${eventTail(upstream, type, id)}`;
  }

  /** The subject a BridgeEvent is published on. */
  ofEvent(event: BridgeEvent): string {
    return `${this.prefix}.evt.${eventSubject(event)}`;
  }

  /** Pattern for every event about one resource: `<p>.evt.U.server.X.>`. */
  resourceEvents(upstream: string, resource: string, id: string): string {
    return `${this.prefix}.evt.${escapeToken(upstream)}.${resource}.${escapeToken(id)}.>`;
  }

  /**
   * Pattern for every event about every resource of one family of an upstream, present or future:
   * `<p>.evt.U.server.*.>` (a dashboard granted `*` on a Semoxy panel sees servers created later).
   */
  resourceFamily(upstream: string, resource: string): string {
    return `${this.prefix}.evt.${escapeToken(upstream)}.${resource}.*.>`;
  }

  /** Pattern for one event type across every resource of an upstream: `<p>.evt.U.server.*.console`. */
  typeAcross(upstream: string, type: string): string {
    const dot = type.indexOf('.');
    return `${this.prefix}.evt.${escapeToken(upstream)}.${type.slice(0, dot)}.*.${type.slice(dot + 1)}`;
  }

  /** Pattern for every event of an upstream. */
  upstreamEvents(upstream: string): string {
    return `${this.prefix}.evt.${escapeToken(upstream)}.>`;
  }

  /** Every event on the bus. */
  allEvents(): string {
    return `${this.prefix}.evt.>`;
  }

  /** The request subject for commands to one resource link. */
  command(upstream: string, resource: string, id: string): string {
    return `${this.prefix}.cmd.${escapeToken(upstream)}.${resource}.${escapeToken(id)}`;
  }

  /** Pattern matching every command subject of one upstream. */
  upstreamCommands(upstream: string): string {
    return `${this.prefix}.cmd.${escapeToken(upstream)}.>`;
  }

  /**
   * The KV key of one upstream link's ownership lease: `<upstream>.<resource>.<id>`, each token
   * escaped with {@link kvToken} (NATS KV keys allow fewer characters than subjects).
   */
  leaseKey(upstream: string, resource: string, id: string): string {
    return [upstream, resource, id].map(kvToken).join('.');
  }

  /** Parses an event subject; null when it is not one of this prefix. */
  parseEvent(subject: string): EventAddress | null {
    const head = `${this.prefix}.evt.`;
    if (!subject.startsWith(head)) return null;
    const parts = subject.slice(head.length).split('.');
    if (parts.length < 4) return null;
    const [rawUpstream, resource, rawId, ...event] = parts as [string, string, string, ...string[]];
    const upstream = unescapeToken(rawUpstream);
    const id = unescapeToken(rawId);
    if (upstream === null || id === null) return null;
    return { upstream, resource, id, event: event.join('.') };
  }

  /** Parses a command subject; null when it is not one. */
  parseCommand(subject: string): { upstream: string; resource: string; id: string } | null {
    const head = `${this.prefix}.cmd.`;
    if (!subject.startsWith(head)) return null;
    const parts = subject.slice(head.length).split('.');
    if (parts.length !== 3) return null;
    const [rawUpstream, resource, rawId] = parts as [string, string, string];
    const upstream = unescapeToken(rawUpstream);
    const id = unescapeToken(rawId);
    if (upstream === null || id === null) return null;
    return { upstream, resource, id };
  }
}

/**
 * NATS subject matching: `*` matches one token, `>` one or more trailing tokens.
 * Used by the memory bus, the CloudEvents simulator and tests; NATS itself does this for the nats bus.
 */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const tok = p[i];
    if (tok === '>') return s.length > i;
    if (i >= s.length) return false;
    if (tok !== '*' && tok !== s[i]) return false;
  }
  return p.length === s.length;
}
