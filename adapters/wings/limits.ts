/**
 * Wings ≥ 1.12 per-socket rate limits (REAL-BEHAVIOUR.md): a global bucket of 10 refilled one
 * per 200 ms; `auth` and `send logs` 2 per 5 s; `send command` burst 10, +1/s; any other event
 * burst 4, +1/s. A message over a limit is dropped, and one `throttled` is sent per episode
 * (naming the event, or "global"); the episode ends when that limit lets a message through.
 */
import { TokenBucket, type BucketSpec, type Clock } from '../../src/adapter-kit.ts';
import { CLIENT_EVENTS } from './vocabulary.ts';

const GLOBAL: BucketSpec = { burst: 10, refillMs: 200 };
const PER_EVENT: Readonly<Record<string, BucketSpec>> = {
  [CLIENT_EVENTS.auth]: { burst: 2, refillMs: 2500 },
  [CLIENT_EVENTS.sendLogs]: { burst: 2, refillMs: 2500 },
  [CLIENT_EVENTS.sendCommand]: { burst: 10, refillMs: 1000 },
};
const OTHER: BucketSpec = { burst: 4, refillMs: 1000 };

/** Frames larger than this are dropped by Wings 1.12 before they are parsed. */
export const MAX_FRAME_BYTES = 32 * 1024;
/** Wings 1.12 allows this many authenticated sockets per server. */
export const MAX_SOCKETS_PER_SERVER = 30;

export class WingsLimiter {
  readonly #clock: Clock;
  readonly #global: TokenBucket;
  readonly #buckets = new Map<string, TokenBucket>();
  /** Limits currently in a throttled episode (`global` or an event name). */
  readonly #throttled = new Set<string>();

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#global = new TokenBucket(GLOBAL, clock);
  }

  /**
   * Whether a message of `event` may pass. When it may not, returns the name to send in a
   * `throttled` event if this starts an episode, else null (already announced).
   */
  check(event: string): { pass: true } | { pass: false; announce: string | null } {
    const key = event in PER_EVENT ? event : `other:${event}`;
    let bucket = this.#buckets.get(key);
    if (!bucket) this.#buckets.set(key, (bucket = new TokenBucket(PER_EVENT[event] ?? OTHER, this.#clock)));
    if (!this.#global.take()) return this.#refuse('global');
    this.#throttled.delete('global');
    if (!bucket.take()) return this.#refuse(event);
    this.#throttled.delete(event);
    return { pass: true };
  }

  #refuse(name: string): { pass: false; announce: string | null } {
    if (this.#throttled.has(name)) return { pass: false, announce: null };
    this.#throttled.add(name);
    return { pass: false, announce: name };
  }
}
