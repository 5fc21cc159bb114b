/**
 * Log lines that an outsider can cause (a refused connection, a failed authentication, a limit
 * hit), bounded so that a flood is a few lines rather than one per attempt: a log must stay
 * readable, and must not become the resource an attacker exhausts.
 *
 * Lines are grouped by a key (what happened, and from which address). Within one window each key
 * writes at most its `burst` lines, and all keys together at most `maxLinesPerWindow`; what is held
 * back is counted, and one `log lines suppressed` line per window says how many, by message. The
 * window starts with the first line; the summary comes at its end (one clock timer, armed only
 * while something was held back), or before the first line of the next window.
 */
import type { Clock, Timer } from './clock.ts';
import type { Log } from './contracts.ts';

export interface ThrottleOptions {
  /** Length of a window (default one minute). */
  windowMs?: number;
  /** Lines of all keys together per window (default 300). */
  maxLinesPerWindow?: number;
}

export type ThrottledLevel = 'debug' | 'info' | 'warn';

export class ThrottledLog {
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #max: number;
  #windowEnds = 0;
  /** Lines written per key in this window (no more keys than `#max`: a key is added only when it writes). */
  readonly #written = new Map<string, number>();
  #lines = 0;
  /** Lines held back in this window, by message. */
  readonly #held = new Map<string, number>();
  #heldTotal = 0;
  #timer: Timer | null = null;

  constructor(log: Log, clock: Clock, opts: ThrottleOptions = {}) {
    this.#log = log;
    this.#clock = clock;
    this.#windowMs = opts.windowMs ?? 60_000;
    this.#max = opts.maxLinesPerWindow ?? 300;
  }

  get windowMs(): number {
    return this.#windowMs;
  }

  /**
   * Writes `msg` with `fields` at `level`, unless `key` already wrote `burst` lines in this window
   * or the window is full: then it is only counted. Callers build `fields` only on a refusal, a
   * failure or a limit hit, never per frame.
   */
  note(level: ThrottledLevel, key: string, burst: number, msg: string, fields: Record<string, unknown>): void {
    // A line that would not be written is not counted either (a 404 while the level is info).
    if (level === 'debug' && this.#log.enabled?.('debug') === false) return;
    const now = this.#clock.now();
    if (now >= this.#windowEnds) this.#roll(now);
    const n = this.#written.get(key) ?? 0;
    if (n >= burst || this.#lines >= this.#max) return this.#hold(msg);
    this.#written.set(key, n + 1);
    this.#lines += 1;
    this.#log[level](msg, fields);
  }

  /** Writes the summary of what is held back, if anything, and stops the timer (the relay stops). */
  close(): void {
    this.#flush();
  }

  #hold(msg: string): void {
    this.#held.set(msg, (this.#held.get(msg) ?? 0) + 1);
    this.#heldTotal += 1;
    if (this.#timer === null) this.#timer = this.#clock.setTimeout(() => this.#flush(), Math.max(0, this.#windowEnds - this.#clock.now()));
  }

  #roll(now: number): void {
    this.#flush();
    this.#windowEnds = now + this.#windowMs;
  }

  /** Ends the window: the summary line, and every count back to zero. */
  #flush(): void {
    this.#timer?.cancel();
    this.#timer = null;
    if (this.#heldTotal > 0) {
      this.#log.warn('log lines suppressed', { suppressed: this.#heldTotal, windowMs: this.#windowMs, byMessage: Object.fromEntries(this.#held) });
    }
    this.#held.clear();
    this.#heldTotal = 0;
    this.#written.clear();
    this.#lines = 0;
    this.#windowEnds = 0;
  }
}
