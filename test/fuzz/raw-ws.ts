/**
 * The fuzzer's client: one TCP connection from a chosen loopback address, a request written byte
 * for byte (plain or upgrade), and after a 101 any frames at all — masked or not, bad opcodes,
 * RSV bits, invalid UTF-8, fragments, close codes no client may send. It records what the relay
 * did: the HTTP answer, every server frame, and who closed first, so a property can tell a close
 * the relay initiated from the echo of its own. Every wait is bounded; nothing here throws for
 * anything the server does.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { serverFrame } from '../helpers/raw-http.ts';

/** One frame the fuzzer sends after the upgrade (already materialized: payloads are bytes). */
export type WireFrame =
  | { kind: 'data'; opcode: number; payload: Buffer; fin?: boolean; rsv?: number; unmasked?: boolean }
  | { kind: 'close'; code: number | null; reason: Buffer }
  | { kind: 'pause'; ms: number }
  /** Holds the session open (sending nothing) until `ready` settles. */
  | { kind: 'hold'; ready: Promise<unknown> }
  /** Writes the first `bytes` of a frame carrying `payload`, then resets the connection. */
  | { kind: 'abort'; payload: Buffer; bytes: number };

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface CaseOutcome {
  /** null: no complete HTTP answer came (the server closed or the wait ran out). */
  answer: HttpAnswer | null;
  /** How the connection ended before an answer (for refusals Node's parser makes itself). */
  endedBeforeAnswer: 'closed' | 'timeout' | null;
  /** Text (and binary, as latin1) frames the server sent after the 101. */
  messages: string[];
  /** The first close frame the server sent, and whether it came before ours (relay-initiated). */
  serverClose: { code: number | null; reason: string; initiated: boolean } | null;
  /** What we sent in our close frame, if we sent one. */
  ourClose: { code: number | null; reason: string } | null;
  /** The TCP connection ended without the server ever sending a close frame, and we sent none first. */
  droppedWithoutClose: boolean;
  /** The server neither closed nor answered our close within the wait. */
  hung: boolean;
  /** We reset the connection ourselves (an `abort` frame): nothing after that is the relay's doing. */
  aborted: boolean;
  /** Frames (pauses included) written before the relay closed or the connection ended. */
  sent: number;
  /** Milliseconds from connect to the end. */
  ms: number;
}

