/**
 * The WebSockets of a {@link WebHost}: the socket class, the connection an endpoint gets, and the
 * listeners every socket shares. A relay holds many sockets, so nothing here is a closure per
 * connection: the listeners are module functions and the socket carries its hooks and its host.
 * Whatever a hook throws is contained here: reported, and that one socket closed (1011).
 */
import type { Socket } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import { ERRORS, rowOfClose } from '../errors.ts';
import type { AdmissionControl } from './admission.ts';
import { closeFrameReceived, releaseReadBuffers, socketOf } from './ws-internals.ts';

/** Where a contained error escaped from, as the host sees it. */
export type HostSite = 'request' | 'upgrade' | 'frame';

/** What the socket listeners report to (the host's options). */
export interface SocketObserver {
  /**
   * Asked on every upgrade before the endpoint's `authorize`, told when an admitted socket
   * closes; absent: everything is admitted.
   */
  admission?: AdmissionControl;
  /** Called for a frame the socket layer rejected (too large, bad UTF-8, protocol error). */
  onProtocolError?(err: Error & { code?: string }): void;
  /**
   * An error escaped a handler and was contained: a request or upgrade was answered 500, a
   * socket closed with 1011. Must not throw.
   */
  onHandlerError?(where: HostSite, err: unknown): void;
}

/**
 * The socket handed to an endpoint's `open`: what a listener or a simulator may do with it. The
 * `ws` socket under it stays here; the core's write path reaches the TCP socket through
 * {@link netSocketOf}, which no kit exports.
 */
export interface HostConnection {
  readonly remoteAddress: string;
  /** Bytes queued in user space and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: string | Buffer): void;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
}

/**
 * The server's socket class: one set of listeners serves every socket (`this` is the socket), and
 * the socket carries its hooks, its host and its client address in declared fields, so a
 * connection costs no closures and no out-of-object property storage.
 */
export class HostedSocket extends WebSocket {
  hooks: ConnectionHooks | null = null;
  host: HostShared | null = null;
  /** The client address (after `trustedProxies`), as admission counted the socket. */
  address = '';

  /**
   * Every close the relay makes carries its row's reason. ws closes 1002, 1007 and 1009 itself
   * (`this.close(code)` on a receiver error) with an empty reason; the reason is filled in from
   * the table here. The echo of a peer's close frame is left as the peer sent it.
   */
  override close(code?: number, data?: string | Buffer): void {
    const echo = closeFrameReceived(this);
    if (code !== undefined && !echo && (data === undefined || data.length === 0)) {
      const row = rowOfClose(code);
      if (row) return super.close(code, ERRORS[row].reason);
    }
    super.close(code, data);
  }
}

/**
 * A class rather than an object of closures: one of these lives as long as each socket, and a
 * closure per method per socket is memory that grows with the connection count.
 */
export class WsConnection implements HostConnection {
  readonly #ws: WebSocket;

  constructor(ws: WebSocket) {
    this.#ws = ws;
  }

  /** The TCP socket under `conn`, a connection this host made: the core's batched write path only (see ws-internals.ts). */
  static netSocket(conn: HostConnection): Socket {
    return socketOf((conn as WsConnection).#ws);
  }

  /** The client address (the peer, or the client a trusted proxy names). */
  get remoteAddress(): string {
    return (this.#ws as HostedSocket).address;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: string | Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(data, { binary: false });
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  ping(): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }
}

/** The TCP socket under a connection a {@link WebHost} made, for the core's write path (session-wire.ts); not in any kit. */
export const netSocketOf: (conn: HostConnection) => Socket = WsConnection.netSocket;

export interface ConnectionHooks {
  onMessage(text: string): void;
  onPong?(): void;
  onClose(code: number, reason: string): void;
}

export function rawToText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}


/**
 * Adds the shared listeners to a socket the host just accepted. EventEmitter starts `_events` as a
 * null-prototype object, which V8 keeps in dictionary mode (~0.3 KB per socket); with the four
 * events declared up front it is a small object of fixed shape instead, as Node's own streams
 * make theirs. Nothing listens to the socket before this.
 */
export function listenTo(ws: HostedSocket): void {
  (ws as unknown as { _events: object })._events = { error: undefined, close: undefined, message: undefined, pong: undefined };
  ws.on('error', onSocketError);
  ws.on('close', onSocketClose);
  ws.on('message', onSocketMessage);
  ws.on('pong', onSocketPong);
}

/** What the shared listeners need of the host: one object per host, not per socket. */
export class HostShared {
  readonly sockets: Set<WebSocket>;
  readonly opts: SocketObserver;
  /** Callers of {@link WebHost.idle}, resolved when the last socket closes. */
  idleWaiters: (() => void)[] = [];

  constructor(sockets: Set<WebSocket>, opts: SocketObserver) {
    this.sockets = sockets;
    this.opts = opts;
  }

  report(where: HostSite, err: unknown): void {
    try {
      this.opts.onHandlerError?.(where, err);
    } catch {
      // A reporter that throws must not undo the containment.
    }
  }
}

/** A socket hook threw: the error is reported and that one socket is closed (1011). */
function hookFailed(ws: HostedSocket, err: unknown): void {
  ws.host?.report('frame', err);
  if (ws.readyState === ws.OPEN) ws.close(ERRORS.BRIDGE_ERR_INTERNAL.close);
}

function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  (this as HostedSocket).host?.opts.onProtocolError?.(err);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const ws = this as HostedSocket;
  const host = ws.host;
  host?.sockets.delete(ws);
  host?.opts.admission?.released(ws.address);
  if (host && host.sockets.size === 0 && host.idleWaiters.length > 0) for (const resolve of host.idleWaiters.splice(0)) resolve();
  const hooks = ws.hooks;
  ws.hooks = null;
  try {
    hooks?.onClose(code, reason.toString('utf8'));
  } catch (err) {
    host?.report('frame', err);
  }
}

function onSocketMessage(this: WebSocket, data: RawData): void {
  releaseReadBuffers(this);
  try {
    (this as HostedSocket).hooks?.onMessage(rawToText(data));
  } catch (err) {
    hookFailed(this as HostedSocket, err);
  }
}

function onSocketPong(this: WebSocket): void {
  releaseReadBuffers(this);
  try {
    (this as HostedSocket).hooks?.onPong?.();
  } catch (err) {
    hookFailed(this as HostedSocket, err);
  }
}
