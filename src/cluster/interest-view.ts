/**
 * The cluster's interest entries as one node sees them: one entry per (upstream, node) in the
 * `<PREFIX>_INTEREST` KV bucket, each what that node's dashboards want of that upstream. This file
 * is the record format and the view of the other nodes' entries; it imports no NATS (nats-
 * interest.ts feeds it from the bucket's watcher), so it is tested with a manual clock.
 *
 * Why the view expires entries itself: nats-server 2.9 has no per-key TTL, and a bucket's max age
 * removes an old message without telling watchers. So a node that dies without withdrawing its
 * entry (SIGKILL, a lost machine) would stay in every view for good. Each entry therefore lapses
 * `ttlMs` after the view last received it, on the view's own clock; a living node puts its entry
 * again every `ttlMs / 3` (interest-publisher.ts), so it lapses only after three missed beats.
 * The TTL travels in the record, so a view never expires a node that beats on another schedule.
 * (After the view's watcher restarts, the bucket replays entries up to its max age old; a dead
 * node's entry can then count up to one TTL more.)
 */
import type { Clock, Timer } from '../clock.ts';
import { kvToken } from '../subjects.ts';
import type { Interest } from './coordinator.ts';

/** The bounds of `cluster.interestTtlMs`; a record's TTL outside them is invalid. */
const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 300_000;

/** One node's published interest in one upstream. */
export interface InterestRecord {
  upstream: string;
  node: string;
  /** The publisher's TTL: its entry counts this long after each heartbeat. */
  ttlMs: number;
  interest: Interest;
}

/** The KV key of a node's interest in an upstream: `<upstream>.<node>`, tokens escaped. */
export function interestKey(upstream: string, node: string): string {
  return `${kvToken(upstream)}.${kvToken(node)}`;
}

export function encodeInterest(r: InterestRecord): string {
  const interest: Record<string, string[]> = {};
  for (const [resource, ids] of r.interest) if (ids.size > 0) interest[resource] = [...ids];
  return JSON.stringify({ upstream: r.upstream, node: r.node, ttlMs: r.ttlMs, interest });
}

/** True when `interest` lists no id at all (publishing it means withdrawing the entry). */
export function isEmpty(interest: Interest): boolean {
  for (const ids of interest.values()) if (ids.size > 0) return false;
  return true;
}

/** Reads a stored entry; null unless it is a well-formed record stored under its own key. */
export function decodeInterest(key: string, raw: string): InterestRecord | null {
  let r: { upstream?: unknown; node?: unknown; ttlMs?: unknown; interest?: unknown } | null;
  try {
    r = JSON.parse(raw) as typeof r;
  } catch {
    return null;
  }
  if (typeof r !== 'object' || r === null || typeof r.upstream !== 'string' || typeof r.node !== 'string') return null;
  if (interestKey(r.upstream, r.node) !== key) return null;
  const ttlMs = r.ttlMs;
  if (typeof ttlMs !== 'number' || !Number.isInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) return null;
  if (typeof r.interest !== 'object' || r.interest === null || Array.isArray(r.interest)) return null;
  const interest = new Map<string, ReadonlySet<string>>();
  for (const [resource, ids] of Object.entries(r.interest)) {
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) return null;
    interest.set(resource, new Set(ids as string[]));
  }
  return { upstream: r.upstream, node: r.node, ttlMs, interest };
}

export interface InterestViewOptions {
  /** This node's id: its own entries are not part of the view (the table has them first-hand). */
  self: string;
  /** Times the entries' lapse; should be monotonic. */
  clock: Clock;
  /** An entry that is not a record (counted, then ignored like a delete). */
  onInvalid?(key: string): void;
  /** A node's entry lapsed without a heartbeat (the node died or lost NATS). */
  onLapsed?(upstream: string, node: string): void;
  /** An entry under this node's id: its own echo, or one a previous run with the same id left. */
  onOwn?(upstream: string): void;
}

interface Entry {
  record: InterestRecord;
  /** The stored text, to tell a heartbeat (same text) from a change. */
  raw: string;
  lapse: Timer;
}

export class InterestView {
  readonly #o: InterestViewOptions;
  /** key → the entry of another node */
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Map<string, Set<(remote: Interest) => void>>();
  /** Upstreams whose union changed and is not told yet (told once per turn). */
  readonly #dirty = new Set<string>();
  #queued = false;
  #closed = false;

  constructor(o: InterestViewOptions) {
    this.#o = o;
  }

  /** A value seen under `key` (the watcher's PUT). */
  put(key: string, raw: string): void {
    if (this.#closed) return;
    const record = decodeInterest(key, raw);
    if (!record) {
      this.#o.onInvalid?.(key);
      return this.delete(key);
    }
    if (record.node === this.#o.self) return this.#o.onOwn?.(record.upstream);
    const old = this.#entries.get(key);
    old?.lapse.cancel();
    const lapse = this.#o.clock.setTimeout(() => this.#lapse(key), record.ttlMs);
    this.#entries.set(key, { record, raw, lapse });
    if (old?.raw !== raw) this.#touch(record.upstream);
  }

  /** The entry under `key` is gone (the watcher's DEL or PURGE: a node withdrew it). */
  delete(key: string): void {
    const old = this.#entries.get(key);
    if (!old) return;
    old.lapse.cancel();
    this.#entries.delete(key);
    this.#touch(old.record.upstream);
  }

  /** The union of the other nodes' entries for `upstream` (a snapshot). */
  remote(upstream: string): Interest {
    const out = new Map<string, Set<string>>();
    for (const { record } of this.#entries.values()) {
      if (record.upstream !== upstream) continue;
      for (const [resource, ids] of record.interest) {
        const set = out.get(resource);
        if (set) for (const id of ids) set.add(id);
        else out.set(resource, new Set(ids));
      }
    }
    return out;
  }

  /** The nodes with an entry for `upstream` now. */
  nodes(upstream: string): string[] {
    return [...this.#entries.values()].filter((e) => e.record.upstream === upstream).map((e) => e.record.node);
  }

  /** See Coordinator.watchInterest. */
  watch(upstream: string, listener: (remote: Interest) => void): () => void {
    let set = this.#listeners.get(upstream);
    if (!set) this.#listeners.set(upstream, (set = new Set()));
    set.add(listener);
    if (this.#entries.size > 0) this.#touch(upstream);
    return () => set.delete(listener);
  }

  /** Cancels every lapse timer; the view tells nothing more. */
  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) e.lapse.cancel();
    this.#entries.clear();
    this.#listeners.clear();
  }

  #lapse(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#o.onLapsed?.(e.record.upstream, e.record.node);
    this.#touch(e.record.upstream);
  }

  #touch(upstream: string): void {
    if (this.#closed) return;
    this.#dirty.add(upstream);
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const up of dirty) {
        const listeners = this.#listeners.get(up);
        if (!listeners || listeners.size === 0) continue;
        const remote = this.remote(up);
        for (const l of listeners) l(remote);
      }
    });
  }
}
