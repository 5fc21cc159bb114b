/**
 * What every test client shares: the frames received, in order, and waiting for the next one
 * that matches (frames skipped on the way are consumed), woken by arrivals and by the close.
 */
export class FrameQueue<F extends { raw: string }> {
  readonly frames: F[] = [];
  /** Index of the first frame next() has not looked at. */
  cursor = 0;
  readonly #isClosed: () => boolean;
  #waiters: (() => void)[] = [];

  constructor(isClosed: () => boolean) {
    this.#isClosed = isClosed;
  }

  push(frame: F): void {
    this.frames.push(frame);
    this.wake();
  }

  /** Wakes every waiter (a frame arrived, or the socket closed). */
  wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves after `ms` of real time, or at the next wake-up, whichever is first. */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, ms));
      this.#waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** The next frame after the last one returned that matches `pred`; throws after `timeoutMs` or on close. */
  async next(pred: (f: F) => boolean, timeoutMs = 4000): Promise<F> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const f = this.frames[this.cursor++]!;
        if (pred(f)) return f;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#isClosed()) {
        throw new Error(`no matching frame; got: ${this.frames.map((f) => f.raw.slice(0, 100)).join(' | ')}`);
      }
      await this.sleep(left);
    }
  }

  /** Frames received so far that next() has not returned. */
  unread(): F[] {
    return this.frames.slice(this.cursor);
  }
}

/** `closed`, or a rejection after `timeoutMs` of real time, so a missing close fails a test instead of hanging it. */
export async function within<T>(closed: Promise<T>, timeoutMs: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what())), timeoutMs);
  });
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}
