/**
 * Bounds the reads a node makes against the bus's retention (history and last value), which on
 * NATS cost JetStream requests: at most `concurrency` run at once, the rest wait their turn in a
 * bounded queue, and reads of the same key (one subject) that overlap share one round trip
 * ("single flight"), whether the first is running or still waiting. A burst of dashboards asking
 * for the same server's console thus costs one read, and a burst over many servers a bounded
 * number in flight.
 */
import { BridgeError } from '../errors.ts';

export interface ReadGateOptions {
  /** Reads running at once. */
  concurrency: number;
  /** Distinct reads waiting for a turn; past it a new read is refused. */
  maxWaiting: number;
  /** Told of every refused read (for the `historyConcurrency` limit counter). */
  onRefused?(): void;
}

export class ReadGate {
  readonly #concurrency: number;
  readonly #maxWaiting: number;
  readonly #onRefused: () => void;
  readonly #flights = new Map<string, Promise<unknown>>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(o: ReadGateOptions) {
    this.#concurrency = Math.max(1, Math.floor(o.concurrency));
    this.#maxWaiting = Math.max(0, Math.floor(o.maxWaiting));
    this.#onRefused = o.onRefused ?? (() => {});
  }

  /** Reads running now. */
  get running(): number {
    return this.#running;
  }

  /** Reads waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `read` in turn, or joins the overlapping read of the same `key` (the caller gets that
   * read's result: callers must not mutate it). Rejects with BRIDGE_ERR_RATE_LIMITED when the
   * queue is full, and with whatever `read` rejects with.
   */
  run<T>(key: string, read: () => Promise<T>): Promise<T> {
    const shared = this.#flights.get(key);
    if (shared) return shared as Promise<T>;
    if (this.#running >= this.#concurrency && this.#waiting.length >= this.#maxWaiting) {
      this.#onRefused();
      return Promise.reject(new BridgeError('BRIDGE_ERR_RATE_LIMITED', 'too many history reads waiting on this node'));
    }
    const flight = this.#turn()
      .then(read)
      .finally(() => {
        this.#flights.delete(key);
        this.#release();
      });
    this.#flights.set(key, flight);
    return flight;
  }

  /** Resolves when a slot is free and takes it. Never rejects. */
  #turn(): Promise<void> {
    if (this.#running < this.#concurrency) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Hands the slot to the next waiting read, or frees it. */
  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  }
}
