/**
 * The subscriptions the NATS bus has promised (event subscriptions and command serving), made on
 * the server as soon as a connection exists. Dashboards, the hub and the supervisor can thus
 * subscribe while NATS is still unreachable at start; once connected, the nats client itself
 * re-subscribes after every reconnect.
 * One of the src/bus/nats*.ts files: the only files that import the `nats` package.
 */
import type { Msg, NatsConnection, Subscription } from 'nats';
import type { BusSubscription } from './bus.ts';

interface Entry {
  readonly pattern: string;
  readonly queue: string | undefined;
  readonly onMsg: (msg: Msg) => void;
  sub: Subscription | undefined;
  active: boolean;
}

export class SubscriptionTable {
  readonly #onError: (err: unknown) => void;
  /** Entries made before the first connection. */
  readonly #waiting = new Set<Entry>();
  /** Live queue subscriptions (command serving), which a drain stops first. */
  readonly #serving = new Set<Subscription>();
  #nc: NatsConnection | undefined;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  /** Subscribes now, or as soon as {@link attach} hands over the first connection. */
  add(pattern: string, queue: string | undefined, onMsg: (msg: Msg) => void): BusSubscription {
    const entry: Entry = { pattern, queue, onMsg, sub: undefined, active: true };
    if (this.#nc) this.#open(this.#nc, entry);
    else this.#waiting.add(entry);
    return { unsubscribe: () => this.#remove(entry) };
  }

  /** The first connection exists: every waiting entry is subscribed, in the order made. */
  attach(nc: NatsConnection): void {
    this.#nc = nc;
    for (const entry of this.#waiting) this.#open(nc, entry);
    this.#waiting.clear();
  }

  /** The command-serving subscriptions, for a drain to stop before anything else. */
  serving(): Subscription[] {
    return [...this.#serving];
  }

  #open(nc: NatsConnection, entry: Entry): void {
    try {
      entry.sub = nc.subscribe(entry.pattern, {
        ...(entry.queue ? { queue: entry.queue } : {}),
        callback: (err, msg) => (err ? this.#onError(err) : entry.onMsg(msg)),
      });
    } catch (err) {
      // The connection is closing: this subscription would never deliver anyway.
      entry.active = false;
      this.#onError(err);
      return;
    }
    if (entry.queue) this.#serving.add(entry.sub);
  }

  #remove(entry: Entry): void {
    if (!entry.active) return;
    entry.active = false;
    this.#waiting.delete(entry);
    const sub = entry.sub;
    if (!sub || sub.isClosed()) return;
    this.#serving.delete(sub);
    try {
      sub.unsubscribe();
    } catch {
      // the connection closed under us: the subscription is gone either way
    }
  }
}
