/**
 * What downstream sessions want from each upstream, where the upstream must be told (Felix
 * `20002` users/guilds). Each session declares ids per (upstream, resource); the table keeps the
 * union and tells listeners of an upstream when its union changes. A closed session's
 * declarations are dropped. (This node only; cross-node interest is the cluster's work.)
 */
export type Interest = ReadonlyMap<string, ReadonlySet<string>>;

export class InterestTable {
  /** upstream → session → resource → ids */
  readonly #declared = new Map<string, Map<string, Map<string, ReadonlySet<string>>>>();
  readonly #listeners = new Map<string, Set<(interest: Interest) => void>>();

  /** Replaces what `session` wants of `resource` on `upstream`. */
  declare(session: string, upstream: string, resource: string, ids: readonly string[]): void {
    let sessions = this.#declared.get(upstream);
    if (!sessions) this.#declared.set(upstream, (sessions = new Map()));
    let mine = sessions.get(session);
    if (!mine) sessions.set(session, (mine = new Map()));
    const before = this.#key(upstream);
    mine.set(resource, new Set(ids));
    this.#changed(upstream, before);
  }

  /** Forgets everything `session` declared. */
  drop(session: string): void {
    for (const [upstream, sessions] of this.#declared) {
      if (!sessions.has(session)) continue;
      const before = this.#key(upstream);
      sessions.delete(session);
      this.#changed(upstream, before);
    }
  }

  /** The union of every session's declarations for `upstream`. */
  union(upstream: string): Interest {
    const out = new Map<string, Set<string>>();
    for (const byResource of this.#declared.get(upstream)?.values() ?? []) {
      for (const [resource, ids] of byResource) {
        let set = out.get(resource);
        if (!set) out.set(resource, (set = new Set()));
        for (const id of ids) set.add(id);
      }
    }
    return out;
  }

  /** Calls `listener` with the new union whenever the union of `upstream` changes. */
  onChange(upstream: string, listener: (interest: Interest) => void): () => void {
    let set = this.#listeners.get(upstream);
    if (!set) this.#listeners.set(upstream, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  #key(upstream: string): string {
    const u = this.union(upstream);
    return [...u.keys()].sort().map((r) => `${r}:${[...u.get(r)!].sort().join(',')}`).join(';');
  }

  #changed(upstream: string, before: string): void {
    if (this.#key(upstream) === before) return;
    const union = this.union(upstream);
    for (const l of this.#listeners.get(upstream) ?? []) l(union);
  }
}
