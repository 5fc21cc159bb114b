/**
 * A minimal Wings websocket client for tests: records every frame, and lets a test wait for the
 * next frame that matches, in arrival order.
 */
import WebSocket from 'ws';

export interface Frame {
  event: string;
  args?: string[];
  raw: string;
}

export class WingsClient {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #cursor = 0;
  #waiters: (() => void)[] = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const raw = String(data);
      let parsed: { event: string; args?: string[] };
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = { event: '<non-json>' };
      }
      this.frames.push({ ...parsed, raw });
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of this.#waiters.splice(0)) w();
    }));
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<WingsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      const client = new WingsClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once('error', reject);
    });
  }

  send(event: string, args?: string[]): void {
    this.ws.send(JSON.stringify(args ? { event, args } : { event }));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** The next frame after the last one returned that matches `pred` (frames skipped are consumed). */
  async next(pred: (f: Frame) => boolean = () => true, timeoutMs = 4000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.frames.length) {
        const f = this.frames[this.#cursor++]!;
        if (pred(f)) return f;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.ws.readyState === WebSocket.CLOSED) {
        throw new Error(`no matching frame; got: ${this.frames.map((f) => f.raw.slice(0, 80)).join(' | ')}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next frame with this event name. */
  event(name: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.event === name, timeoutMs);
  }

  /** Frames received so far that were not returned by next(). */
  unread(): Frame[] {
    return this.frames.slice(this.#cursor);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
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
