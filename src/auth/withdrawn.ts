/**
 * Which sessions a config reload took something from. A session bound to a client
 * (SessionIO.bindPrincipal) relies on that client's grants for what its subscriptions cover; the
 * subscriptions are bus patterns, `<prefix>.evt.<upstream>.<resource>.<id>.<event…>`, so the
 * (upstream, id) each one reads is known to the core without asking the adapter.
 *
 * A session has lost its grant when its client is gone, or when, for some (upstream, id) one of its
 * patterns covers, the client held permissions before the reload and now holds none, or fewer.
 * What the client never held a grant for (an upstream's own `upstream.*` events under a grant of
 * listed ids) is not something a reload can take away, so it is not looked at.
 */
import { unescapeToken } from '../subjects.ts';
import type { ClientSnapshot } from './clients.ts';

/** The (upstream, id) a pattern reads: `*` where the pattern has a wildcard; null for other subjects. */
export function patternScope(pattern: string, prefix: string): { upstream: string; id: string } | null {
  const head = `${prefix}.evt.`;
  if (!pattern.startsWith(head)) return null;
  const [up = '>', resource = '>', id = '>'] = pattern.slice(head.length).split('.');
  const wild = (t: string) => t === '*' || t === '>';
  const upstream = wild(up) ? '*' : unescapeToken(up);
  // `>` in the resource position covers every id too.
  const which = up === '>' || resource === '>' || wild(id) ? '*' : unescapeToken(id);
  if (upstream === null || which === null) return null;
  return { upstream, id: which };
}

/** Whether every permission of `before` is in `after`. */
function covers(after: readonly string[], before: readonly string[]): boolean {
  if (before.length === 0) return true;
  const have = new Set(after);
  return before.every((p) => have.has(p));
}

/**
 * Answers "did this session lose its grant?" for one reload, remembering each (client, upstream,
 * id) it decided: a reload with thousands of sessions of few clients decides each once.
 */
export class WithdrawalCheck {
  readonly #before: ClientSnapshot;
  readonly #after: ClientSnapshot;
  readonly #prefix: string;
  readonly #decided = new Map<string, boolean>();

  constructor(before: ClientSnapshot, after: ClientSnapshot, prefix: string) {
    this.#before = before;
    this.#after = after;
    this.#prefix = prefix;
  }

  /** True when the reload took from client `name` something one of `patterns` reads (or the client itself). */
  withdrawn(name: string, patterns: Iterable<string>): boolean {
    if (!this.#after.named(name)) return true;
    for (const pattern of patterns) {
      const scope = patternScope(pattern, this.#prefix);
      if (scope !== null && this.#lost(name, scope.upstream, scope.id)) return true;
    }
    return false;
  }

  #lost(name: string, upstream: string, id: string): boolean {
    const key = `${name}\u0000${upstream}\u0000${id}`;
    let lost = this.#decided.get(key);
    if (lost === undefined) {
      const before = this.#before.permissionsFor(name, upstream, id);
      const after = this.#after.permissionsFor(name, upstream, id);
      lost = before !== null && (after === null || !covers(after, before));
      this.#decided.set(key, lost);
    }
    return lost;
  }
}
