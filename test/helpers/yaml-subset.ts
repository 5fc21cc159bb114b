/**
 * A reader for the YAML subset our Kubernetes manifests are written in, so that tests can check
 * them without a YAML dependency: `---` documents, block mappings and sequences (a sequence may sit
 * at its key's indentation, as kubectl writes it), `- key: value` items, flow sequences of scalars
 * (`["a", "b"]`), `{}` and `[]`, plain, single- and double-quoted scalars on one line, comments.
 * Anything else (block scalars `|` `>`, anchors, aliases, tags, flow mappings with content, nested
 * flow collections, multi-line plain scalars, tabs, duplicate keys) throws with its line number,
 * so a manifest that outgrows the subset fails its test instead of being read wrongly. Replace it
 * with the `yaml` package if the project takes that dependency.
 */

export type YamlValue = null | boolean | number | string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  /** 1-based, for errors. */
  no: number;
  indent: number;
  text: string;
}

class YamlSubsetError extends Error {
  constructor(no: number, message: string) {
    super(`yaml-subset: line ${no}: ${message}`);
  }
}

/** Removes a comment (` #…` or a line starting with `#`) outside quotes. */
function stripComment(raw: string): string {
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (quote === '"' && ch === '\\') i++;
    else if (quote !== null && ch === quote) quote = null;
    else if (quote === null && (ch === '"' || ch === "'")) quote = ch;
    else if (quote === null && ch === '#' && (i === 0 || raw[i - 1] === ' ')) return raw.slice(0, i);
  }
  return raw;
}

function toLines(doc: string, firstNo: number): Line[] {
  const out: Line[] = [];
  doc.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new YamlSubsetError(firstNo + i, 'tab character');
    const text = stripComment(raw).trimEnd();
    if (text.trim() === '') return;
    const indent = text.length - text.trimStart().length;
    out.push({ no: firstNo + i, indent, text: text.trimStart() });
  });
  return out;
}

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'{}[\]#&*!|>%@`,-][^:]*?|-[^\s:][^:]*?)\s*:(?: +(.*))?$/;

function unquote(token: string, no: number): string {
  if (token.startsWith('"')) {
    try {
      return JSON.parse(token) as string;
    } catch {
      throw new YamlSubsetError(no, `unsupported double-quoted scalar ${token}`);
    }
  }
  if (token.startsWith("'")) {
    if (!token.endsWith("'") || token.length < 2) throw new YamlSubsetError(no, `unterminated ${token}`);
    return token.slice(1, -1).replace(/''/g, "'");
  }
  return token;
}

