/**
 * Deadlines of many sessions on one clock timer (the auth deadline and the keep-alive of a
 * listener). A relay holds thousands of idle sessions; a timer or a closure each is memory that
 * grows with the connection count, so each listener keeps one queue per duty instead.
 *
 * Every entry of a queue has the same delay, so entries fall due in the order they were
 * (re)scheduled: a Map in insertion order is already the schedule, and the one timer is armed for
 * its head. Scheduling, cancelling and firing are O(1) per entry, and the deadline is exact
 * (not rounded to a sweep tick), so a ManualClock test sees it at the very millisecond. Times are
 * kept relative to the queue's creation, so they stay small integers that the Map holds inline
 * (a full timestamp would be a heap number per entry, in every idle session's keep-alive).
 */
import type { Clock, Timer } from '../clock.ts';

export class DeadlineQueue<T> {
  readonly #clock: Clock;
  #delayMs: number;
  /** What to do with an entry that fell due (it has left the queue; it may schedule itself again). */
  readonly #fire: (item: T) => void;
  /** item → when it falls due (ms after `#epoch`), in due order. */
  readonly #due = new Map<T, number>();
  readonly #epoch: number;
  #timer: Timer | null = null;
  /** When the armed timer fires (meaningful while `#timer` is set). */
  #timerAt = 0;

  constructor(clock: Clock, delayMs: number, fire: (item: T) => void) {
    this.#clock = clock;
    this.#delayMs = delayMs;
    this.#fire = fire;
    this.#epoch = clock.now();
  }

  get delayMs(): number {
    return this.#delayMs;
  }

  /**
   * Changes the delay (a config reload): entries scheduled from now on use it. When it shrinks,
   * entries already due later than one new delay from now are brought forward to that, which keeps
   * the queue in due order (the walk in `#tick` relies on it) and applies the tighter value to
   * every entry within one new delay.
   */
  setDelay(ms: number): void {
    if (ms === this.#delayMs) return;
    if (ms < this.#delayMs) {
      const cap = this.#now() + ms;
      // Setting an existing key keeps its place in the Map: the order stays the due order.
      for (const [item, at] of this.#due) if (at > cap) this.#due.set(item, cap);
      this.#delayMs = ms;
      return this.#arm();
    }
    this.#delayMs = ms;
  }

  get size(): number {
    return this.#due.size;
  }

  has(item: T): boolean {
    return this.#due.has(item);
  }

  /** (Re)schedules `item` one delay from now; a rescheduled item moves to the back. */
  schedule(item: T): void {
    this.#due.delete(item);
    this.#due.set(item, this.#now() + this.#delayMs);
    if (this.#timer === null) this.#arm();
  }

  /** Takes `item` off the queue; idempotent. */
  cancel(item: T): void {
    if (!this.#due.delete(item)) return;
    // An empty queue holds no timer (nothing lingers on the clock once every session is gone).
    if (this.#due.size === 0) this.#disarm();
  }

  /** Cancels everything (the listener is going away). */
  clear(): void {
    this.#due.clear();
    this.#disarm();
  }

  #arm(): void {
    const head = this.#due.values().next();
    if (head.done) return this.#disarm();
    if (this.#timer !== null && this.#timerAt <= head.value) return;
    this.#timer?.cancel();
    this.#timerAt = head.value;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), Math.max(0, head.value - this.#now()));
  }

  #now(): number {
    return this.#clock.now() - this.#epoch;
  }

  #disarm(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  #tick(): void {
    this.#timer = null;
    const now = this.#now();
    // Entries rescheduled by `fire` go to the back with a later time, so the walk stops at them.
    for (const [item, at] of this.#due) {
      if (at > now) break;
      this.#due.delete(item);
      this.#fire(item);
    }
    this.#arm();
  }
}
