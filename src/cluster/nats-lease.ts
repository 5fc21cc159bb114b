/**
 * One upstream link's ownership lease on a NATS KV bucket whose max age is the lease TTL (nats-
 * server 2.9 has no per-key TTL). The KV calls go through the small {@link LeaseStore} interface
 * (nats-kv.ts implements it); this file is the state machine, and imports no NATS.
 *
 * The timing (T, R, F, C, G, the spreading's D and H) and the argument why there are never two
 * sockets for one link are in lease-timing.ts. In short: the owner renews every R, drops its
 * socket at its own deadline F < T after the last renewal it sent that succeeded, and deletes its
 * entry (a release, a hand-over) only after its socket is gone; another node connects only after
 * its create was answered, which needs the entry aged out or deleted. So is when standbys try.
 */
import type { Clock, Timer } from '../clock.ts';
import type { Log } from '../contracts.ts';
import type { Lease, LeaseView } from './coordinator.ts';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';
import type { LeaseTiming } from './lease-timing.ts';
import { OwnerFence } from './lease-fence.ts';
import { LeaseViewCell, UNOWNED } from './lease-view.ts';

export { leaseTiming, type LeaseTiming } from './lease-timing.ts';

export type LossReason = 'deadline' | 'conflict' | 'deleted';

export interface NatsLeaseOptions {
  key: string;
  node: string;
  instance: string;
  store: LeaseStore;
  /** Timers and `now()`; `now()` should not jump (see monotonicClock). */
  clock: Clock;
  log: Log;
  random?: () => number;
  /** Told of every loss of an owned lease (metrics), after the listeners. */
  onLost?(reason: LossReason): void;
  /** Told when the lease became owned or stopped being owned (the watchdog's deadline). */
  onOwnedChange?(): void;
  /**
   * How long a standby adds to a create (D when this node is not the link's preferred node, else
   * 0). `lastOwner`: the node whose entry was deleted or is ageing out; `gone`: it is ageing out.
   */
  deferMs?(lastOwner: string | null, gone: boolean): number;
}

export class NatsLease implements Lease {
  readonly key: string;
  readonly #o: NatsLeaseOptions;
  #t: LeaseTiming | null = null;
  readonly #view: LeaseViewCell;
  /** Our entry as far as we know: kept after a fence, to re-take it while nobody replaced it. */
  #held: { revision: number; record: LeaseRecord } | null = null;
  /** The entry of another node we know of, and when we first saw that revision. */
  #other: { revision: number; seenAt: number } | null = null;
  /** Highest revision seen for this key: older watcher deliveries are ignored. */
  #maxRevision = 0;
  #inflight: Promise<void> | null = null;
  #renew: Timer | null = null;
  readonly #fence: OwnerFence;
  #attempt: Timer | null = null;
  #released = false;
  /** Set while a hand-over closes and deletes: nothing re-takes the lease meanwhile. */
  #handingOver = false;
  /** The hand-over under way, for a release to wait for. */
  #handOverRun: Promise<void> | null = null;
  /** Set while a release waits for another node to take the lease over. */
  #handedOver: (() => void) | null = null;

  constructor(o: NatsLeaseOptions) {
    this.#o = o;
    this.key = o.key;
    this.#view = new LeaseViewCell(o.key, o.log, o.clock);
    this.#fence = new OwnerFence({ clock: o.clock, fenceMs: () => this.#t!.fenceMs, owned: () => this.#view.owned, onPassed: () => this.#fenced() });
  }

  get ownership() {
    return this.#view.value.ownership;
  }

  get owner() {
    return this.#view.value.owner;
  }

  get since() {
    return this.#view.value.since;
  }

  /** When this node must have dropped the link, if it owns it (clock time); null otherwise. */
  get fenceDeadline(): number | null {
    return this.#view.owned && this.#t ? this.#fence.deadline : null;
  }

  /** How long this node has owned the link (clock ms); 0 when it does not. */
  get heldMs(): number {
    return this.#view.heldMs;
  }

  onChange(listener: (view: LeaseView) => void): void {
    this.#view.listen(listener);
  }

