/**
 * What downstream sessions want from each upstream, where the upstream must be told (Felix
 * `20002` users/guilds). Each session declares ids per (upstream, resource); the table keeps the
 * union and tells listeners of an upstream when its union changes. A closed session's
 * declarations are dropped.
 *
 * Across a cluster the table has two parts per upstream: the local one (this node's sessions),
 * which this node publishes (src/cluster/interest-share.ts), and the remote one, the union that the
 * other nodes publish, set by {@link InterestTable.setRemote}. The union the link sends upstream
 * is both; whichever node owns the link so sends what every node's dashboards want.
 *
 * Cost: a dashboard may list 1 000 ids and change its list many times a second, so the union is
 * kept as a reference count per id, updated by the difference between a session's old and new
 * ids (no union rebuilt, nothing sorted per change). Listeners hear of changes coalesced: never
 * within the turn that made them (so a session's own subscriptions come first), and at most once
 * per `coalesceMs` window per upstream, with the union as it stands at the end of the window.
 */
import type { Clock, Timer } from '../clock.ts';

export type Interest = ReadonlyMap<string, ReadonlySet<string>>;

export interface InterestOptions {
  /** Drives the coalescing window. */
  clock: Clock;
  /** Changes within this window reach listeners as one update (0: once per turn). */
  coalesceMs: number;
}

const NONE: ReadonlySet<string> = new Set();

/** One upstream's interest. */
class UpstreamInterest {
  /** session → resource → the ids it declared */
  readonly declared = new Map<string, Map<string, ReadonlySet<string>>>();
  /** resource → id → how many sessions want it (the union is the keys) */
  readonly counts = new Map<string, Map<string, number>>();
  /** resource → ids the other nodes want (replaced whole by setRemote) */
  remote: Interest = new Map();
  readonly listeners = new Set<(interest: Interest) => void>();
  /** Hear of changes of the local part only (what this node publishes). */
  readonly localListeners = new Set<(local: Interest) => void>();
  /** Bumped on every change of the union; `told` is the version listeners last heard. */
  version = 0;
  told = 0;
  /** The same for the local part. */
  localVersion = 0;
  localTold = 0;
  /** Open while a window after the last update runs; changes meanwhile wait for its end. */
  window: Timer | null = null;
  /** An update is queued for the end of this turn. */
  queued = false;
}

export class InterestTable {
  readonly #upstreams = new Map<string, UpstreamInterest>();
  readonly #clock: Clock | null;
  #coalesceMs: number;

  /** Without options, listeners are told once per turn (unit tests of parts that do not coalesce). */
  constructor(o?: InterestOptions) {
    this.#clock = o?.clock ?? null;
    this.#coalesceMs = o?.coalesceMs ?? 0;
  }

  /** The coalescing window from the next one on (a config reload); a window running keeps its end. */
  set coalesceMs(ms: number) {
    this.#coalesceMs = ms;
  }

  /** Replaces what `session` wants of `resource` on `upstream`. O(old ids + new ids). */
  declare(session: string, upstream: string, resource: string, ids: readonly string[]): void {
    const u = this.#of(upstream);
    let mine = u.declared.get(session);
    if (!mine) u.declared.set(session, (mine = new Map()));
    let counts = u.counts.get(resource);
    if (!counts) u.counts.set(resource, (counts = new Map()));
    const before = mine.get(resource) ?? NONE;
    const next = new Set(ids);
    const remote = u.remote.get(resource) ?? NONE;
    let local = false;
    let union = false;
    for (const id of next) {
      if (before.has(id) || !add(counts, id)) continue;
      local = true;
      if (!remote.has(id)) union = true;
    }
    for (const id of before) {
      if (next.has(id) || !remove(counts, id)) continue;
      local = true;
      if (!remote.has(id)) union = true;
    }
    mine.set(resource, next);
    this.#changed(u, union, local);
  }

  /** Forgets everything `session` declared. */
  drop(session: string): void {
    for (const u of this.#upstreams.values()) {
      const mine = u.declared.get(session);
      if (!mine) continue;
      u.declared.delete(session);
      let local = false;
      let union = false;
      for (const [resource, ids] of mine) {
        const counts = u.counts.get(resource)!;
        const remote = u.remote.get(resource) ?? NONE;
        for (const id of ids) {
          if (!remove(counts, id)) continue;
          local = true;
          if (!remote.has(id)) union = true;
        }
      }
      this.#changed(u, union, local);
    }
  }

