/**
 * A minimal Semoxy panel-event client for tests: records every `{action, data}` frame and every
 * ping, lets a test wait for the next frame that matches (in arrival order), and reports a refused
 * upgrade with its HTTP status and JSON body.
 */
import WebSocket from 'ws';
import { FrameQueue } from './frame-queue.ts';

export interface PanelFrame {
  action: string;
  data: any;
  raw: string;
}

/** A refused upgrade: the status and the parsed body the server answered with. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

export class PanelClient {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** WebSocket pings received from the server. */
  pings = 0;
  readonly #queue = new FrameQueue<PanelFrame>(() => this.ws.readyState === WebSocket.CLOSED);

  /** Every frame received, in order. */
  get frames(): PanelFrame[] {
    return this.#queue.frames;
  }

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const raw = String(data);
      let parsed: { action: string; data: unknown };
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = { action: '<non-json>', data: null };
      }
      this.#queue.push({ action: parsed.action, data: parsed.data, raw });
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

  /** Opens a socket; rejects with {@link UpgradeRefused} when the server answers the upgrade with HTTP. */
  static connect(url: string, options: { autoPong?: boolean } = {}): Promise<PanelClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
      const client = new PanelClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (req, res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          req.destroy();
          reject(new UpgradeRefused(res.statusCode ?? 0, body));
        });
      });
      ws.once('error', (err) => reject(err));
    });
  }

  /** Connects expecting a refusal; resolves with it (fails if the upgrade is accepted). */
  static async refusal(url: string): Promise<UpgradeRefused> {
    try {
      const c = await PanelClient.connect(url);
      c.close();
    } catch (err) {
      if (err instanceof UpgradeRefused) return err;
      throw err;
    }
    throw new Error(`expected ${url} to be refused`);
  }

  send(action: string, data?: unknown): void {
    this.ws.send(JSON.stringify(data === undefined ? { action } : { action, data }));
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** The next frame after the last one returned that matches `pred` (frames skipped are consumed). */
  async next(pred: (f: PanelFrame) => boolean = () => true, timeoutMs = 4000): Promise<PanelFrame> {
    return this.#queue.next(pred, timeoutMs);
  }

  /** The next frame with this action. */
  action(name: string, timeoutMs?: number): Promise<PanelFrame> {
    return this.next((f) => f.action === name, timeoutMs);
  }

  /** Waits until at least `n` pings have arrived. */
  async pinged(n: number, timeoutMs = 4000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pings < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.pings} pings, wanted ${n}`);
      await this.#sleep(left);
    }
  }

  /** Frames received so far that were not returned by next(). */
  unread(): PanelFrame[] {
    return this.#queue.unread();
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

/** A frame without its raw text, for deepEqual. */
export const packet = (f: PanelFrame) => ({ action: f.action, data: f.data });
export const USE_HTTP = { action: 'META_MESSAGE', data: { message: "Don't send messages via websocket, use http endpoints instead" } };
export const HTTP_BODIES = {
  notLoggedIn: { error: 'Not Logged In', status: 401, description: 'you need to be logged in to use this' },
  noTicket: { error: 'No Ticket Provided', status: 401, description: 'open a ticket using /account/ticket' },
  expired: { error: 'Ticket expired', status: 401, description: 'please open a new ticket' },
  invalid: { error: 'Invalid Ticket', status: 401, description: 'open a ticket using /account/ticket' },
};

/** Closes a test's clients and waits until the relay has seen them go (so later clock advances ping nobody). */
export async function closeAll(clients: PanelClient[]): Promise<void> {
  await Promise.all(clients.splice(0).map((c) => (c.close(), c.closed)));
}
