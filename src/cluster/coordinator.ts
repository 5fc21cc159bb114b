/**
 * The cluster's one question for the supervisor: which node holds which upstream link. Every link
 * (one Wings server socket, one Felix socket, one room, one Semoxy panel socket) has a lease; a
 * node opens the link only while it holds the lease, and drops it the moment it stops holding it.
 *
 * Its second question: what the dashboards of the *other* nodes want of an upstream (Felix `20002`
 * users/guilds), so that the node holding a link asks the upstream for every node's dashboards.
 *
 * Two implementations: `memory` (one node: every lease granted at once, no other node's interest)
 * and `nats` (leases in a JetStream KV bucket, see lease-timing.ts for the timing argument, spread
 * over the nodes by balance.ts; interest in another bucket, see nats-interest.ts). Adapters know
 * nothing of this.
 */

/** Ids wanted per resource kind of one upstream (the shape of src/upstream/interest.ts). */
export type Interest = ReadonlyMap<string, ReadonlySet<string>>;

export type LinkOwnership = 'owned' | 'standby' | 'unowned';

export interface LeaseView {
  /** What this node knows now: it owns the link, another node does, or nobody does. */
  readonly ownership: LinkOwnership;
  /** Node id of the owner when known (this node's own id when `owned`). */
  readonly owner: string | null;
  /** When the current owner took it (ms since the epoch, as the owner recorded it), when known. */
  readonly since: number | null;
}

export interface Lease extends LeaseView {
  /**
   * Called with the new view on every change of ownership or owner, synchronously in the turn
   * the change is decided. A loss (`owned` → anything) is announced before any other work of
   * that turn, so a listener that drops the link there drops it before the lease could expire.
   * A listener added while the lease is already `owned` is not called for that: read the view.
   */
  onChange(listener: (view: LeaseView) => void): void;
  /**
   * Gives the lease up for good (drain): the stored lease is deleted only if it is still this
   * node's, so a standby node takes over at once. Resolves once another node has taken it, or a
   * short while (NATS: the renew period) after the delete was answered, or when the delete failed
   * (the lease then ages out). The caller must have closed the link first. Idempotent.
   */
  release(): Promise<void>;
}

export interface Coordinator {
  /** This node's id. */
  readonly node: string;
  /**
   * Connects (the KV bucket exists afterwards when NATS answered). Never rejects for a NATS
   * outage: it keeps trying in the background, and leases asked for meanwhile stay `unowned`.
   */
  start(): Promise<void>;
  /**
   * The lease of one link, asked for from now on (the same object for the same key). `key` comes
   * from `Subjects.leaseKey`, so every node names a link alike.
   */
  lease(key: string): Lease;
  /**
   * Publishes what this node's dashboards want of `upstream`, replacing what it published before;
   * an empty interest (no ids at all) withdraws it. NATS: kept alive by a heartbeat while this
   * node runs (published again once the bucket opens if called before), so it lapses within
   * `cluster.interestTtlMs` when the node dies; withdrawn on stop. Memory: nobody else to tell.
   * Never throws; a KV write that fails is logged and made again by the next heartbeat.
   */
  publishInterest(upstream: string, interest: Interest): void;
  /**
   * Calls `listener` with the union of what every *other* node publishes for `upstream` each
   * time it changes (a node's entry also lapses `interestTtlMs` after its last heartbeat was
   * seen), never within the calling turn. Returns the unsubscribe. Memory: never called.
   */
  watchInterest(upstream: string, listener: (remote: Interest) => void): () => void;
  /**
   * This node is draining: it stops taking links from others and tells the other nodes it is
   * leaving, so that they spread its links among themselves as it releases them. Idempotent;
   * never rejects.
   */
  leave(): Promise<void>;
  /** Releases every lease, withdraws this node's interest, stops every timer and watcher; idempotent. */
  stop(): Promise<void>;
}
