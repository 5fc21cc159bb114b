/**
 * The load generator: a separate process holding every benchmark client, driven over IPC by
 * run.ts. A client is a `ws` socket (no permessage-deflate, no UTF-8 validation) plus three
 * numbers: messages received, last sequence, and a partial-frame buffer. A message is
 * recognised and timed by slicing fixed-width digits after a marker (wire.ts), never by JSON.
 *
 * Text clients (relay and baseline) use `ws` for the handshake only: once ready, the socket's
 * bytes are read here, frame headers walked in place, with no per-message allocation or event.
 * The load generator shares the machine's cores with the server under test, and `ws`'s
 * per-message work made it the bottleneck of the saturation phase at 1 000 clients. NATS clients
 * (the peer) keep `ws` for framing: their cost is in parsing the NATS protocol inside frames.
 *
 * Ops: open, close, reset, count, waitFor, latency, stats. `waitFor` is what makes the publisher's
 * loop closed: it resolves once the clients together have received a given number of messages.
 */
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { serve, announce } from './child-hook.ts';
import { openNatsWs } from './nats-ws-client.ts';
import { findMark, Histogram, keepRest, nowUs, seqAt, sentUsAt, takeRest, type ClientStats, type OpenRequest } from './wire.ts';

/** One benchmark client; its state lives on the socket object itself. */
export class BenchSocket extends WebSocket {
  count = 0;
  last = -1;
  ready = false;
  /** Unparsed tail of the previous NATS frame, or of the previous TCP read (text clients). */
  rest: Buffer | null = null;
  /** The code of a close frame the server sent (read by {@link readFrames}). */
  closeCode: number | null = null;
}

const OPEN_CONCURRENCY = 128;
const OPEN_TIMEOUT_MS = 30_000;
const READY_FRAME = Buffer.from('{"event":"ready"}');
const AUTH_SUCCESS = Buffer.from('"auth success"');

let clients: BenchSocket[] = [];
let total = 0;
let gaps = 0;
let dups = 0;
let timing = false;
const hist = new Histogram();
const closes = new Map<number, number>();
let waitTarget = Infinity;
let waitDone: (() => void) | null = null;

/** Counts one bench message found at `mark` in `buf` (the hot path). */
export function record(c: BenchSocket, buf: Buffer, mark: number): void {
  const seq = seqAt(buf, mark);
  if (c.last >= 0 && seq !== c.last + 1) {
    if (seq <= c.last) dups += 1;
    else gaps += seq - c.last - 1;
  }
  if (seq > c.last) c.last = seq;
  c.count += 1;
  total += 1;
  if (timing) hist.record(nowUs() - sentUsAt(buf, mark));
  if (total >= waitTarget) waitDone?.();
}

function onClose(this: WebSocket, code: number): void {
  const closeCode = (this as BenchSocket).closeCode ?? code;
  closes.set(closeCode, (closes.get(closeCode) ?? 0) + 1);
}

/**
 * Walks the server frames in one TCP read (RFC 6455 §5.2; server frames are unmasked) and
 * records every bench message; a frame split across reads waits in `c.rest`. A close frame ends
 * the client with the server's code (the server-side close is what the loss figures count).
 */
function readFrames(c: BenchSocket, chunk: Buffer): void {
  const buf = takeRest(c, chunk);
  const n = buf.length;
  let p = 0;
  while (p + 2 <= n) {
    const b1 = buf[p + 1]!;
    let len = b1 & 0x7f;
    let head = 2;
    if (len === 126) {
      if (p + 4 > n) break;
      len = buf.readUInt16BE(p + 2);
      head = 4;
    } else if (len === 127) {
      if (p + 10 > n) break;
      len = Number(buf.readBigUInt64BE(p + 2));
      head = 10;
    }
    if (b1 & 0x80) head += 4;
    const start = p + head;
    const end = start + len;
    if (end > n) break;
    const opcode = buf[p]! & 0x0f;
    if (opcode === 0x1 || opcode === 0x0) {
      const mark = findMark(buf, start, end);
      if (mark >= 0) record(c, buf, mark);
    } else if (opcode === 0x8) {
      c.closeCode = len >= 2 ? buf.readUInt16BE(start) : 1005;
      c.terminate();
      return;
    }
    p = end;
  }
  keepRest(c, buf, p);
}

