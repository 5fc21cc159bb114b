/**
 * Interest across the cluster on NATS: the `<PREFIX>_INTEREST` JetStream KV bucket, one key per
 * (upstream, node) (interest-view.ts has the record), written by this node's
 * {@link InterestPublisher} and read by one bucket watcher into an {@link InterestView} of the
 * other nodes' entries.
 *
 * The bucket keeps one value per key, in memory (interest is remade within a heartbeat after a
 * NATS restart), with a max age of the TTL so that a dead node's last entry is removed from
 * storage too. After a reconnect the watcher is made again (its consumer may have been on the
 * server that went away) and every entry is put again (the server may be a new one).
 * One of the src/cluster/nats*.ts files: with src/bus/nats*.ts, the only files that import `nats`.
 */
import { Events } from 'nats';
import type { KV, NatsConnection } from 'nats';
import type { Clock, Timer } from '../clock.ts';
import type { Log } from '../contracts.ts';
import type { Interest } from './coordinator.ts';
import { InterestPublisher } from './interest-publisher.ts';
import { InterestView } from './interest-view.ts';
import { bucketName, openKvBucket } from './nats-buckets.ts';

/** A put or delete of an entry; well inside the heartbeat period. */
const CALL_TIMEOUT_MS = 2000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `bridge` → `BRIDGE_INTEREST` (the stream is `KV_BRIDGE_INTEREST`), named like the lease bucket. */
export function interestBucketName(prefix: string): string {
  return bucketName(prefix, 'INTEREST');
}

export interface NatsInterestOptions {
  node: string;
  prefix: string;
  /** `cluster.interestTtlMs`. */
  ttlMs: number;
  /** `bus.replicas`. */
  replicas: number;
  /** Heartbeats and lapses; should be monotonic. */
  clock: Clock;
  log: Log;
  /** An entry in the bucket that is not a record (metrics). */
  onInvalid?(): void;
}

export class NatsInterest {
  readonly view: InterestView;
  readonly publisher: InterestPublisher;
  readonly #o: NatsInterestOptions;
  #kv: KV | null = null;
  #watch: { stop(): void } | null = null;
  #sleep: { timer: Timer; wake: () => void } | null = null;
  #stopped = false;

  constructor(o: NatsInterestOptions) {
    this.#o = o;
    this.view = new InterestView({
      self: o.node,
      clock: o.clock,
      onInvalid: (key) => {
        o.onInvalid?.();
        o.log.warn('interest entry ignored: not a record of this relay', { key });
      },
      onLapsed: (upstream, node) => o.log.info('interest of a node lapsed (no heartbeat within cluster.interestTtlMs)', { upstream, from: node }),
      onOwn: (upstream) => this.publisher.seen(upstream),
    });
    this.publisher = new InterestPublisher({ node: o.node, ttlMs: o.ttlMs, clock: o.clock, log: o.log });
  }

  publish(upstream: string, interest: Interest): void {
    this.publisher.set(upstream, interest);
  }

  watch(upstream: string, listener: (remote: Interest) => void): () => void {
    return this.view.watch(upstream, listener);
  }

  /** Opens the bucket (trying again every heartbeat period until JetStream answers), then watches it. */
  async run(nc: NatsConnection): Promise<void> {
    void this.#followReconnects(nc);
    while (!this.#stopped && !(await this.#open(nc))) await this.#pause(this.publisher.beatMs);
    if (this.#stopped) return;
    this.publisher.open({
      put: async (key, value) => void (await this.#bucket().put(key, encoder.encode(value))),
      delete: (key) => this.#bucket().delete(key),
    });
    while (!this.#stopped) {
      try {
        const iter = await this.#bucket().watch({ key: '>' });
        this.#watch = iter;
        if (this.#stopped) iter.stop();
        for await (const e of iter) {
          if (e.operation === 'PUT') this.view.put(e.key, decoder.decode(e.value));
          else this.view.delete(e.key);
        }
      } catch (err) {
        if (!this.#stopped) this.#o.log.warn('interest watcher ended', { err: err as Error });
      }
      if (!this.#stopped) await this.#pause(this.publisher.beatMs);
    }
  }

  /** Withdraws this node's entries and stops the watcher; idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#sleep?.timer.cancel();
    this.#sleep?.wake();
    await this.publisher.stop();
    this.#watch?.stop();
    this.view.close();
  }

  #bucket(): KV {
    if (!this.#kv) throw new Error('interest bucket not open yet');
    return this.#kv;
  }

  async #open(nc: NatsConnection): Promise<boolean> {
    const name = interestBucketName(this.#o.prefix);
    try {
      this.#kv = (await openKvBucket(nc, name, { ttlMs: this.#o.ttlMs, replicas: this.#o.replicas, storage: 'memory', callTimeoutMs: CALL_TIMEOUT_MS })).kv;
      return true;
    } catch (err) {
      this.#o.log.warn('interest bucket not available yet', { err: err as Error });
      return false;
    }
  }

  async #followReconnects(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.#stopped) return;
      if (s.type !== Events.Reconnect || !this.#kv) continue;
      // The server may be new (the bucket made again) and the watcher's consumer may be gone.
      if (await this.#open(nc)) this.publisher.beat();
      this.#watch?.stop();
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#o.clock.setTimeout(resolve, ms);
      this.#sleep = { timer, wake: resolve };
    });
  }
}
