/**
 * The Semoxy panel-event test client: `{action, data}` frames on the generic frame-queue client; a
 * refused upgrade is reported with its HTTP status and JSON body.
 */
import WebSocket from 'ws';
import { FrameClient, connectClient, parseJson, refusalOf } from './frame-queue.ts';

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

export class PanelClient extends FrameClient<PanelFrame> {
  private constructor(ws: WebSocket) {
    super(ws, (raw) => {
      const parsed = parseJson(raw, { action: '<non-json>', data: null }) as { action: string; data: unknown };
      return { action: parsed.action, data: parsed.data, raw };
    });
  }

  /** Opens a socket; rejects with {@link UpgradeRefused} when the server answers the upgrade with HTTP. */
  static connect(url: string, options: { autoPong?: boolean } = {}): Promise<PanelClient> {
    return connectClient(new PanelClient(new WebSocket(url, { autoPong: options.autoPong ?? true })), (status, text) => new UpgradeRefused(status, parseJson(text, text)));
  }

  /** Connects expecting a refusal; resolves with it (fails if the upgrade is accepted). */
  static refusal(url: string): Promise<UpgradeRefused> {
    return refusalOf(PanelClient.connect(url), `expected ${url} to be refused`);
  }

  send(action: string, data?: unknown): void {
    this.ws.send(JSON.stringify(data === undefined ? { action } : { action, data }));
  }

  /** The next frame with this action. */
  action(name: string, timeoutMs?: number): Promise<PanelFrame> {
    return this.next((f) => f.action === name, timeoutMs);
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
export { closeAll } from './frame-queue.ts';
