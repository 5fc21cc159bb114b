/**
 * The socket a link runner holds, as a small injected interface (after nats.js's `Transport`): the
 * runner's state machine never touches `ws`, so its tests drive it with a fake connector and a
 * ManualClock. The default implementation over `ws` is in ws-connector.ts.
 */
import type { Clock } from '../clock.ts';
import type { ConnectTarget } from '../contracts.ts';

export interface ConnectOptions {
  /** The upgrade must complete within this time, else `error` then `close`. */
  handshakeTimeoutMs: number;
  /** Larger inbound messages fail the socket (close 1009). */
  maxPayloadBytes: number;
}

/**
 * What a socket reports. Events come on later turns of the event loop, never inside `connect()`
 * or inside a call on the socket. Order: `refused` or `open` at most once, then `message`*, and
 * `close` exactly once, last, whatever ended the socket (the peer, `close()`, `terminate()`, a
 * refused upgrade, a network error). `error` may come at any time before `close`, for logging.
 */
export interface UpstreamSocketEvents {
  /** The upgrade succeeded. */
  open: () => void;
  /** One inbound message; binary messages are decoded as UTF-8. */
  message: (text: string) => void;
  /** The upgrade was answered with an HTTP status other than 101 (`close` follows). */
  refused: (httpStatus: number) => void;
  /** The socket is gone: the close code and reason received (1006 and '' without a close frame). */
  close: (code: number, reason: string) => void;
  error: (err: Error) => void;
}

export interface UpstreamSocket {
  /** Registers a listener; call right after `connect()` (no event is emitted before). */
  on<E extends keyof UpstreamSocketEvents>(event: E, listener: UpstreamSocketEvents[E]): void;
  /** Sends a text frame when open; otherwise does nothing. */
  send(text: string): void;
  /** Starts the close handshake (or aborts the upgrade while connecting). Idempotent. */
  close(code: number, reason: string): void;
  /** Destroys the connection at once, without a handshake. Idempotent. */
  terminate(): void;
}

export interface Connector {
  /** Starts connecting; the outcome arrives as events on the returned socket. Never throws. */
  connect(target: ConnectTarget, options: ConnectOptions): UpstreamSocket;
}

/**
 * Sends a close frame on `socket` and lets the peer finish the handshake within `graceMs` on
 * `clock`; past that the socket is terminated. The socket sits in `closing` until one or the
 * other (whoever holds that set may terminate it sooner). Resolves then.
 */
export function closeWithin(socket: UpstreamSocket, frame: { code: number; reason: string }, graceMs: number, clock: Clock, closing: Set<UpstreamSocket>): Promise<void> {
  closing.add(socket);
  return new Promise<void>((resolve) => {
    const grace = clock.setTimeout(() => {
      closing.delete(socket);
      socket.terminate();
      resolve();
    }, graceMs);
    socket.on('close', () => {
      grace.cancel();
      closing.delete(socket);
      resolve();
    });
    socket.close(frame.code, frame.reason);
  });
}
