/**
 * A minimal room gateway client for tests: records every frame (raw and parsed), lets a test wait
 * for the next frame that matches in arrival order, and exposes how the socket closed.
 */
import WebSocket from 'ws';
import { FrameQueue, within } from './frame-queue.ts';

export interface GatewayFrame {
  /** -1 when the frame was not a JSON `{e}` object. */
  e: number;
  d: unknown;
  raw: string;
}

/** Not a heartbeat: the relay and the simulator send `e:1` every interval between the events a test waits for. */
export const notHeartbeat = (f: GatewayFrame): boolean => f.e !== 1;

export class GatewayClient {
  readonly ws: WebSocket;
  /** Resolves when the socket closed, with the code and reason the peer sent. */
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #queue = new FrameQueue<GatewayFrame>(() => this.ws.readyState === WebSocket.CLOSED);

  /** Every frame received, in order. */
  get frames(): GatewayFrame[] {
    return this.#queue.frames;
  }

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const raw = String(data);
      let e = -1;
      let d: unknown;
      try {
        const parsed = JSON.parse(raw) as { e?: unknown; d?: unknown };
        if (typeof parsed?.e === 'number') ({ e, d } = parsed as { e: number; d: unknown });
      } catch {
        // recorded with e = -1
      }
      this.#queue.push({ e, d, raw });
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      }),
    );
  }

  /** Opens a socket; resolves once the upgrade succeeded (a 1014 refusal comes after that). */
  static connect(url: string, headers: Record<string, string> = {}): Promise<GatewayClient> {
    return new Promise((resolve, reject) => {
      const client = new GatewayClient(new WebSocket(url, { headers }));
      client.ws.once('open', () => resolve(client));
      client.ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      client.ws.once('error', reject);
    });
  }

  send(e: number, d: unknown = {}): void {
    this.ws.send(JSON.stringify({ e, d }));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Answers a heartbeat as the protocol asks. */
  beat(): void {
    this.send(1, {});
  }

  /**
   * Resolves once the server has read everything sent before: a ping is answered by the server's
   * socket layer after the frames ahead of it were parsed and handed on, in order. The barrier a
   * test needs before it advances a ManualClock past a heartbeat check.
   */
  flush(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('pong', () => resolve());
      this.ws.ping((err?: Error) => err && reject(err));
    });
  }

  /** The next frame after the last one returned that matches `pred` (frames skipped are consumed). */
  async next(pred: (f: GatewayFrame) => boolean = notHeartbeat, timeoutMs = 4000): Promise<GatewayFrame> {
    return this.#queue.next(pred, timeoutMs);
  }

  /** The raw text of the next frame that is not a heartbeat. */
  async nextRaw(timeoutMs?: number): Promise<string> {
    return (await this.next(notHeartbeat, timeoutMs)).raw;
  }

  /** How the socket closed; rejects when it is still open after `timeoutMs`, so a missing close fails a test instead of hanging it. */
  async waitClose(timeoutMs = 4000): Promise<{ code: number; reason: string }> {
    return within(this.closed, timeoutMs, () => `socket still open after ${timeoutMs} ms; got: ${this.frames.map((f) => f.raw.slice(0, 100)).join(' | ')}`);
  }

  /** Frames received so far that were not returned by next(). */
  unread(): GatewayFrame[] {
    return this.#queue.unread();
  }

  close(): void {
    this.ws.close();
  }

  #wake(): void {
    this.#queue.wake();
  }
}
