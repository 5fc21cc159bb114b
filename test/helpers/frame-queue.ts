import WebSocket from 'ws';

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

/** Polls `check` until it returns truthy or the deadline passes. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 4000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface Closed {
  code: number;
  reason: string;
}

/**
 * The one test client of every dialect: a WebSocket whose text frames, parsed by the dialect's
 * `parse`, wait in a {@link FrameQueue}, with the pings it got and how it closed. A dialect's
 * client extends it with its handshake and its frame shape; connect with {@link connectClient}.
 */
export class FrameClient<F extends { raw: string }> {
  readonly ws: WebSocket;
  /** Resolves when the socket closed, with the code and reason the peer sent. */
  readonly closed: Promise<Closed>;
  /** WebSocket pings received from the server (answered unless the socket has `autoPong: false`). */
  pings = 0;
  protected readonly queue: FrameQueue<F>;

  constructor(ws: WebSocket, parse: (raw: string) => F) {
    this.ws = ws;
    this.queue = new FrameQueue<F>(() => ws.readyState === WebSocket.CLOSED);
    ws.on('message', (data) => this.queue.push(parse(String(data))));
    ws.on('ping', () => {
      this.pings += 1;
      this.queue.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.queue.wake();
      }),
    );
  }

  /** Every frame received, in order. */
  get frames(): F[] {
    return this.queue.frames;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** The next frame after the last one returned that matches `pred` (frames skipped are consumed). */
  next(pred: (f: F) => boolean = () => true, timeoutMs = 4000): Promise<F> {
    return this.queue.next(pred, timeoutMs);
  }

  /** Frames received so far that next() has not returned. */
  unread(): F[] {
    return this.queue.unread();
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** How the socket closed; rejects when it is still open after `timeoutMs`, so a missing close fails a test instead of hanging it. */
  waitClose(timeoutMs = 4000): Promise<Closed> {
    return within(this.closed, timeoutMs, () => `socket still open after ${timeoutMs} ms; got: ${this.frames.map((f) => f.raw.slice(0, 100)).join(' | ')}`);
  }

  /** Resolves once `count` pings arrived; fails after `timeoutMs` or on close. */
  async waitPings(count: number, timeoutMs = 4000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pings < count) {
      if (Date.now() >= deadline || this.ws.readyState === WebSocket.CLOSED) throw new Error(`expected ${count} pings, got ${this.pings}`);
      await this.queue.sleep(deadline - Date.now());
    }
  }

  /**
   * Resolves once the server has read everything sent before: a ping is answered by the server's
   * socket layer after the frames ahead of it were parsed and handed on, in order. The barrier a
   * test needs before it advances a ManualClock past a check.
   */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('pong', () => resolve());
      this.ws.ping((err?: Error) => err && reject(err));
    });
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** A test client that can be closed, and says when its socket has. */
export interface Closable {
  close(): void;
  readonly closed: Promise<unknown>;
}

/** Closes these clients (emptying the list) and waits until their sockets closed. */
export async function closeAll(clients: Closable[]): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => (c.close(), c.closed)));
}

/** A refused upgrade: `HTTP <status>`, with the status and the response body. */
export function httpRefusal(status: number, body: string): Error {
  return Object.assign(new Error(`HTTP ${status}`), { status, body });
}

/**
 * Resolves with `client` once its socket is open; rejects with `refused(status, body)` when the
 * server answers the upgrade with HTTP, or with the socket's error.
 */
export function connectClient<C extends FrameClient<any>>(client: C, refused: (status: number, body: string) => Error = httpRefusal): Promise<C> {
  return new Promise((resolve, reject) => {
    client.ws.once('open', () => resolve(client));
    client.ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        reject(refused(res.statusCode ?? 0, body));
      });
    });
    client.ws.once('error', reject);
  });
}

/** The refusal of an upgrade that must be refused (an error with `status`); fails if it was accepted. */
export async function refusalOf<E extends Error & { status: number }>(attempt: Promise<{ close(): void }>, accepted: string): Promise<E> {
  let client: { close(): void };
  try {
    client = await attempt;
  } catch (err) {
    if (typeof (err as { status?: unknown }).status === 'number') return err as E;
    throw err;
  }
  client.close();
  throw new Error(accepted);
}

/** Parses a text frame as JSON; `fallback` when it is not JSON. */
export function parseJson(raw: string, fallback: unknown): any {
  try {
    return JSON.parse(raw);
  } catch {
    return fallback;
  }
}
