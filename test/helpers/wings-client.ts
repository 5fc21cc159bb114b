/** The Wings test client: `{event, args}` frames on the generic frame-queue client. */
import WebSocket from 'ws';
import { FrameClient, connectClient, parseJson } from './frame-queue.ts';

export { eventually } from './frame-queue.ts';

export interface Frame {
  event: string;
  args?: string[];
  raw: string;
}

export class WingsClient extends FrameClient<Frame> {
  private constructor(ws: WebSocket) {
    super(ws, (raw) => ({ ...parseJson(raw, { event: '<non-json>' }), raw }));
  }

  /** `options`: more `ws` client options (e.g. `ca` for a wss:// URL with a test certificate). */
  static connect(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<WingsClient> {
    return connectClient(new WingsClient(new WebSocket(url, { ...options, headers })));
  }

  send(event: string, args?: string[]): void {
    this.ws.send(JSON.stringify(args ? { event, args } : { event }));
  }

  /** Next frame with this event name. */
  event(name: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.event === name, timeoutMs);
  }
}
