/**
 * Reconnect delays: exponential growth of the ceiling, full jitter below it, capped.
 * Full jitter spreads a fleet of links that lost the same upstream at once (AWS architecture
 * blog, "Exponential Backoff And Jitter"): delay = random(0, min(cap, base · mult^attempt)).
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  multiplier: number;
}

export class Backoff {
  readonly #policy: BackoffPolicy;
  readonly #random: () => number;
  #attempt = 0;

  constructor(policy: BackoffPolicy, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
  }

  /** Failed attempts since the last success. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The ceiling for the next delay (before jitter). */
  ceiling(): number {
    const { initialMs, maxMs, multiplier } = this.#policy;
    return Math.min(maxMs, initialMs * multiplier ** this.#attempt);
  }

  /** The next delay, and counts the attempt. */
  next(): number {
    const delay = Math.floor(this.#random() * this.ceiling());
    this.#attempt++;
    return delay;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
