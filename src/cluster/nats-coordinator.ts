/**
 * The coordinator of a relay on the NATS bus: one lease per upstream link in the `<PREFIX>_LEASES`
 * JetStream KV bucket (nats-kv.ts), each a {@link NatsLease} state machine (nats-lease.ts, with the
 * timing argument), one bucket watcher for the whole node, and the stalled-loop watchdog; and
 * this node's interest in the `<PREFIX>_INTEREST` bucket (nats-interest.ts).
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
    });
    this.#leases.set(key, lease);
    if (this.#bucket && !this.#stopped) lease.activate(this.#timing);
    return lease;
  }

  publishInterest(upstream: string, interest: Interest): void {
    this.#interest.publish(upstream, interest);
  }

  watchInterest(upstream: string, listener: (remote: Interest) => void): () => void {
    return this.#interest.watch(upstream, listener);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#sleep?.timer.cancel();
    this.#sleep?.wake();
    this.#deadlines?.cancel();
    await Promise.all([...[...this.#leases.values()].map((l) => l.release()), this.#interest.stop()]);
    this.#watch?.stop();
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
    for (const lease of this.#leases.values()) lease.activate(this.#timing);
    void this.#keepWatching();
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