/** A frame as a client writes it (masked unless `unmasked`), any length. */
export function encodeClientFrame(opcode: number, payload: Buffer, o: { fin?: boolean; rsv?: number; unmasked?: boolean } = {}): Buffer {
  const fin = o.fin === false ? 0 : 0x80;
  const first = fin | ((o.rsv ?? 0) << 4) | (opcode & 0x0f);
  const len = payload.length;
  const maskBit = o.unmasked ? 0 : 0x80;
  let head: Buffer;
  if (len < 126) head = Buffer.from([first, maskBit | len]);
  else if (len < 65536) {
    head = Buffer.alloc(4);
    head[0] = first;
    head[1] = maskBit | 126;
    head.writeUInt16BE(len, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = first;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  if (o.unmasked) return Buffer.concat([head, payload]);
  const mask = randomBytes(4);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

function closePayload(code: number | null, reason: Buffer): Buffer {
  if (code === null) return Buffer.alloc(0);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code & 0xffff, 0);
  return Buffer.concat([b, reason]);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface CaseRequest {
  port: number;
  localAddress: string;
  /** The request head without the final blank line (request line and header lines). */
  head: Buffer;
  /** Frames to write after a 101. */
  frames: readonly WireFrame[];
  /** How long to wait for the relay's reaction after the last frame before closing ourselves. */
  lingerMs: number;
  /** Upper bound of every wait (answer, close handshake). */
  timeoutMs: number;
  /** Called once the HTTP answer is in (or did not come). */
  onAnswer?(answer: HttpAnswer | null): void;
}

/** Runs one connection to its end; resolves with what the relay did (never rejects). */
export function runConnection(req: CaseRequest): Promise<CaseOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port: req.port, localAddress: req.localAddress });
    socket.setNoDelay(true);
    const out: CaseOutcome = {
      answer: null,
      endedBeforeAnswer: null,
      messages: [],
      serverClose: null,
      ourClose: null,
      droppedWithoutClose: false,
      hung: false,
      aborted: false,
      sent: 0,
      ms: 0,
    };
    let buf: Buffer = Buffer.alloc(0);
    const isHead = req.head.subarray(0, 5).toString('latin1') === 'HEAD ';
    let upgraded = false;
    let ended = false;
    let done = false;
    let fragments: Buffer[] = [];
    const wakers = new Set<() => void>();
    const wake = () => {
      for (const w of wakers) w();
    };
    /** Resolves when `cond` holds or after `ms`; true when it held. */
    const until = (cond: () => boolean, ms: number) =>
      new Promise<boolean>((res) => {
        if (cond()) return res(true);
        const check = () => {
          if (!cond()) return;
          clearTimeout(t);
          wakers.delete(check);
          res(true);
        };
        const t = setTimeout(() => {
          wakers.delete(check);
          res(cond());
        }, ms);
        wakers.add(check);
      });

    const finish = () => {
      if (done) return;
      done = true;
      out.ms = Date.now() - started;
      socket.destroy();
      resolve(out);
    };

    const write = (b: Buffer) => {
      if (!socket.destroyed && socket.writable) socket.write(b);
    };

    const sendClose = (code: number | null, reason: Buffer) => {
      if (out.ourClose) return;
      // Without a code a close frame carries no reason either (closePayload drops it).
      out.ourClose = { code, reason: code === null ? '' : reason.toString('utf8') };
      write(encodeClientFrame(0x8, closePayload(code, reason)));
    };

    const parseHttp = (): boolean => {
      const split = buf.indexOf('\r\n\r\n');
      if (split < 0) return false;
      const [statusLine, ...lines] = buf.subarray(0, split).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const status = Number(statusLine!.split(' ')[1]);
      const rest = buf.subarray(split + 4);
      if (status === 101) {
        out.answer = { status, headers, body: '' };
        upgraded = true;
        buf = rest;
        return true;
      }
      // A HEAD answer, a 204 and a 304 carry no body whatever their Content-Length says.
      const bodiless = isHead || status === 204 || status === 304 || (status >= 100 && status < 200);
      const length = bodiless ? 0 : headers['content-length'] === undefined ? null : Number(headers['content-length']);
      if (length !== null ? rest.length < length : !ended) return false;
      out.answer = { status, headers, body: rest.subarray(0, length ?? rest.length).toString('utf8') };
      buf = Buffer.alloc(0);
      return true;
    };

    const parseFrames = () => {
      for (let f = serverFrame(buf); f; f = serverFrame(buf)) {
        const { opcode, fin, payload } = f;
        buf = f.rest;
        if (opcode === 0x8) {
          if (!out.serverClose) {
            out.serverClose = {
              code: payload.length >= 2 ? payload.readUInt16BE(0) : null,
              reason: payload.subarray(2).toString('utf8'),
              initiated: out.ourClose === null,
            };
            // Answer a relay-initiated close as a client must, then half-close.
            if (out.ourClose === null) sendClose(out.serverClose.code, Buffer.alloc(0));
            socket.end();
          }
        } else if (opcode === 0x9) {
          write(encodeClientFrame(0xa, Buffer.from(payload)));
        } else if (opcode === 0x1 || opcode === 0x2 || opcode === 0x0) {
          fragments.push(Buffer.from(payload));
          if (fin) {
            out.messages.push(Buffer.concat(fragments).toString(opcode === 0x2 ? 'latin1' : 'utf8'));
            fragments = [];
          }
        }
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (!out.answer) parseHttp();
      if (upgraded) parseFrames();
      wake();
    });
    socket.on('end', () => {
      ended = true;
      if (!out.answer) parseHttp();
      wake();
    });
    socket.on('close', () => {
      ended = true;
      wake();
    });
    socket.on('error', () => {
      ended = true;
      wake();
    });

    void (async () => {
      socket.write(Buffer.concat([req.head, Buffer.from('\r\n\r\n')]));
      const answered = await until(() => out.answer !== null || ended, req.timeoutMs);
      req.onAnswer?.(out.answer);
      if (!out.answer) {
        out.endedBeforeAnswer = answered ? 'closed' : 'timeout';
        return finish();
      }
      if (!upgraded) return finish();
      for (const f of req.frames) {
        if (ended || out.serverClose) break;
        if (f.kind === 'abort') {
          write(encodeClientFrame(1, f.payload).subarray(0, f.bytes));
          out.sent += 1;
          out.aborted = true;
          socket.resetAndDestroy();
          return finish();
        }
        if (f.kind === 'pause') await sleep(f.ms);
        else if (f.kind === 'hold') await f.ready;
        else if (f.kind === 'close') sendClose(f.code, f.reason);
        else write(encodeClientFrame(f.opcode, f.payload, f));
        out.sent += 1;
      }
      if (!out.serverClose && !ended && req.lingerMs > 0) await until(() => out.serverClose !== null || ended, req.lingerMs);
      if (!out.serverClose && !ended) sendClose(1000, Buffer.from('fuzz done'));
      const closed = await until(() => out.serverClose !== null || ended, req.timeoutMs);
      if (!closed) out.hung = true;
      if (out.serverClose) await until(() => ended, 50);
      else if (ended && out.ourClose === null) out.droppedWithoutClose = true;
      finish();
    })();
  });
}
