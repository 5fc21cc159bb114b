/**
 * The default {@link Connector}: real sockets through `ws`. The only file of src/upstream/ that
 * imports `ws`; it maps ws's events onto the runner's small socket interface.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { ConnectTarget } from '../contracts.ts';
import type { ConnectOptions, Connector, UpstreamSocket, UpstreamSocketEvents } from './connector.ts';

class WsUpstreamSocket implements UpstreamSocket {
  readonly #ws: WebSocket | null = null;
  readonly #events = new EventEmitter();

  constructor(target: ConnectTarget, options: ConnectOptions) {
    const events = this.#events;
    // Without an `error` listener an EventEmitter throws; errors are reported, never fatal.
    events.on('error', () => {});
    let ws: WebSocket;
    try {
      ws = new WebSocket(target.url, {
        headers: target.headers,
        handshakeTimeout: options.handshakeTimeoutMs,
        maxPayload: options.maxPayloadBytes,
        perMessageDeflate: false,
      });
    } catch (err) {
      // A URL ws cannot use (bad scheme, bad header value): a failed attempt like any other.
      setImmediate(() => {
        events.emit('error', err as Error);
        events.emit('close', 1006, '');
      });
      return;
    }
    this.#ws = ws;
    ws.on('unexpected-response', (req, res) => {
      events.emit('refused', res.statusCode ?? 0);
      res.resume();
      req.destroy();
      // ws emits `close` (1006) once the aborted request is gone.
      ws.terminate();
    });
    ws.on('open', () => events.emit('open'));
    // binaryType is 'nodebuffer': every message is one Buffer.
    ws.on('message', (data) => events.emit('message', (data as Buffer).toString('utf8')));
    ws.on('error', (err) => events.emit('error', err));
    ws.on('close', (code, reason) => events.emit('close', code, reason.toString('utf8')));
  }

  on<E extends keyof UpstreamSocketEvents>(event: E, listener: UpstreamSocketEvents[E]): void {
    this.#events.on(event, listener);
  }

  send(text: string): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(text);
  }

  close(code: number, reason: string): void {
    const ws = this.#ws;
    if (!ws) return;
    // While connecting there is no handshake to start: abort the upgrade.
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(code, reason);
  }

  terminate(): void {
    this.#ws?.terminate();
  }
}

/** Connects with `ws`: no compression, the handshake timeout and payload limit of the options. */
export const wsConnector: Connector = {
  connect: (target, options) => new WsUpstreamSocket(target, options),
};
