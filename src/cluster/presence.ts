/**
 * Which nodes are up, as far as this node knows, and which of them should own which link.
 * Every node puts an entry in the `<PREFIX>_NODES` KV bucket every P (nats-presence.ts) and
 * watches all of them; this table keeps what the watcher said, with the local time it said it.
 * A node not heard of for the presence TTL is gone (the bucket ages its entry out too, but a
 * watcher is not told of that), and one that deleted its entry (a drain) is gone at once.
 *
 * Nodes are grouped by the digest of the lease keys they ask for: links are spread only over
 * nodes that lease the same links, so a link is never handed to a node that would not take it
 * (a node of another config during a rolling change, a tool holding one lease). Pure apart from
 * the injected clock: no NATS.
 */
import type { Clock } from '../clock.ts';
import { assignOwners, keySetDigest } from './balance.ts';

/** What a presence entry holds. */
export interface PresenceRecord {
  node: string;
  /** Random per process, as in lease records. */
  instance: string;
  /** {@link keySetDigest} of the lease keys the node asks for. */
  group: string;
}

export class Presence {
  readonly #self: string;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  readonly #seen = new Map<string, { record: PresenceRecord; at: number; revision: number }>();
  readonly #keys: () => readonly string[];
  /** This node's group; null when its keys changed since it was computed. */
  #group: string | null = null;
  /**
   * Assignments by node set, for the current group and members: the members' own and one without
   * each member (asked by standbys for every renewal they see), so at most members + 1 of them.
   */
  readonly #cache = new Map<string, Map<string, string>>();
  #cacheFor = '';

  /** `keys`: this node's lease keys, read again after each {@link keysChanged}. */
  constructor(o: { self: string; ttlMs: number; clock: Clock; keys: () => readonly string[] }) {
    this.#self = o.self;
    this.#ttlMs = o.ttlMs;
    this.#clock = o.clock;
    this.#keys = o.keys;
  }

  /** This node asks for another lease. */
  keysChanged(): void {
    this.#group = null;
  }

  /** This node's group: the digest of its lease keys (what its presence entry says). */
  group(): string {
    return (this.#group ??= keySetDigest(this.#keys()));
  }

  /**
   * A watcher delivery: `record` null for a delete (the node left). Entries about this node are
   * ignored. An entry seen before (same revision: a watcher made again replays the last ones)
   * keeps the time it was first seen, so a dead node is not made to look alive again.
   */
  observe(key: string, record: PresenceRecord | null, revision: number): void {
    if (record?.node === this.#self) return;
    if (!record) this.#seen.delete(key);
    else if (this.#seen.get(key)?.revision !== revision) this.#seen.set(key, { record, at: this.#clock.now(), revision });
  }

  /** The nodes up in this node's group, itself included, sorted. */
  members(): string[] {
    const now = this.#clock.now();
    const group = this.group();
    const out = new Set([this.#self]);
    for (const { record, at } of this.#seen.values()) {
      if (now - at < this.#ttlMs && record.group === group) out.add(record.node);
    }
    return [...out].sort();
  }

  /**
   * The node that should own `key` (one of this node's keys), among the members less `without`
   * (a node presumed gone: its lease is ageing out). Null for a key this node does not lease.
   */
  preferred(key: string, without: string | null = null): string | null {
    const members = this.members();
    const base = `${this.group()}\u0000${members.join('\u0000')}`;
    if (base !== this.#cacheFor) {
      this.#cache.clear();
      this.#cacheFor = base;
    }
    const gone = without !== null && members.includes(without) ? without : '';
    let owners = this.#cache.get(gone);
    if (!owners) this.#cache.set(gone, (owners = assignOwners(this.#keys(), gone ? members.filter((n) => n !== gone) : members)));
    return owners.get(key) ?? null;
  }
}
