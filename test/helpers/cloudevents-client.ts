/**
 * A minimal CloudEvents-dialect client for tests: connects with a Bearer key, records every frame,
 * and lets a test wait for the next frame that matches, in arrival order.
 */
import WebSocket, { type ClientOptions } from 'ws';
import { FrameQueue } from './frame-queue.ts';

/** A frame as received: the parsed JSON (an `op` reply or a BridgeEvent) and its text. */
export interface CeFrame {
  raw: string;
  json: any;
}

export type Refusal = Error & { status?: number };

export class CeClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Pings the server sent (the client answers them unless `autoPong: false`). */
  pings = 0;
  readonly #queue = new FrameQueue<CeFrame>(() => this.ws.readyState === WebSocket.CLOSED);

  /** Every frame received, in order. */
  get frames(): CeFrame[] {
    return this.#queue.frames;
  }

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const raw = String(data);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      this.#queue.push({ raw, json });
      this.#wake();
    });
    ws.on('ping', () => {
      this.pings += 1;
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      }),
    );
  }

  /** Opens a socket; rejects with `status` set when the upgrade was refused. No key: no Authorization header. */
  static connect(url: string, key?: string, options: ClientOptions = {}): Promise<CeClient> {
    const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...options, headers: { ...headers, ...options.headers } });
      const client = new CeClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk) => (body += String(chunk)));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** The next frame after the last one returned that matches `pred` (frames skipped are consumed). */
  async next(pred: (f: CeFrame) => boolean = () => true, timeoutMs = 4000): Promise<CeFrame> {
    return this.#queue.next(pred, timeoutMs);
  }

  /** Sends `{op, subject}` and returns the reply about that subject (`subscribed`, `unsubscribed` or `error`). */
  async request(op: 'subscribe' | 'unsubscribe', subject: string): Promise<any> {
    this.send({ op, subject });
    const f = await this.next((x) => typeof x.json?.op === 'string' && x.json.subject === subject);
    return f.json;
  }

  /** Subscribes and asserts the reply is `subscribed`. */
  async subscribe(subject: string): Promise<void> {
    const reply = await this.request('subscribe', subject);
    if (reply.op !== 'subscribed') throw new Error(`subscribe ${subject} refused: ${JSON.stringify(reply)}`);
  }

  /** The next event (a frame with `specversion`) matching `pred`. */
  async event(pred: (e: any) => boolean = () => true, timeoutMs?: number): Promise<any> {
    return (await this.next((f) => f.json?.specversion === '1.0' && pred(f.json), timeoutMs)).json;
  }

  /** Frames received so far that next() has not returned. */
  unread(): CeFrame[] {
    return this.#queue.unread();
  }

  /** Resolves once `count` pings arrived. */
  async waitPings(count: number, timeoutMs = 4000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pings < count) {
      if (Date.now() >= deadline || this.ws.readyState === WebSocket.CLOSED) throw new Error(`expected ${count} pings, got ${this.pings}`);
      await this.#sleep(deadline - Date.now());
    }
  }

  close(): void {
    this.ws.close();
  }

  #wake(): void {
    this.#queue.wake();
  }

  #sleep(ms: number): Promise<void> {
    return this.#queue.sleep(ms);
  }
}
