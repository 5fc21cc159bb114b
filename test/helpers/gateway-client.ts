/** The room gateway test client: `{e, d}` frames on the generic frame-queue client. */
import WebSocket from 'ws';
import { FrameClient, connectClient, parseJson } from './frame-queue.ts';

export interface GatewayFrame {
  /** -1 when the frame was not a JSON `{e}` object. */
  e: number;
  d: unknown;
  raw: string;
}

/** Not a heartbeat: the relay and the simulator send `e:1` every interval between the events a test waits for. */
export const notHeartbeat = (f: GatewayFrame): boolean => f.e !== 1;

function parseGateway(raw: string): GatewayFrame {
  const parsed = parseJson(raw, undefined) as { e?: unknown; d?: unknown } | undefined;
  return typeof parsed?.e === 'number' ? { e: parsed.e, d: parsed.d, raw } : { e: -1, d: undefined, raw };
}

export class GatewayClient extends FrameClient<GatewayFrame> {
  private constructor(ws: WebSocket) {
    super(ws, parseGateway);
  }

  /** Opens a socket; resolves once the upgrade succeeded (a 1014 refusal comes after that). */
  static connect(url: string, headers: Record<string, string> = {}): Promise<GatewayClient> {
    return connectClient(new GatewayClient(new WebSocket(url, { headers })));
  }

  send(e: number, d: unknown = {}): void {
    this.ws.send(JSON.stringify({ e, d }));
  }

  /** Answers a heartbeat as the protocol asks. */
  beat(): void {
    this.send(1, {});
  }

  /** The next frame (by default, that is not a heartbeat) after the last one returned that matches `pred`. */
  override next(pred: (f: GatewayFrame) => boolean = notHeartbeat, timeoutMs = 4000): Promise<GatewayFrame> {
    return super.next(pred, timeoutMs);
  }

  /** The raw text of the next frame that is not a heartbeat. */
  async nextRaw(timeoutMs?: number): Promise<string> {
    return (await this.next(notHeartbeat, timeoutMs)).raw;
  }
}
