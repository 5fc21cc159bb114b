/**
 * The Felix test client: connects with a raw `Authorization` key, `{code, name, data}` frames on
 * the generic frame-queue client. Also the polling `waitFor` the felix tests use instead of sleeps.
 */
import WebSocket from 'ws';
import { FrameClient, connectClient, eventually, parseJson, refusalOf } from './frame-queue.ts';

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

export class FelixClient extends FrameClient<FelixFrame> {
  private constructor(ws: WebSocket) {
    super(ws, (raw) => ({ ...parseJson(raw, { code: -1 }), raw }));
  }

  /** Opens a socket; rejects with `status` set when the upgrade is refused. */
  static connect(url: string, key: string | undefined, options: ConnectOptions = {}): Promise<FelixClient> {
    const headers: Record<string, string> = { 'user-agent': 'Baguette Corporation' };
    if (key !== undefined) headers.authorization = key;
    return connectClient(new FelixClient(new WebSocket(url, { headers, perMessageDeflate: false, autoPong: options.autoPong ?? true })));
  }

  /** The HTTP status a refused upgrade got; fails if the upgrade was accepted. */
  static async refusal(url: string, key: string | undefined): Promise<number> {
    return (await refusalOf(FelixClient.connect(url, key), `upgrade with key ${JSON.stringify(key)} was accepted`)).status;
  }

  send(code: number, data?: unknown): void {
    this.ws.send(JSON.stringify(data === undefined ? { code } : { code, data }));
  }

  /** Sends `20002`: listen to exactly these users and guilds. */
  listen(users: string[], guilds: string[]): void {
    this.send(20002, { users, guilds });
  }

  /** The next frame with this code. */
  code(code: number, timeoutMs?: number): Promise<FelixFrame> {
    return this.next((f) => f.code === code, timeoutMs);
  }

  /** A round trip: `20001` and its `10001`. Frames before the ack are consumed, and returned. */
  async roundTrip(): Promise<FelixFrame[]> {
    const from = this.queue.cursor;
    this.send(20001);
    await this.code(10001);
    return this.frames.slice(from, this.queue.cursor - 1);
  }
}

/** Polls `check` until it returns truthy or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 4000): Promise<NonNullable<T>> {
  return eventually(check, timeoutMs, what);
}
