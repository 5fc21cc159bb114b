/**
 * A minimal Felix websocket client for tests: connects with a raw `Authorization` key, records
 * every frame, and lets a test wait for the next frame that matches, in arrival order. Also the
 * polling `waitFor` the felix tests use instead of sleeps.
 */
import WebSocket from 'ws';
import { FrameQueue, within } from './frame-queue.ts';
import { eventually } from './wings-client.ts';

export interface FelixFrame {
  code: number;
  name?: string;
  data?: any;
  raw: string;
}

export interface ConnectOptions {
  /** false: do not answer pings (a client the relay or the simulator must terminate). */
  autoPong?: boolean;
}

function open(url: string, key: string | undefined, options: ConnectOptions): WebSocket {
  const headers: Record<string, string> = { 'user-agent': 'Baguette Corporation' };
  if (key !== undefined) headers.authorization = key;
  return new WebSocket(url, { headers, perMessageDeflate: false, autoPong: options.autoPong ?? true });
}

export class FelixClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #queue = new FrameQueue<FelixFrame>(() => this.ws.readyState === WebSocket.CLOSED);

  /** Every frame received, in order. */
  get frames(): FelixFrame[] {
    return this.#queue.frames;
  }

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const raw = String(data);
      let parsed: Omit<FelixFrame, 'raw'>;
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = { code: -1 };
      }
      this.#queue.push({ ...parsed, raw });
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      }),
    );
  }

  /** Opens a socket; rejects with `status` set when the upgrade is refused. */
  static connect(url: string, key: string | undefined, options: ConnectOptions = {}): Promise<FelixClient> {
    return new Promise((resolve, reject) => {
      const ws = open(url, key, options);
      const client = new FelixClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (req, res) => {
        res.resume();
        req.destroy();
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      });
      ws.once('error', reject);
    });
  }

  /** The HTTP status a refused upgrade got; fails if the upgrade was accepted. */
  static async refusal(url: string, key: string | undefined): Promise<number> {
    try {
      const c = await FelixClient.connect(url, key);
      c.close();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status !== undefined) return status;
      throw err;
    }
    throw new Error(`upgrade with key ${JSON.stringify(key)} was accepted`);
  }

  send(code: number, data?: unknown): void {
    this.ws.send(JSON.stringify(data === undefined ? { code } : { code, data }));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Sends `20002`: listen to exactly these users and guilds. */
  listen(users: string[], guilds: string[]): void {
    this.send(20002, { users, guilds });
  }

  /** The next frame after the last one returned that matches `pred` (frames skipped are consumed). */
  async next(pred: (f: FelixFrame) => boolean = () => true, timeoutMs = 4000): Promise<FelixFrame> {
    return this.#queue.next(pred, timeoutMs);
  }

  /** The next frame with this code. */
  code(code: number, timeoutMs?: number): Promise<FelixFrame> {
    return this.next((f) => f.code === code, timeoutMs);
  }

  /** A round trip: `20001` and its `10001`. Frames before the ack are consumed, and returned. */
  async roundTrip(): Promise<FelixFrame[]> {
    const from = this.#queue.cursor;
    this.send(20001);
    await this.code(10001);
    return this.frames.slice(from, this.#queue.cursor - 1);
  }

  /** How the socket closed; fails if it is still open after `timeoutMs` of real time. */
  async closedWithin(timeoutMs = 4000): Promise<{ code: number; reason: string }> {
    return within(this.closed, timeoutMs, () => `socket still open after ${timeoutMs} ms`);
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.ws.close();
  }

  #wake(): void {
    this.#queue.wake();
  }
}

/** Polls `check` (every 5 ms of real time) until it returns truthy or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 4000): Promise<NonNullable<T>> {
  return eventually(check, timeoutMs, what);
}