  /** The store is usable (the bucket exists) with this timing: start competing for the lease. */
  activate(timing: LeaseTiming): void {
    if (this.#released) return;
    const first = this.#t === null;
    this.#t = timing;
    if (first) this.#schedule(this.#defer(null, false));
  }

  /** A watcher delivery for this key. */
  observe(entry: StoredLease): void {
    if (this.#released && entry.record && !this.#mine(entry.record)) this.#handedOver?.();
    if (this.#released || !this.#t || entry.revision < this.#maxRevision) return;
    this.#apply(entry);
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#attempt?.cancel();
    this.#renew?.cancel();
    this.#fence.cancel();
    const taken = new Promise<void>((resolve) => (this.#handedOver = resolve));
    // A hand-over under way deletes our entry itself (its socket is gone already): wait for it.
    const handingOver = this.#handOverRun;
    await handingOver;
    // A renewal in flight would move the revision under the delete: let it finish first.
    await this.#inflight;
    const held = this.#held;
    const wasOwned = this.#view.owned;
    this.#held = null;
    this.#view.set(UNOWNED);
    if (wasOwned) this.#o.onOwnedChange?.();
    if (!held && !handingOver) return;
    try {
      if (held) await this.#o.store.delete(this.key, held.revision);
    } catch (err) {
      this.#o.log.warn('lease release failed; it ages out instead', { lease: this.key, err: err as Error });
      return;
    }
    // A drain waits (at most R) for a standby to take the link: the node then exits with its
    // links in new hands, and a rolling restart that moves on once it exited does not stop the
    // next owner before that one took over.
    let timer: Timer | undefined;
    await Promise.race([taken, new Promise<void>((resolve) => (timer = this.#o.clock.setTimeout(resolve, this.#t?.renewMs ?? 0)))]);
    timer?.cancel();
    this.#handedOver = null;
  }

  /**
   * Gives the link to another node (the preferred one, which creates at once on the delete) and
   * stays a standby. Exactly a release's order: the listeners drop the link in this turn, and only
   * then is the entry deleted, so the next owner's create cannot be answered while our socket
   * lives. A no-op unless owned. A failed delete leaves the entry to be re-taken or to age out.
   */
  handOver(): Promise<void> {
    if (this.#released || this.#handingOver || !this.#view.owned) return Promise.resolve();
    const run = this.#handOverSteps().finally(() => {
      if (this.#handOverRun === run) this.#handOverRun = null;
    });
    this.#handOverRun = run;
    return run;
  }

  // ---- internals -------------------------------------------------------------------------------

  async #handOverSteps(): Promise<void> {
    this.#handingOver = true;
    this.#renew?.cancel();
    this.#renew = null;
    this.#fence.cancel();
    this.#view.set(UNOWNED);
    this.#o.onOwnedChange?.();
    this.#o.log.info('lease handed over', { lease: this.key });
    try {
      await this.#inflight;
      const held = this.#held;
      this.#held = null;
      // Even when released meanwhile: the release waits for this delete instead of making its own.
      if (held) await this.#o.store.delete(this.key, held.revision);
    } catch (err) {
      this.#o.log.warn('lease hand-over: delete failed; it ages out instead', { lease: this.key, err: err as Error });
    } finally {
      this.#handingOver = false;
    }
    // Attempts were held back meanwhile: look again after 1.5·R (the watcher's next delivery
    // reschedules sooner or later as usual), as a standby that is not the preferred node.
    if (!this.#released) this.#schedule(this.#t!.standbyCheckMs);
  }

  #record(): LeaseRecord {
    return { node: this.#o.node, since: this.#o.clock.now(), instance: this.#o.instance };
  }

  #mine(record: LeaseRecord | null): boolean {
    return record !== null && record.instance === this.#o.instance && record.node === this.#o.node;
  }

  /** Runs one KV call at a time; false (nothing started) while one is in flight. */
  #run(call: () => Promise<void>): boolean {
    if (this.#inflight || this.#released) return false;
    const p = call()
      .catch((err: unknown) => this.#o.log.error('lease step failed', { lease: this.key, err: err as Error }))
      .finally(() => {
        if (this.#inflight === p) this.#inflight = null;
      });
    this.#inflight = p;
    return true;
  }

  /** An attempt to acquire in `ms`; one that finds a call in flight runs after it, unless that call decided otherwise. */
  #schedule(ms: number): void {
    this.#attempt?.cancel();
    this.#attempt = null;
    if (this.#handingOver) return;
    this.#attempt = this.#o.clock.setTimeout(() => {
      this.#attempt = null;
      if (this.#run(() => this.#acquire())) return;
      void this.#inflight?.then(() => {
        if (!this.#attempt && !this.#released && !this.#view.owned) this.#schedule(0);
      });
    }, ms);
  }

  /** Create the key, or re-take our own entry after a fence; on conflict learn who holds it. */
  async #acquire(): Promise<void> {
    const t = this.#t!;
    const held = this.#held;
    const record = held?.record ?? this.#record();
    const sentAt = this.#o.clock.now();
    try {
      const revision = held ? await this.#o.store.update(this.key, record, held.revision) : await this.#o.store.create(this.key, record);
      this.#succeeded(revision, record, sentAt);
    } catch (err) {
      if (this.#released) return;
      if (err instanceof LeaseConflict) return this.#learn();
      this.#o.log.debug('lease attempt failed', { lease: this.key, err: err as Error });
      this.#schedule(t.renewMs);
    }
  }

  async #renewOnce(): Promise<void> {
    const held = this.#held;
    if (!held) return;
    const sentAt = this.#o.clock.now();
    try {
      this.#succeeded(await this.#o.store.update(this.key, held.record, held.revision), held.record, sentAt);
    } catch (err) {
      if (this.#released) return;
      if (err instanceof LeaseConflict) return this.#learn();
      // Not an answer: the fence timer decides, never a failed call.
      this.#o.log.debug('lease renewal failed', { lease: this.key, err: err as Error });
    }
  }

  async #learn(): Promise<void> {
    let entry: StoredLease | null;
    try {
      entry = await this.#o.store.get(this.key);
    } catch (err) {
      if (this.#released) return;
      this.#o.log.debug('lease read failed', { lease: this.key, err: err as Error });
      if (!this.#view.owned) this.#schedule(this.#t!.renewMs);
      return;
    }
    if (this.#released) return;
    if (entry === null) return this.#apply({ revision: this.#maxRevision, record: null });
    if (entry.revision >= this.#maxRevision) this.#apply(entry);
    else if (!this.#view.owned) this.#schedule(this.#t!.retryMs);
  }

  /** What an entry (from the watcher or a read) means for us. */
  #apply(entry: StoredLease): void {
    const t = this.#t!;
    const now = this.#o.clock.now();
    this.#maxRevision = Math.max(this.#maxRevision, entry.revision);
    const owned = this.#view.owned;
    if (entry.record === null) {
      // Deleted (a release) or aged out: nobody holds it.
      const lastOwner = this.#view.value.owner;
      this.#held = null;
      this.#other = null;
      if (owned) this.#lose('deleted', UNOWNED);
      else this.#view.set(UNOWNED);
      this.#schedule(this.#jitter() + this.#defer(lastOwner, false));
      return;
    }
    if (this.#mine(entry.record)) {
      // Ours: a renewal whose answer timed out did land. Adopt its revision and go on renewing.
      if (!this.#held || entry.revision > this.#held.revision) this.#held = { revision: entry.revision, record: entry.record };
      if (!owned && !this.#handingOver) this.#schedule(0);
      return;
    }
    const view: LeaseView = { ownership: 'standby', owner: entry.record.node, since: entry.record.since };
    this.#held = null;
    if (this.#other?.revision !== entry.revision) this.#other = { revision: entry.revision, seenAt: now };
    if (owned) this.#lose('conflict', view);
    else this.#view.set(view);
    // The owner renews well inside T: try when its last renewal we saw must have aged out. The
    // watcher brings each renewal within R; when it is silent longer (it lost its consumer in a
    // NATS failover and is being made again), an attempt also tells us what is stored.
    const due = this.#other.seenAt + t.ttlMs - now;
    const defer = this.#defer(entry.record.node, true);
    this.#schedule(Math.min(due > 0 ? due + this.#jitter() + defer : t.retryMs + defer, t.standbyCheckMs));
  }

  #succeeded(revision: number, record: LeaseRecord, sentAt: number): void {
    // Even when released meanwhile: `release()` deletes what we hold once this call is over.
    this.#held = { revision, record };
    if (this.#released || this.#handingOver) return;
    const t = this.#t!;
    this.#maxRevision = Math.max(this.#maxRevision, revision);
    this.#other = null;
    // An answer this late proves nothing about now: keep it only to re-take with.
    if (this.#o.clock.now() - sentAt >= t.fenceMs) {
      if (!this.#view.owned) this.#schedule(0);
      return;
    }
    this.#fence.renewed(sentAt);
    if (this.#view.owned) return;
    this.#attempt?.cancel();
    this.#renew?.cancel();
    this.#renew = this.#o.clock.setInterval(() => this.#run(() => this.#renewOnce()), t.renewMs);
    this.#view.set({ ownership: 'owned', owner: this.#o.node, since: record.since });
    this.#o.onOwnedChange?.();
  }

  /** The fence's deadline passed. Our entry may still be there: keep `#held` and keep trying to re-take it every R. */
  #fenced(): void {
    this.#lose('deadline', UNOWNED);
    this.#schedule(this.#t!.renewMs);
  }

  /** Stops claiming the link: the listeners drop it first, in this very turn. */
  #lose(reason: LossReason, view: LeaseView): void {
    this.#renew?.cancel();
    this.#renew = null;
    this.#fence.cancel();
    this.#view.set(view);
    this.#o.log.warn('lease lost', { lease: this.key, reason, owner: view.owner });
    this.#o.onLost?.(reason);
    this.#o.onOwnedChange?.();
  }

  #defer(lastOwner: string | null, gone: boolean): number {
    return this.#o.deferMs?.(lastOwner, gone) ?? 0;
  }

  #jitter(): number {
    return Math.floor((this.#o.random ?? Math.random)() * this.#t!.jitterMs);
  }
}
