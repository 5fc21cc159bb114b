/**
 * Raw HTTP/1.1 and WebSocket bytes over `net`, for tests that must send what no well-behaved
 * client library would: request lines like `GET // HTTP/1.1`, odd Host headers, frames with bad
 * UTF-8 or a protocol error.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Reads one HTTP response head (and the body up to Content-Length, or to the end) from `socket`. */
function readResponse(socket: Socket, timeoutMs: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms: ${JSON.stringify(buf.toString())}`)), timeoutMs);
    const parse = (atEnd: boolean): RawResponse | null => {
      const split = buf.indexOf('\r\n\r\n');
      if (split < 0) return null;
      const [statusLine, ...lines] = buf.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const body = buf.subarray(split + 4);
      const status = Number(statusLine!.split(' ')[1]);
      if (status === 101) {
        // The rest is WebSocket frames: hand them back to the socket's next reader.
        if (body.length > 0) socket.unshift(body);
        return { status, headers, body: '' };
      }
      const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
      if (length !== null ? body.length < length : !atEnd) return null;
      return { status, headers, body: body.subarray(0, length ?? body.length).toString('utf8') };
    };
    const finish = (err: Error | null, res?: RawResponse) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(res!);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const res = parse(false);
      if (res) finish(null, res);
    };
    const onEnd = () => {
      const res = parse(true);
      finish(res ? null : new Error(`connection ended before a response: ${JSON.stringify(buf.toString())}`), res ?? undefined);
    };
    const onError = (err: Error) => finish(err);
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', onError);
  });
}

/** Sends `head` (request line and headers, without the blank line) and reads the answer. */
export async function rawRequest(port: number, head: string, timeoutMs = 3000): Promise<RawResponse> {
  const socket = connect(port, '127.0.0.1');
  try {
    socket.write(`${head}\r\n\r\n`);
    return await readResponse(socket, timeoutMs);
  } finally {
    socket.destroy();
  }
}

/** The headers of a WebSocket upgrade request. */
export function upgradeHeaders(host = '127.0.0.1'): string {
  return `Host: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}`;
}

/**
 * An upgrade sent by hand, with `extra` header lines: the answer, and the socket (open after a
 * 101, for writing arbitrary frames; destroyed after a refusal).
 */
export async function rawUpgrade(port: number, path: string, extra: Record<string, string> = {}): Promise<{ res: RawResponse; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  const lines = Object.entries(extra).map(([k, v]) => `\r\n${k}: ${v}`).join('');
  socket.write(`GET ${path} HTTP/1.1\r\n${upgradeHeaders()}${lines}\r\n\r\n`);
  try {
    const res = await readResponse(socket, 3000);
    if (res.status !== 101) socket.destroy();
    return { res, socket };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

/** A WebSocket opened by hand: the socket after a 101, for writing arbitrary frames. */
export async function rawWebSocket(port: number, path: string): Promise<Socket> {
  const { res, socket } = await rawUpgrade(port, path);
  if (res.status !== 101) throw new Error(`upgrade refused: ${res.status} ${res.body}`);
  return socket;
}

/** One client frame (masked, as RFC 6455 requires of clients unless `unmasked`). */
export function clientFrame(opcode: number, payload: Buffer, o: { unmasked?: boolean; rsv?: number } = {}): Buffer {
  const mask = o.unmasked ? null : randomBytes(4);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | ((o.rsv ?? 0) << 4) | opcode, (mask ? 0x80 : 0) | len]) : Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | 126, len >> 8, len & 0xff]);
  const body = Buffer.from(payload);
  if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat(mask ? [head, mask, body] : [head, body]);
}

/** One whole server frame (unmasked, as servers send) at the start of `buf`, or null until it has arrived. */
export function serverFrame(buf: Buffer): { opcode: number; fin: boolean; payload: Buffer; rest: Buffer } | null {
  if (buf.length < 2) return null;
  let len = buf[1]! & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  if (buf.length < off + len) return null;
  return { opcode: buf[0]! & 0x0f, fin: (buf[0]! & 0x80) !== 0, payload: buf.subarray(off, off + len), rest: buf.subarray(off + len) };
}

/** Waits for the server's close frame on a raw socket: its code and reason. */
export function readCloseFrame(socket: Socket, timeoutMs = 3000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => reject(new Error('no close frame')), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // Skip frames until a close (opcode 8).
      for (let f = serverFrame(buf); f; f = serverFrame(buf)) {
        const { opcode, payload } = f;
        buf = f.rest;
        if (opcode === 8) {
          clearTimeout(timer);
          resolve({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') });
          return;
        }
      }
    });
  });
}
