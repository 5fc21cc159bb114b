/**
 * What the sessions of one Wings listener share: the authenticated sockets per server (the 1.12
 * cap, socket-cap.ts), interned permission lists, the one timer that checks every session's token
 * for the `token expiring` / `token expired` notices (token-watch.ts), and the clock as read for
 * the event being delivered. Kept apart from the session so that a session holds no timer or map
 * of its own.
 */
import type { BridgeEvent, Clock } from '../../src/adapter-kit.ts';
import { Sockets } from './socket-cap.ts';
import { TokenWatch } from './token-watch.ts';

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
