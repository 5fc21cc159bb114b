/**
 * What the sessions of one Wings listener share: the authenticated sockets per server (the 1.12
 * cap), interned permission lists, the one timer that checks every session's token for the
 * `token expiring` / `token expired` notices, and the clock as read for the event being delivered.
 * Kept apart from the session so that a session holds no timer or map of its own.
 */
import type { BridgeEvent, Clock, ResourceRef, Timer } from '../../src/adapter-kit.ts';

/** Authenticated sockets per server (Wings 1.12 allows 30). */
export class Sockets {
  readonly #authed = new Map<string, number>();
  count(server: ResourceRef): number {
    return this.#authed.get(`${server.upstream}\u0000${server.id}`) ?? 0;
  }
  add(server: ResourceRef, delta: 1 | -1): void {
    const key = `${server.upstream}\u0000${server.id}`;
    const n = (this.#authed.get(key) ?? 0) + delta;
    if (n > 0) this.#authed.set(key, n);
    else this.#authed.delete(key);
  }
}

/**
 * Permission lists as sessions hold them: dashboards of one panel share a handful of permission
 * sets, so each distinct set is kept once rather than once per session (bounded: past the cap a
 * session keeps its own copy).
 */
export class PermissionSets {
  static readonly MAX = 1024;
  readonly #sets = new Map<string, readonly string[]>();
  intern(permissions: string[]): readonly string[] {
    const key = permissions.join('\u0000');
    const known = this.#sets.get(key);
    if (known) return known;
    const frozen = Object.freeze([...permissions]);
    if (this.#sets.size < PermissionSets.MAX) this.#sets.set(key, frozen);
    return frozen;
  }
}

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

/**
 * The clock as read for the event being delivered. The hub hands one event to every session of a
 * pattern back to back, so the first session to ask reads the clock and the others reuse it:
 * each session's expiry check on the hot path is then one comparison, and the clock is read once
 * per event, not once per session.
 */
export class EventClock {
  readonly #clock: Clock;
  #event: BridgeEvent | null = null;
  #now = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Now, for a live delivery of `event` (never for a delivery held back and made later). */
  at(event: BridgeEvent): number {
    if (event !== this.#event) {
      this.#event = event;
      this.#now = this.#clock.now();
    }
    return this.#now;
  }
}

/** What every session of one listener shares. */
export interface Shared {
  readonly sockets: Sockets;
  readonly permissionSets: PermissionSets;
  readonly tokens: TokenWatch;
  readonly eventClock: EventClock;
}

export function listenerState(clock: Clock, tokenCheckIntervalMs: number): Shared {
  return { sockets: new Sockets(), permissionSets: new PermissionSets(), tokens: new TokenWatch(clock, tokenCheckIntervalMs), eventClock: new EventClock(clock) };
}
