/**
 * The coordinator of a relay on the NATS bus: one lease per upstream link in the `<PREFIX>_LEASES`
 * JetStream KV bucket (nats-kv.ts), each a {@link NatsLease} state machine (nats-lease.ts; the
 * timing argument is in lease-timing.ts), one bucket watcher for the whole node, the stalled-loop
 * watchdog, and the spreading of links: this node's heartbeat in `<PREFIX>_NODES`
 * (nats-presence.ts), the table of the nodes up (presence.ts), and every R a look at the links
 * it owns, handing over those whose preferred node (balance.ts) is another, once held for H.
 * And this node's interest in the `<PREFIX>_INTEREST` bucket (nats-interest.ts).
 *
 * It shares the bus's NATS connection rather than opening its own: the leases then hold exactly
 * as long as this node can publish its links' events. With a second connection, a node whose
 * event path is cut (its bus connection reconnecting to a dead server) could keep renewing on the
 * other and hold links whose events reach nobody.
 * One of the src/cluster/nats*.ts files: with src/bus/nats*.ts, the only files that import `nats`.
 */
import { randomBytes } from 'node:crypto';
import { Events } from 'nats';
import type { NatsConnection } from 'nats';
import type { Clock, Timer } from '../clock.ts';
import type { Log } from '../contracts.ts';
import type { Coordinator, Interest, Lease } from './coordinator.ts';
import { NatsInterest } from './nats-interest.ts';
import { leaseTiming, NatsLease, type LeaseTiming, type LossReason } from './nats-lease.ts';
import { openLeaseBucket, type BucketWatch, type LeaseBucket } from './nats-kv.ts';
import { Presence } from './presence.ts';
import { openPresenceBucket, type PresenceBucket } from './nats-presence.ts';
import { monotonicMs, startWatchdog, type Watchdog } from './watchdog.ts';

export interface NatsCoordinatorOptions {
  node: string;
  /** The bus's connection once it exists (undefined: the bus drained first). */
  connection(): Promise<NatsConnection | undefined>;
  prefix: string;
  /** `cluster.leaseTtlMs`: the max age of a bucket this node creates. */
  leaseTtlMs: number;
  /** `cluster.interestTtlMs` (default 15 s). */
  interestTtlMs?: number;
  /** `bus.replicas`. */
  replicas: number;
  /** Timers and intervals; `now()` should be monotonic (see monotonicClock). */
  clock: Clock;
  log: Log;
  /** Run the stalled-loop watchdog thread (the relay does unless its clock is a test's). */
  watchdog: boolean;
  random?: () => number;
  /** Told of every lost lease (metrics). */
  onLost?(key: string, reason: LossReason): void;
  /** Told of every interest entry in the bucket that is not a record (metrics). */
  onInvalidInterest?(): void;
}

export class NatsCoordinator implements Coordinator {
  readonly node: string;
  /** Random per process: a restarted node with the same id is another owner. */
  readonly instance = randomBytes(6).toString('hex');
  readonly #o: NatsCoordinatorOptions;
  readonly #leases = new Map<string, NatsLease>();
  readonly #interest: NatsInterest;
  #timing: LeaseTiming;
  #bucket: LeaseBucket | null = null;
  #watch: BucketWatch | null = null;
  #watchdog: Watchdog | null = null;
  #deadlines: Timer | null = null;
  #stopped = false;
  #started: Promise<void> | null = null;
  #sleep: { timer: Timer; wake: () => void } | null = null;
  readonly #presence: Presence;
  #presenceBucket: PresenceBucket | null = null;
  /** The presence bucket is opened (made) again at the next beat: after a failed put or a reconnect. */
  #presenceReopen = false;
  #nc: NatsConnection | null = null;
  #presenceWatch: BucketWatch | null = null;
  #beat: Timer | null = null;
  #balance: Timer | null = null;
  #leaving = false;

