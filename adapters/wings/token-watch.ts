/** The one timer per Wings listener that sends every session's `token expiring` / `token expired` notices. */
import type { Clock, Timer } from '../../src/adapter-kit.ts';

/** A session as the {@link TokenWatch} sees it. */
export interface TokenChecked {
  /**
   * When the watch checks this session's token next: ms after the watch was made, so the value
   * stays a small integer held inline (a clock timestamp would be a heap number per session).
   */
  tokenCheckDue: number;
  /** Sends the notice the token's time left calls for, if any. */
  checkToken(now: number): void;
}

/**
 * The token notices of every authenticated session of a listener on one timer (Wings looks at
 * each socket's token every 30 s; one timer per listener instead of one per socket keeps an idle
 * session small). Each session is checked on the first tick after a full interval since its
 * first auth or its last check, so no notice comes early. Expiry itself is not decided here: a
 * session compares its token's deadline with the clock on every message, both ways.
 */
export class TokenWatch {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #tickMs: number;
  readonly #sessions = new Set<TokenChecked>();
  readonly #epoch: number;
  #timer: Timer | null = null;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#epoch = clock.now();
    this.#intervalMs = intervalMs;
    // Ticks finer than the interval bound how late a check can be (at most one tick).
    this.#tickMs = Math.max(1, Math.min(intervalMs, 1000));
  }

  add(session: TokenChecked): void {
    session.tokenCheckDue = this.#since(this.#clock.now()) + this.#intervalMs;
    this.#sessions.add(session);
    this.#timer ??= this.#clock.setInterval(() => this.#tick(), this.#tickMs);
  }

  remove(session: TokenChecked): void {
    if (!this.#sessions.delete(session) || this.#sessions.size > 0) return;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /**
   * Ms from the watch's creation to `now`. Math.floor makes it a small integer (a Smi) for V8: the
   * difference of two timestamps is a heap number even when whole, and one stored in a session's
   * field would make that field a heap number in every session.
   */
  #since(now: number): number {
    return Math.floor(now - this.#epoch);
  }

  #tick(): void {
    const now = this.#clock.now();
    const since = this.#since(now);
    for (const session of this.#sessions) {
      if (session.tokenCheckDue > since) continue;
      session.tokenCheckDue = since + this.#intervalMs;
      session.checkToken(now);
    }
  }
}