/**
 * Takes a ready text client's socket away from `ws`'s receiver (see the file comment), at a
 * frame boundary: while the receiver still holds bytes of a read (a further frame, or part of
 * one), the next message goes through `ws` and the hand-over is tried again after it.
 */
function readRaw(c: BenchSocket): void {
  const internals = c as unknown as { _socket: Socket; _receiver: { _bufferedBytes: number } };
  if (internals._receiver._bufferedBytes > 0) {
    c.once('message', (data: Buffer) => {
      const mark = findMark(data, 0, data.length);
      if (mark >= 0) record(c, data, mark);
      readRaw(c);
    });
    return;
  }
  internals._socket.removeAllListeners('data');
  internals._socket.on('data', (chunk: Buffer) => readFrames(c, chunk));
}

function onError(): void {
  // Counted through the close that follows.
}

/** Opens one Wings or plain-ws client and resolves when it is authenticated / greeted. */
function openText(req: OpenRequest): Promise<BenchSocket> {
  return new Promise((res, rej) => {
    const ws = new BenchSocket(req.url, { perMessageDeflate: false, skipUTF8Validation: true });
    const timer = setTimeout(() => fail(new Error('open timeout')), OPEN_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      ws.terminate();
      rej(err);
    };
    ws.once('error', fail);
    ws.once('close', (code) => fail(new Error(`closed ${code} before ready`)));
    ws.once('open', () => {
      if (req.mode === 'wings') ws.send(JSON.stringify({ event: 'auth', args: [req.token ?? ''] }));
    });
    const handshake = (data: Buffer) => {
      const ok = req.mode === 'wings' ? data.indexOf(AUTH_SUCCESS) >= 0 : data.equals(READY_FRAME);
      if (!ok) return;
      clearTimeout(timer);
      ws.off('message', handshake);
      ws.removeAllListeners('error').removeAllListeners('close');
      ws.ready = true;
      ws.on('close', onClose);
      ws.on('error', onError);
      readRaw(ws);
      res(ws);
    };
    ws.on('message', handshake);
  });
}

async function open(req: OpenRequest): Promise<{ opened: number; failed: number; firstError: string | null; ms: number }> {
  const t0 = Date.now();
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const worker = async () => {
    while (next < req.count) {
      next += 1;
      try {
        const c = req.mode === 'nats-ws' ? await openNatsWs(req, BenchSocket, { record, onClose, onError }) : await openText(req);
        clients.push(c);
      } catch (err) {
        failed += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, req.count) }, worker));
  return { opened: clients.length, failed, firstError, ms: Date.now() - t0 };
}

async function close(): Promise<{ closed: number }> {
  const n = clients.length;
  const gone = clients.map((c) => (c.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise<void>((r) => c.once('close', () => r()))));
  for (const c of clients) c.terminate();
  await Promise.all(gone);
  clients = [];
  total = 0;
  gaps = 0;
  dups = 0;
  closes.clear();
  return { closed: n };
}

/** Resolves when `total ≥ target`, or with reached=false once no message arrived for `idleMs`. */
function waitFor(args: { target: number; idleMs: number }): Promise<{ total: number; reached: boolean }> {
  if (total >= args.target) return Promise.resolve({ total, reached: true });
  return new Promise((res) => {
    let seen = total;
    const idle = setInterval(() => {
      if (total !== seen) {
        seen = total;
        return;
      }
      finish(false);
    }, args.idleMs);
    const finish = (reached: boolean) => {
      clearInterval(idle);
      waitTarget = Infinity;
      waitDone = null;
      res({ total, reached });
    };
    waitTarget = args.target;
    waitDone = () => finish(true);
  });
}

function stats(args: { expected: number }): ClientStats {
  let lost = 0;
  let short = 0;
  let openCount = 0;
  for (const c of clients) {
    if (c.readyState === WebSocket.OPEN) openCount += 1;
    if (c.count < args.expected) {
      lost += args.expected - c.count;
      short += 1;
    }
  }
  return { clients: clients.length, open: openCount, total, lost, short, gaps, dups, closes: Object.fromEntries(closes) };
}

serve({
  open,
  close,
  reset(args: { latency: boolean }) {
    hist.reset();
    timing = args.latency;
    return { total };
  },
  count: () => ({ total, us: nowUs() }),
  waitFor,
  latency: () => hist.summary(),
  stats,
});
announce({ pid: process.pid });
