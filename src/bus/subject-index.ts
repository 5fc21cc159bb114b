/**
 * The subject index shared by the buses: NATS-style pattern validation and a token trie that finds
 * the patterns matching a literal subject (`*` one token, `>` one or more trailing tokens).
 */

/** True for a valid NATS-style pattern: non-empty tokens, `>` only as the last token. */
export function isValidPattern(pattern: string): boolean {
  const tokens = pattern.split('.');
  return tokens.every((t, i) => t !== '' && !/\s/.test(t) && (t !== '>' || i === tokens.length - 1));
}

/** One pattern in a {@link SubjectIndex}; `active` turns false when it is removed. */
export interface IndexEntry<H> {
  readonly seq: number;
  readonly pattern: string;
  readonly handler: H;
  active: boolean;
}

interface TrieNode<H> {
  readonly children: Map<string, TrieNode<H>>;
  star: TrieNode<H> | undefined;
  /** Subscriptions whose pattern ends in `>` at this depth. */
  readonly rest: Set<IndexEntry<H>>;
  /** Subscriptions whose pattern ends exactly here. */
  readonly here: Set<IndexEntry<H>>;
}

function node<H>(): TrieNode<H> {
  return { children: new Map(), star: undefined, rest: new Set(), here: new Set() };
}

/** Bounded so that a stream of one-off subjects cannot grow the cache without limit. */
const MATCH_CACHE_MAX = 4096;

/**
 * A token trie of patterns (the idea of NATS's sublist) with a subject → matches cache. A lookup
 * only follows the exact and the `*` child of each token, so its cost depends on the subject's
 * depth and on the patterns that match, not on how many patterns exist. The cache makes repeated
 * subjects a single map hit and is dropped whenever the pattern set changes.
 */
export class SubjectIndex<H> {
  #root: TrieNode<H> = node();
  readonly #cache = new Map<string, readonly IndexEntry<H>[]>();
  readonly #entries = new Set<IndexEntry<H>>();
  #seq = 0;

  /** Number of live patterns. */
  get size(): number {
    return this.#entries.size;
  }

  /** Number of cached subjects (exposed for tests of invalidation). */
  get cachedSubjects(): number {
    return this.#cache.size;
  }

  /** Adds a pattern. Throws on an invalid pattern: that is a programming error, not a runtime one. */
  add(pattern: string, handler: H): IndexEntry<H> {
    if (!isValidPattern(pattern)) throw new TypeError(`invalid subject pattern: ${JSON.stringify(pattern)}`);
    const entry: IndexEntry<H> = { seq: this.#seq++, pattern, handler, active: true };
    const tokens = pattern.split('.');
    let at = this.#root;
    for (let i = 0; i < tokens.length; i++) {
      const tok = tokens[i] as string;
      if (tok === '>') {
        at.rest.add(entry);
        return this.#added(entry);
      }
      if (tok === '*') at = at.star ??= node();
      else {
        let next = at.children.get(tok);
        if (!next) at.children.set(tok, (next = node()));
        at = next;
      }
    }
    at.here.add(entry);
    return this.#added(entry);
  }

  /** Removes an entry. Idempotent. Empty branches are pruned so churn does not leak nodes. */
  remove(entry: IndexEntry<H>): void {
    if (!entry.active) return;
    entry.active = false;
    this.#entries.delete(entry);
    this.#cache.clear();
    const tokens = entry.pattern.split('.');
    const path: TrieNode<H>[] = [this.#root];
    let at: TrieNode<H> | undefined = this.#root;
    for (const tok of tokens) {
      if (tok === '>') break;
      at = tok === '*' ? at.star : at.children.get(tok);
      if (!at) return;
      path.push(at);
    }
    const last = path[path.length - 1] as TrieNode<H>;
    if (tokens[tokens.length - 1] === '>') last.rest.delete(entry);
    else last.here.delete(entry);
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i] as TrieNode<H>;
      if (n.here.size || n.rest.size || n.children.size || n.star) break;
      const parent = path[i - 1] as TrieNode<H>;
      const tok = tokens[i - 1] as string;
      if (tok === '*') parent.star = undefined;
      else parent.children.delete(tok);
    }
  }

  /** Entries matching a literal subject, in subscription order. The array is a snapshot. */
  match(subject: string): readonly IndexEntry<H>[] {
    const hit = this.#cache.get(subject);
    if (hit) return hit;
    const out: IndexEntry<H>[] = [];
    collect(this.#root, subject.split('.'), 0, out);
    out.sort((a, b) => a.seq - b.seq);
    // Dropping everything beats evicting one by one: repeated deletes from the front of a Map
    // leave tombstones that every `keys().next()` has to step over.
    if (this.#cache.size >= MATCH_CACHE_MAX) this.#cache.clear();
    this.#cache.set(subject, out);
    return out;
  }

  /** Removes every entry (each stops receiving even mid-delivery). */
  clear(): void {
    for (const e of this.#entries) e.active = false;
    this.#entries.clear();
    this.#cache.clear();
    this.#root = node();
  }

  #added(entry: IndexEntry<H>): IndexEntry<H> {
    this.#entries.add(entry);
    this.#cache.clear();
    return entry;
  }
}

function collect<H>(at: TrieNode<H>, tokens: string[], i: number, out: IndexEntry<H>[]): void {
  if (i === tokens.length) {
    for (const e of at.here) out.push(e);
    return;
  }
  // `>` needs at least one more token, which i < tokens.length guarantees here.
  for (const e of at.rest) out.push(e);
  const exact = at.children.get(tokens[i] as string);
  if (exact) collect(exact, tokens, i + 1, out);
  if (at.star) collect(at.star, tokens, i + 1, out);
}
