/**
 * Injectable time. Every heartbeat, token-expiry check and backoff in the relay goes through a
 * Clock, so tests drive them with {@link ManualClock} instead of sleeping.
 */
export interface Timer {
  /** Cancels the timer; calling it again, or after the timer fired, does nothing. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms`. The returned handle cancels it. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Runs `fn` every `ms` until cancelled. */
  setInterval(fn: () => void, ms: number): Timer;
}

/** A Node timer as a {@link Timer}: one small object, no closure (sessions hold one each). */
class NodeTimer implements Timer {
  readonly #t: NodeJS.Timeout;
  constructor(t: NodeJS.Timeout) {
    t.unref();
    this.#t = t;
  }
  cancel(): void {
    // clearTimeout also clears an interval.
    clearTimeout(this.#t);
  }
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => new NodeTimer(setTimeout(fn, ms)),
  setInterval: (fn, ms) => new NodeTimer(setInterval(fn, ms)),
};

/**
 * The system clock, except that a callback that throws is handed to `onError` instead of being
 * thrown into the event loop (where it would end the process). The relay runs on this one;
 * {@link ManualClock} keeps throwing out of `advance`, so a test sees its component's bug.
 */
export function guardedSystemClock(onError: (err: unknown) => void): Clock {
  const guard = (fn: () => void) => () => {
    try {
      fn();
    } catch (err) {
      onError(err);
    }
  };
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => new NodeTimer(setTimeout(guard(fn), ms)),
    setInterval: (fn, ms) => new NodeTimer(setInterval(guard(fn), ms)),
  };
}

/**
 * Like {@link guardedSystemClock}, but `now()` never jumps: it is the process's monotonic clock
 * (`performance.now()`) anchored to the epoch once, at start. An NTP step of the wall clock
 * cannot stretch an interval measured on it, which the lease code's self-fence relies on.
 */
export function monotonicClock(onError: (err: unknown) => void): Clock {
  const guarded = guardedSystemClock(onError);
  const origin = performance.timeOrigin;
  // Whole milliseconds, as Date.now() gives: `since` values are shown and compared as such.
  return { ...guarded, now: () => Math.floor(origin + performance.now()) };
}

interface Scheduled {
  at: number;
  seq: number;
  every: number | null;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when told. `advance(ms)` fires every due timer in time order, including
 * timers armed by callbacks during the advance, then settles pending promise callbacks so that
 * async work started by a timer (a token fetch, a send) has run before the test looks.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Scheduled[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.#arm(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.#arm(fn, ms, Math.max(1, ms));
  }

  /** Number of timers still armed (useful to assert that a component cleaned up). */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#now = next.at;
      if (next.every === null) next.cancelled = true;
      else next.at += next.every;
      next.fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #arm(fn: () => void, ms: number, every: number | null): Timer {
    const entry: Scheduled = { at: this.#now + Math.max(0, ms), seq: this.#seq++, every, fn, cancelled: false };
    this.#timers.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }
}

/** Lets queued microtasks and already-due I/O callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
