/**
 * Token buckets on the injected clock, for protocol rate limits (Wings 1.12). A bucket holds up
 * to `burst` tokens and gains one every `refillMs`; `take()` spends one if there is one.
 */
import type { Clock } from './clock.ts';

export interface BucketSpec {
  burst: number;
  refillMs: number;
}

export class TokenBucket {
  readonly #spec: BucketSpec;
  readonly #clock: Clock;
  #tokens: number;
  #at: number;

  constructor(spec: BucketSpec, clock: Clock) {
    this.#spec = spec;
    this.#clock = clock;
    this.#tokens = spec.burst;
    this.#at = clock.now();
  }

  /** Spends a token if one is available. */
  take(): boolean {
    const now = this.#clock.now();
    const gained = Math.floor((now - this.#at) / this.#spec.refillMs);
    if (gained > 0) {
      this.#tokens = Math.min(this.#spec.burst, this.#tokens + gained);
      this.#at = this.#tokens === this.#spec.burst ? now : this.#at + gained * this.#spec.refillMs;
    }
    if (this.#tokens === 0) return false;
    this.#tokens--;
    return true;
  }
}