  /**
   * Replaces what the other nodes of the cluster want of `upstream` (their union; this node's own
   * entry excluded). O(old remote ids + new remote ids).
   */
  setRemote(upstream: string, remote: Interest): void {
    const u = this.#of(upstream);
    const before = u.remote;
    u.remote = remote;
    let union = false;
    for (const [resource, ids] of remote) {
      const had = before.get(resource) ?? NONE;
      const counts = u.counts.get(resource);
      for (const id of ids) if (!had.has(id) && !counts?.has(id)) union = true;
    }
    for (const [resource, ids] of before) {
      const has = remote.get(resource) ?? NONE;
      const counts = u.counts.get(resource);
      for (const id of ids) if (!has.has(id) && !counts?.has(id)) union = true;
    }
    this.#changed(u, union, false);
  }

  /** The union of every session's declarations for `upstream`, and the other nodes' (a snapshot). */
  union(upstream: string): Interest {
    const u = this.#upstreams.get(upstream);
    return u ? this.#unionOf(u) : new Map();
  }

  /** What this node's sessions want of `upstream` (a snapshot, without the other nodes' part). */
  local(upstream: string): Interest {
    const u = this.#upstreams.get(upstream);
    return u ? localOf(u) : new Map();
  }

  /** Calls `listener` with the new union whenever the union of `upstream` changed (coalesced). */
  onChange(upstream: string, listener: (interest: Interest) => void): () => void {
    const u = this.#of(upstream);
    u.listeners.add(listener);
    return () => u.listeners.delete(listener);
  }

  /** Calls `listener` with the local part whenever it changed (coalesced like {@link onChange}). */
  onLocalChange(upstream: string, listener: (local: Interest) => void): () => void {
    const u = this.#of(upstream);
    u.localListeners.add(listener);
    return () => u.localListeners.delete(listener);
  }

  #of(upstream: string): UpstreamInterest {
    let u = this.#upstreams.get(upstream);
    if (!u) this.#upstreams.set(upstream, (u = new UpstreamInterest()));
    return u;
  }

  #changed(u: UpstreamInterest, union: boolean, local: boolean): void {
    if (union) u.version += 1;
    if (local) u.localVersion += 1;
    if (!union && !local) return;
    if (u.window !== null || u.queued) return;
    u.queued = true;
    queueMicrotask(() => {
      u.queued = false;
      this.#tell(u);
    });
  }

  #tell(u: UpstreamInterest): void {
    if (u.version === u.told && u.localVersion === u.localTold) return;
    if (u.localVersion !== u.localTold) {
      u.localTold = u.localVersion;
      let local: Interest | null = null;
      for (const listener of u.localListeners) listener((local ??= localOf(u)));
    }
    if (u.version !== u.told) {
      u.told = u.version;
      let union: Interest | null = null;
      for (const listener of u.listeners) listener((union ??= this.#unionOf(u)));
    }
    if (this.#clock === null || this.#coalesceMs <= 0) return;
    u.window = this.#clock.setTimeout(() => {
      u.window = null;
      this.#tell(u);
    }, this.#coalesceMs);
  }

  #unionOf(u: UpstreamInterest): Interest {
    const out = new Map<string, Set<string>>();
    for (const [resource, counts] of u.counts) out.set(resource, new Set(counts.keys()));
    for (const [resource, ids] of u.remote) {
      const set = out.get(resource);
      if (set) for (const id of ids) set.add(id);
      else out.set(resource, new Set(ids));
    }
    return out;
  }
}

function localOf(u: UpstreamInterest): Interest {
  const out = new Map<string, Set<string>>();
  for (const [resource, counts] of u.counts) out.set(resource, new Set(counts.keys()));
  return out;
}

/** Counts one more session wanting `id`; true when it joined the union. */
function add(counts: Map<string, number>, id: string): boolean {
  const n = counts.get(id) ?? 0;
  counts.set(id, n + 1);
  return n === 0;
}

/** Counts one session fewer wanting `id`; true when it left the union. */
function remove(counts: Map<string, number>, id: string): boolean {
  const n = counts.get(id) ?? 0;
  if (n <= 1) {
    counts.delete(id);
    return n === 1;
  }
  counts.set(id, n - 1);
  return false;
}