  constructor(o: NatsCoordinatorOptions) {
    this.#o = o;
    this.node = o.node;
    this.#timing = leaseTiming(o.leaseTtlMs);
    this.#interest = new NatsInterest({
      node: o.node,
      prefix: o.prefix,
      ttlMs: o.interestTtlMs ?? 15_000,
      replicas: o.replicas,
      clock: o.clock,
      log: o.log,
      ...(o.onInvalidInterest ? { onInvalid: o.onInvalidInterest } : {}),
    });
    this.#presence = new Presence({ self: o.node, ttlMs: this.#timing.presenceTtlMs, clock: o.clock, keys: () => [...this.#leases.keys()] });
  }

  /** Resolves once the bucket is open, or at once while NATS is not reachable (then keeps trying). */
  start(): Promise<void> {
    this.#started ??= new Promise<void>((resolve) => {
      void this.#run(resolve).catch((err: unknown) => {
        this.#o.log.error('cluster coordinator failed', { err: err as Error });
        resolve();
      });
    });
    return this.#started;
  }

  lease(key: string): Lease {
    let lease = this.#leases.get(key);
    if (lease) return lease;
    lease = new NatsLease({
      key,
      node: this.node,
      instance: this.instance,
      store: {
        create: (k, r) => this.#store().create(k, r),
        update: (k, r, rev) => this.#store().update(k, r, rev),
        get: (k) => this.#store().get(k),
        delete: (k, rev) => this.#store().delete(k, rev),
      },
      clock: this.#o.clock,
      log: this.#o.log,
      ...(this.#o.random ? { random: this.#o.random } : {}),
      onLost: (reason) => this.#o.onLost?.(key, reason),
      onOwnedChange: () => this.#armWatchdog(),
      deferMs: (lastOwner, gone) => this.#deferMs(key, lastOwner, gone),
    });
    this.#leases.set(key, lease);
    this.#presence.keysChanged();
    if (this.#bucket && !this.#stopped) lease.activate(this.#timing);
    return lease;
  }

  publishInterest(upstream: string, interest: Interest): void {
    this.#interest.publish(upstream, interest);
  }

  watchInterest(upstream: string, listener: (remote: Interest) => void): () => void {
    return this.#interest.watch(upstream, listener);
  }

  /**
   * This node is draining: it stops handing links over and deletes its presence entry, so the
   * others spread its links among themselves as it releases them. Idempotent; never rejects.
   */
  async leave(): Promise<void> {
    if (this.#leaving) return;
    this.#leaving = true;
    this.#beat?.cancel();
    this.#balance?.cancel();
    try {
      await this.#presenceBucket?.remove(this.node);
    } catch (err) {
      this.#o.log.debug('presence entry not deleted; it ages out', { err: err as Error });
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#sleep?.timer.cancel();
    this.#sleep?.wake();
    this.#deadlines?.cancel();
    const left = this.leave();
    await Promise.all([...[...this.#leases.values()].map((l) => l.release()), this.#interest.stop()]);
    await left;
    this.#watch?.stop();
    this.#presenceWatch?.stop();
    await this.#watchdog?.stop();
  }

  // ---- internals -------------------------------------------------------------------------------

  #store(): LeaseBucket['store'] {
    if (!this.#bucket) throw new Error('lease bucket not open yet');
    return this.#bucket.store;
  }

  async #run(started: () => void): Promise<void> {
    const nc = await this.#o.connection();
    if (!nc || this.#stopped) return started();
    void this.#interest.run(nc).catch((err: unknown) => this.#o.log.error('cluster interest failed', { err: err as Error }));
    void this.#followReconnects(nc);
    while (!this.#stopped && !(await this.#open(nc))) {
      started();
      await this.#pause(this.#timing.renewMs);
    }
    started();
    if (this.#stopped) return;
    if (this.#o.watchdog) {
      this.#watchdog = startWatchdog({ checkMs: this.#timing.watchdogCheckMs, node: this.node });
      // A stalled loop also stops this refresh, leaving the last deadline for the watchdog.
      this.#deadlines = this.#o.clock.setInterval(() => this.#armWatchdog(), this.#timing.watchdogCheckMs * 2);
    }
    // Who else is up, before the first create: otherwise a node would take every link it sees
    // free and hand most of them over H later.
    await this.#startPresence(nc);
    if (this.#stopped) return;
    for (const lease of this.#leases.values()) lease.activate(this.#timing);
    void this.#keepWatching();
    this.#balance = this.#o.clock.setInterval(() => this.#handOver(), this.#timing.renewMs);
  }

  /** Opens (or creates) the bucket; false, logged, when JetStream did not answer. */
  async #open(nc: NatsConnection): Promise<boolean> {
    const t = this.#timing;
    try {
      const bucket = await openLeaseBucket(nc, { prefix: this.#o.prefix, ttlMs: this.#o.leaseTtlMs, replicas: this.#o.replicas, callTimeoutMs: t.callTimeoutMs });
      if (!(bucket.ttlMs > 0)) {
        this.#o.log.error('the lease bucket has no max age: leases would never expire; delete it so that it is made again', { ttlMs: bucket.ttlMs });
        return false;
      }
      if (bucket.ttlMs !== this.#o.leaseTtlMs) {
        // The bucket decides when entries age out, so its max age is the T of the timing argument.
        this.#o.log.warn('the lease bucket has another max age than cluster.leaseTtlMs; using the bucket\'s', { bucketTtlMs: bucket.ttlMs, leaseTtlMs: this.#o.leaseTtlMs });
        if (this.#bucket === null) this.#timing = leaseTiming(bucket.ttlMs);
      }
      this.#bucket = bucket;
      return true;
    } catch (err) {
      this.#o.log.warn('lease bucket not available yet', { err: err as Error });
      return false;
    }
  }

  /**
   * Opens the presence bucket, puts this node's entry, and waits (at most R) for the watcher to
   * deliver the entries there are. Without the bucket (JetStream refused it: permissions), this
   * node sees only itself: it takes links first come, as before spreading existed.
   */
  async #startPresence(nc: NatsConnection): Promise<void> {
    const t = this.#timing;
    try {
      this.#presenceBucket = await openPresenceBucket(nc, { prefix: this.#o.prefix, ttlMs: t.presenceTtlMs, replicas: this.#o.replicas, callTimeoutMs: t.callTimeoutMs });
    } catch (err) {
      this.#o.log.warn('presence bucket not available: links are not spread over nodes', { err: err as Error });
      return;
    }
    this.#nc = nc;
    await this.#heartbeat();
    this.#beat = this.#o.clock.setInterval(() => void this.#heartbeat(), t.presenceBeatMs);
    let initialized!: () => void;
    const seen = new Promise<void>((resolve) => (initialized = resolve));
    void this.#keepWatchingPresence(initialized);
    let timer: Timer | undefined;
    await Promise.race([seen, new Promise<void>((resolve) => (timer = this.#o.clock.setTimeout(resolve, t.renewMs)))]);
    timer?.cancel();
  }

  async #heartbeat(): Promise<void> {
    if (this.#leaving || !this.#presenceBucket) return;
    try {
      if (this.#presenceReopen && this.#nc) {
        const t = this.#timing;
        this.#presenceBucket = await openPresenceBucket(this.#nc, { prefix: this.#o.prefix, ttlMs: t.presenceTtlMs, replicas: this.#o.replicas, callTimeoutMs: t.callTimeoutMs });
        this.#presenceReopen = false;
      }
      await this.#presenceBucket.put({ node: this.node, instance: this.instance, group: this.#presence.group() });
    } catch (err) {
      // A memory-stored bucket is gone after its NATS servers restarted: make it again.
      this.#presenceReopen = true;
      this.#o.log.debug('presence heartbeat failed', { err: err as Error });
    }
  }

  async #keepWatchingPresence(initialized: () => void): Promise<void> {
    while (!this.#stopped && this.#presenceBucket) {
      try {
        this.#presenceWatch = await this.#presenceBucket.watch((key, record, revision) => this.#presence.observe(key, record, revision), initialized);
        await this.#presenceWatch.done;
      } catch (err) {
        if (!this.#stopped) this.#o.log.warn('presence watcher ended', { err: err as Error });
      }
      if (!this.#stopped) await this.#pause(this.#timing.renewMs);
    }
  }

  /** D for a standby that is not the link's preferred node; 0 when it is, or none is known. */
  #deferMs(key: string, lastOwner: string | null, gone: boolean): number {
    // An owner whose entry is ageing out is presumed gone: prefer among the others. One that
    // deleted its entry and is preferred still is draining (its presence delete not seen yet).
    const preferred = this.#presence.preferred(key, gone ? lastOwner : null);
    if (preferred === null || preferred === this.node || (!gone && preferred === lastOwner)) return 0;
    return this.#timing.deferMs;
  }

  /** Hands over every owned link, held for at least H, whose preferred node is another one. */
  #handOver(): void {
    if (this.#leaving || this.#stopped) return;
    for (const [key, lease] of this.#leases) {
      if (lease.heldMs < this.#timing.handOverAfterMs) continue;
      const preferred = this.#presence.preferred(key);
      if (preferred !== null && preferred !== this.node) void lease.handOver();
    }
  }

  /** The watcher, started again whenever it ends (a NATS failover it could not follow). */
  async #keepWatching(): Promise<void> {
    while (!this.#stopped && this.#bucket) {
      try {
        this.#watch = await this.#bucket.watch((key, entry) => this.#leases.get(key)?.observe(entry));
        await this.#watch.done;
      } catch (err) {
        if (!this.#stopped) this.#o.log.warn('lease watcher ended', { err: err as Error });
      }
      if (!this.#stopped) await this.#pause(this.#timing.renewMs);
    }
  }

  /**
   * After a reconnect: the server may have come back without the bucket (a new node), so it is
   * made again; and the watcher's consumer may have been on the server we lost, so the watcher
   * is made again rather than left to notice that by missed heartbeats.
   */
  async #followReconnects(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.#stopped) return;
      if (s.type !== Events.Reconnect || !this.#bucket) continue;
      void this.#open(nc);
      this.#watch?.stop();
      this.#presenceWatch?.stop();
      this.#presenceReopen = true;
    }
  }

  /** Publishes the earliest fence deadline of the owned leases (plus the grace) to the watchdog. */
  #armWatchdog(): void {
    const dog = this.#watchdog;
    if (!dog) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const lease of this.#leases.values()) {
      const d = lease.fenceDeadline;
      if (d !== null && d < earliest) earliest = d;
    }
    if (earliest === Number.POSITIVE_INFINITY) return dog.arm(0);
    dog.arm(monotonicMs() + (earliest + this.#timing.watchdogGraceMs - this.#o.clock.now()));
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#o.clock.setTimeout(resolve, ms);
      this.#sleep = { timer, wake: resolve };
    });
  }
}
