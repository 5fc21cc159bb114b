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

/**
 * The same limit as a {@link TokenBucket}, kept in one number (GCRA, "virtual scheduling"), for
 * state held per session: a bucket object per socket is memory that grows with the connection
 * count. `tat` is when the bucket will be full again (0 for a full bucket, and any time ≤ `now`
 * means full). Returns the new `tat` when one may pass at `now`, or -1 when the bucket is empty.
 * Starting full, at most `burst + floor(elapsed / refillMs)` pass over any stretch of time.
 */
export function spend(tat: number, now: number, spec: BucketSpec): number {
  const from = tat > now ? tat : now;
  if (from - now > (spec.burst - 1) * spec.refillMs) return -1;
  return from + spec.refillMs;
}