function scalar(token: string, no: number): YamlValue {
  const t = token.trim();
  if (t.startsWith('"') || t.startsWith("'")) return unquote(t, no);
  if (/^[|>&*!%@`]/.test(t)) throw new YamlSubsetError(no, `unsupported YAML construct: ${t}`);
  if (t.startsWith('{') || t.startsWith('[')) throw new YamlSubsetError(no, `nested flow collection: ${t}`);
  if (t === 'null' || t === '~' || t === '') return null;
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (/^-?(0|[1-9][0-9]*)$/.test(t)) return Number(t);
  // YAML 1.1, as Kubernetes reads it: a leading 0 is octal (defaultMode: 0440).
  if (/^0[0-7]+$/.test(t)) return parseInt(t, 8);
  if (/^0[0-9]+$/.test(t)) throw new YamlSubsetError(no, `not octal, not decimal: ${t}`);
  if (/^-?(0|[1-9][0-9]*)\.[0-9]+$/.test(t)) return Number(t);
  if (/: |\s#/.test(t)) throw new YamlSubsetError(no, `ambiguous plain scalar: ${t}`);
  return t;
}

/** Splits `a, "b,c", d` at top-level commas. */
function splitFlow(body: string, no: number): string[] {
  const parts: string[] = [];
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quote === '"' && ch === '\\') i++;
    else if (quote !== null && ch === quote) quote = null;
    else if (quote === null && (ch === '"' || ch === "'")) quote = ch;
    else if (quote === null && (ch === '[' || ch === '{')) throw new YamlSubsetError(no, 'nested flow collection');
    else if (quote === null && ch === ',') {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  if (quote !== null) throw new YamlSubsetError(no, 'unterminated quote in flow sequence');
  const last = body.slice(start);
  if (last.trim() !== '') parts.push(last);
  return parts;
}

function inline(rest: string, no: number): YamlValue {
  const t = rest.trim();
  if (t === '{}') return {};
  if (t.startsWith('{')) throw new YamlSubsetError(no, 'flow mapping with content');
  if (t.startsWith('[')) {
    if (!t.endsWith(']')) throw new YamlSubsetError(no, 'flow sequence must end on its line');
    return splitFlow(t.slice(1, -1), no).map((p) => scalar(p, no));
  }
  return scalar(t, no);
}

class Reader {
  #i = 0;
  readonly #lines: Line[];

  constructor(lines: Line[]) {
    this.#lines = lines;
  }

  document(): YamlValue {
    if (this.#lines.length === 0) return null;
    const first = this.#lines[0]!;
    const value = this.#block(first.indent);
    const extra = this.#lines[this.#i];
    if (extra) throw new YamlSubsetError(extra.no, `unexpected indentation or content: ${extra.text}`);
    return value;
  }

  #peek(): Line | undefined {
    return this.#lines[this.#i];
  }

  #block(indent: number): YamlValue {
    const line = this.#peek()!;
    return isItem(line.text) ? this.#sequence(indent) : this.#mapping(indent);
  }

  #mapping(indent: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = {};
    for (let line = this.#peek(); line && line.indent === indent && !isItem(line.text); line = this.#peek()) {
      const m = KEY.exec(line.text);
      if (!m) throw new YamlSubsetError(line.no, `expected "key: value", got ${line.text}`);
      const key = unquote(m[1]!.trim(), line.no);
      if (Object.hasOwn(out, key)) throw new YamlSubsetError(line.no, `duplicate key ${key}`);
      this.#i++;
      const rest = m[2];
      const next = this.#peek();
      if (rest !== undefined && rest.trim() !== '') {
        out[key] = inline(rest, line.no);
        if (next && next.indent > indent) throw new YamlSubsetError(next.no, 'multi-line scalar or misplaced block');
      } else if (next && next.indent > indent) out[key] = this.#block(next.indent);
      else if (next && next.indent === indent && isItem(next.text)) out[key] = this.#sequence(indent);
      else out[key] = null;
    }
    return out;
  }

  #sequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (let line = this.#peek(); line && line.indent === indent && isItem(line.text); line = this.#peek()) {
      const rest = line.text === '-' ? '' : line.text.slice(2);
      const offset = line.text.length - rest.trimStart().length;
      if (rest.trim() === '') {
        this.#i++;
        const next = this.#peek();
        out.push(next && next.indent > indent ? this.#block(next.indent) : null);
      } else if (isItem(rest.trimStart()) || KEY.test(rest.trimStart())) {
        // `- key: value` (or `- - x`): the rest is a block whose indentation is where it starts.
        this.#lines[this.#i] = { no: line.no, indent: indent + offset, text: rest.trimStart() };
        out.push(this.#block(indent + offset));
      } else {
        this.#i++;
        out.push(inline(rest, line.no));
        const next = this.#peek();
        if (next && next.indent > indent) throw new YamlSubsetError(next.no, 'multi-line scalar or misplaced block');
      }
    }
    return out;
  }
}

function isItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** Every document of a multi-document YAML text (empty documents are left out). */
export function parseYamlDocuments(text: string): YamlValue[] {
  const docs: YamlValue[] = [];
  let chunk: string[] = [];
  let firstNo = 1;
  const flush = (nextNo: number) => {
    const lines = toLines(chunk.join('\n'), firstNo);
    if (lines.length) docs.push(new Reader(lines).document());
    chunk = [];
    firstNo = nextNo;
  };
  text.split('\n').forEach((raw, i) => {
    if (/^---\s*(#.*)?$/.test(raw)) flush(i + 2);
    else if (/^\.\.\.\s*$/.test(raw) || /^%/.test(raw)) throw new YamlSubsetError(i + 1, `unsupported directive ${raw}`);
    else chunk.push(raw);
  });
  flush(0);
  return docs;
}

/** The one document of a YAML text. */
export function parseYaml(text: string): YamlValue {
  const docs = parseYamlDocuments(text);
  if (docs.length !== 1) throw new Error(`yaml-subset: expected one document, found ${docs.length}`);
  return docs[0]!;
}
