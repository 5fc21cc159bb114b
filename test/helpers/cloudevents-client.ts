/** The CloudEvents-dialect test client: connects with a Bearer key, on the generic frame-queue client. */
import WebSocket, { type ClientOptions } from 'ws';
import { FrameClient, connectClient, parseJson } from './frame-queue.ts';

/** A frame as received: the parsed JSON (an `op` reply or a BridgeEvent) and its text. */
export interface CeFrame {
  raw: string;
  json: any;
}

export type Refusal = Error & { status?: number };

export class CeClient extends FrameClient<CeFrame> {
  private constructor(ws: WebSocket) {
    super(ws, (raw) => ({ raw, json: parseJson(raw, undefined) }));
  }

  /** Opens a socket; rejects with `status` set when the upgrade was refused. No key: no Authorization header. */
  static connect(url: string, key?: string, options: ClientOptions = {}): Promise<CeClient> {
    const headers: Record<string, string> = key === undefined ? {} : { authorization: `Bearer ${key}` };
    const ws = new WebSocket(url, { ...options, headers: { ...headers, ...options.headers } });
    return connectClient(new CeClient(ws), (status, body) => Object.assign(new Error(`HTTP ${status} ${body}`), { status, body }));
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
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
}
