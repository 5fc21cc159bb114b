/**
 * Keeps this node's interest entries alive in the interest bucket: one entry per upstream this
 * node's dashboards want something of, put when it changes and put again every `ttlMs / 3` as the
 * heartbeat (other nodes' views let an entry lapse `ttlMs` after they last saw it, see
 * interest-view.ts), deleted when the interest empties and on stop (drain), so that the link's
 * owner shrinks its union at once rather than after the TTL. No NATS here (nats-interest.ts gives
 * the store), so it is tested with a manual clock.
 *
 * Writes of one key are made one after another (a delete never overtakes the put before it);
 * a write that fails is logged once per outage and made again by the next heartbeat.
 */
import type { Clock, Timer } from '../clock.ts';
import type { Log } from '../contracts.ts';
import type { Interest } from './coordinator.ts';
import { encodeInterest, interestKey, isEmpty } from './interest-view.ts';

/** The writes of the bucket the publisher makes. */
export interface InterestStore {
  /** Stores `value` under `key`, replacing what was there; rejects when the bucket did not answer. */
  put(key: string, value: string): Promise<void>;
  /** Removes `key` (a delete marker that watchers see); rejects when the bucket did not answer. */
  delete(key: string): Promise<void>;
}

export interface InterestPublisherOptions {
  node: string;
  /** `cluster.interestTtlMs`: carried in each record; the heartbeat runs every third of it. */
  ttlMs: number;
  clock: Clock;
  log: Log;
}

interface Published {
  key: string;
  /** The record's text; null once withdrawn. */
  value: string | null;
  /** The last write of this key, so the next one waits for it. */
  writing: Promise<void>;
  /** A write waits its turn; it will write the value as it is then, so none more is queued. */
  queued: boolean;
}

export class InterestPublisher {
  readonly #o: InterestPublisherOptions;
  /** upstream → what this node publishes for it */
  readonly #entries = new Map<string, Published>();
  #store: InterestStore | null = null;
  #heartbeat: Timer | null = null;
  #failing = false;
  #stopped = false;

  constructor(o: InterestPublisherOptions) {
    this.#o = o;
  }

  /** The heartbeat period: a third of the TTL, so one lost beat never lets an entry lapse. */
  get beatMs(): number {
    return Math.floor(this.#o.ttlMs / 3);
  }

  /** Replaces this node's interest in `upstream`; empty withdraws it. Written at once when the store is open. */
  set(upstream: string, interest: Interest): void {
    if (this.#stopped) return;
    const value = isEmpty(interest) ? null : encodeInterest({ upstream, node: this.#o.node, ttlMs: this.#o.ttlMs, interest });
    let e = this.#entries.get(upstream);
    if (!e) {
      if (value === null) return;
      this.#entries.set(upstream, (e = { key: interestKey(upstream, this.#o.node), value, writing: Promise.resolve(), queued: false }));
    } else if (e.value === value) {
      return;
    } else {
      e.value = value;
    }
    this.#write(e);
  }

  /**
   * The bucket is open (again): every entry is put now (what was set before, or lost with a NATS
   * server), and the heartbeat runs from here on.
   */
  open(store: InterestStore): void {
    if (this.#stopped) return;
    this.#store = store;
    this.beat();
    this.#heartbeat ??= this.#o.clock.setInterval(() => this.beat(), this.beatMs);
  }

  /**
   * An entry under this node's id was seen in the bucket. When this node publishes nothing for
   * `upstream`, it is a previous run's (a restart with the same node id): deleted now, so the
   * other nodes drop it at once rather than after the TTL.
   */
  seen(upstream: string): void {
    if (this.#stopped || this.#entries.get(upstream)?.value) return;
    let e = this.#entries.get(upstream);
    if (!e) this.#entries.set(upstream, (e = { key: interestKey(upstream, this.#o.node), value: null, writing: Promise.resolve(), queued: false }));
    this.#write(e);
  }

  /** Puts every live entry again (the heartbeat; also after a reconnect). */
  beat(): void {
    for (const e of this.#entries.values()) if (e.value !== null) this.#write(e);
  }

  /** Stops the heartbeat and deletes every entry this node put; resolves when the deletes were answered. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#heartbeat?.cancel();
    const store = this.#store;
    await Promise.all(
      [...this.#entries.values()].map(async (e) => {
        await e.writing;
        if (store && e.value !== null) await store.delete(e.key).catch((err: unknown) => this.#failed(err));
      }),
    );
  }

  #write(e: Published): void {
    const store = this.#store;
    if (!store || e.queued) return;
    e.queued = true;
    e.writing = e.writing.then(async () => {
      // The value as it is when the write's turn comes: a burst of changes writes the last one.
      e.queued = false;
      const value = e.value;
      try {
        if (value === null) await store.delete(e.key);
        else await store.put(e.key, value);
        if (this.#failing) this.#o.log.info('interest published again', { node: this.#o.node });
        this.#failing = false;
      } catch (err) {
        this.#failed(err);
      }
    });
  }

  #failed(err: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#o.log.warn('interest not published (other nodes drop it after cluster.interestTtlMs)', { err: err as Error });
  }
}
