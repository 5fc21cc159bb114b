/**
 * A minimal Wings websocket client for tests: records every frame, and lets a test wait for the
 * next frame that matches, in arrival order.
 */
import WebSocket from 'ws';
import { FrameQueue } from './frame-queue.ts';

export interface Frame {
  event: string;
  args?: string[];
  raw: string;
}

export class WingsClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #queue = new FrameQueue<Frame>(() => this.ws.readyState === WebSocket.CLOSED);

  /** Every frame received, in order. */
  get frames(): Frame[] {
    return this.#queue.frames;
  }

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
      this.#queue.push({ ...parsed, raw });
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      this.#queue.wake();
    }));
  }

  /** `options`: more `ws` client options (e.g. `ca` for a wss:// URL with a test certificate). */
  static connect(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<WingsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...options, headers });
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
    return this.#queue.next(pred, timeoutMs);
  }

  /** Next frame with this event name. */
  event(name: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.event === name, timeoutMs);
  }

  /** Frames received so far that were not returned by next(). */
  unread(): Frame[] {
    return this.#queue.unread();
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
