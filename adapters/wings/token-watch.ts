/** The one timer per Wings listener that sends every session's `token expiring` / `token expired` notices. */
import type { Clock, Timer } from '../../src/adapter-kit.ts';

/** A session as the {@link TokenWatch} sees it. */
export interface TokenChecked {
  /** When the watch checks this session's token next (clock ms). */
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
  #timer: Timer | null = null;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    // Ticks finer than the interval bound how late a check can be (at most one tick).
    this.#tickMs = Math.max(1, Math.min(intervalMs, 1000));
  }

  add(session: TokenChecked): void {
    session.tokenCheckDue = this.#clock.now() + this.#intervalMs;
    this.#sessions.add(session);
    this.#timer ??= this.#clock.setInterval(() => this.#tick(), this.#tickMs);
  }

  remove(session: TokenChecked): void {
    if (!this.#sessions.delete(session) || this.#sessions.size > 0) return;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #tick(): void {
    const now = this.#clock.now();
    for (const session of this.#sessions) {
      if (session.tokenCheckDue > now) continue;
      session.tokenCheckDue = now + this.#intervalMs;
      session.checkToken(now);
    }
  }
}
