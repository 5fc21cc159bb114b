/**
 * Every use of `ws` internals, in one place. The fan-out write path (write-path.ts, session-wire.ts)
 * frames text itself and writes to the TCP socket under the WebSocket, next to ws's own sender;
 * that is sound only while these facts about ws hold:
 * - `_socket` is the upgraded `net.Socket`, set before the `connection` event;
 * - `_sender._socket` is that same socket and, without permessage-deflate (the host turns it off),
 *   ws writes each frame to it at once, so our writes and ws's keep the order they were made in;
 * - `bufferedAmount` reads the socket's writable state, so it counts bytes we wrote too;
 * - `_closeFrameReceived` is true once the peer's close frame arrived (read by HostedSocket.close);
 * - an unmasked final text frame is the bytes `Sender.frame` builds (write-path.ts `textFrame`);
 * - `_receiver._buffers` is the receiver's array of unread chunks, read afresh from the receiver
 *   at each use (`releaseReadBuffers` swaps an empty one for a new one).
 * test/unit/ws-internals.test.ts checks each of them against the installed ws and names its version
 * when one breaks; the `ws` range in package.json is pinned to the minor it was verified on.
 */
import { createRequire } from 'node:module';
import { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** The installed ws version, for messages about these internals. */
export const WS_VERSION: string = (createRequire(import.meta.url)('ws/package.json') as { version: string }).version;

interface WsPrivate {
  _socket?: unknown;
  _sender?: { _socket?: unknown };
  _receiver?: { _buffers?: unknown };
  _closeFrameReceived?: unknown;
}

/** The TCP socket under an open WebSocket, for the batched write path. */
export function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

/** True once the peer's close frame arrived (ws then echoes it; the relay must not re-word it). */
export function closeFrameReceived(ws: WebSocket): boolean {
  return (ws as unknown as { _closeFrameReceived: boolean })._closeFrameReceived;
}

/**
 * Drops the backing store of the receiver's chunk list once it is empty. The first chunk pushed
 * onto an empty array makes room for 17 (152 bytes), and shift() in optimised code gives none of it
 * back, so on a busy relay every socket that ever received a frame (an auth, a pong) would keep
 * that store while idle. Called after a frame was read; an array with chunks still in it is left
 * alone.
 */
export function releaseReadBuffers(ws: WebSocket): void {
  const receiver = (ws as unknown as { _receiver?: { _buffers: unknown[] } })._receiver;
  if (receiver !== undefined && receiver._buffers.length === 0) receiver._buffers = [];
}

/**
 * What is wrong with the internals this module relies on, for an open server-side socket: empty
 * when all is as verified. Each line names the ws version.
 */
export function internalsProblems(ws: WebSocket): string[] {
  const p = ws as unknown as WsPrivate;
  const out: string[] = [];
  const bad = (what: string) => out.push(`ws ${WS_VERSION}: ${what}; src/downstream/ws-internals.ts relies on it`);
  if (!(p._socket instanceof Socket)) bad('WebSocket._socket is not the net.Socket of the connection');
  if (typeof p._sender !== 'object' || p._sender === null) bad('WebSocket._sender is missing');
  else if (p._sender._socket !== p._socket) bad('WebSocket._sender._socket is not WebSocket._socket');
  if (typeof p._closeFrameReceived !== 'boolean') bad('WebSocket._closeFrameReceived is not a boolean');
  if (typeof p._receiver !== 'object' || p._receiver === null || !Array.isArray(p._receiver._buffers)) bad('WebSocket._receiver._buffers is not an array');
  return out;
}
