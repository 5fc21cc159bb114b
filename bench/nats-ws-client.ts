/**
 * The smallest NATS client that can subscribe over nats-server's WebSocket listener, for the
 * "peer" scenario: on open it sends CONNECT, SUB and PING in one frame; the PONG to that PING
 * proves the SUB is registered. After that it answers server PINGs and counts MSG payloads.
 *
 * Protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol), server → client:
 *   INFO {…}\r\n   MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n   PING\r\n   PONG\r\n
 *   +OK\r\n (never: verbose is off)   -ERR '<text>'\r\n
 * The server packs several operations into one WebSocket frame and may split one across frames,
 * so an unfinished tail is kept on the socket until the next frame completes it.
 */
import type WebSocket from 'ws';
import type { BenchSocket } from './loadgen.ts';
import { findMark, keepRest, takeRest, type OpenRequest } from './wire.ts';

const CRLF = Buffer.from('\r\n');
const PONG = Buffer.from('PONG\r\n');
const OPEN_TIMEOUT_MS = 30_000;
const CONNECT = JSON.stringify({
  verbose: false,
  pedantic: false,
  tls_required: false,
  name: 'bench-client',
  lang: 'bench',
  version: '1.0.0',
  protocol: 1,
  echo: false,
  headers: false,
  no_responders: false,
});

export interface NatsHooks {
  record(c: BenchSocket, buf: Buffer, mark: number): void;
  onClose(this: WebSocket, code: number): void;
  onError(): void;
}

let record: NatsHooks['record'] = () => {};

const M = 0x4d;
const P = 0x50;
const I = 0x49;
const MINUS = 0x2d;
const SPACE = 0x20;

/** The per-frame handler (hot path): parses every complete operation in the frame. */
function onNatsData(this: WebSocket, data: Buffer): void {
  const c = this as BenchSocket;
  const buf = takeRest(c, data);
  const n = buf.length;
  let p = 0;
  while (p < n) {
    const nl = buf.indexOf(CRLF, p);
    if (nl < 0) break;
    const op = buf[p];
    if (op === M) {
      // MSG …  <#bytes>: the size is the last token of the line.
      let q = nl - 1;
      let size = 0;
      let mul = 1;
      while (q > p && buf[q] !== SPACE) {
        size += (buf[q]! - 48) * mul;
        mul *= 10;
        q -= 1;
      }
      const end = nl + 2 + size;
      if (end + 2 > n) break;
      const mark = findMark(buf, nl + 2, end);
      if (mark >= 0) record(c, buf, mark);
      p = end + 2;
      continue;
    }
    if (op === P) {
      if (buf[p + 1] === I) c.send(PONG);
      else if (!c.ready) {
        c.ready = true;
        c.emit('nats-ready');
      }
    } else if (op === MINUS) {
      c.emit('nats-error', buf.toString('utf8', p, nl));
    }
    p = nl + 2;
  }
  keepRest(c, buf, p);
}

/** Opens one NATS-over-WebSocket subscriber on `req.subject`; resolves once the SUB is in place. */
export function openNatsWs(req: OpenRequest, Socket: typeof BenchSocket, hooks: NatsHooks): Promise<BenchSocket> {
  record = hooks.record;
  return new Promise((res, rej) => {
    const ws = new Socket(req.url, { perMessageDeflate: false, skipUTF8Validation: true });
    const timer = setTimeout(() => fail(new Error('open timeout')), OPEN_TIMEOUT_MS);
    function fail(err: Error): void {
      clearTimeout(timer);
      ws.terminate();
      rej(err);
    }
    ws.once('error', fail);
    ws.once('close', (code) => fail(new Error(`closed ${code} before ready`)));
    ws.once('nats-error', (text: string) => fail(new Error(`nats: ${text}`)));
    ws.once('open', () => ws.send(Buffer.from(`CONNECT ${CONNECT}\r\nSUB ${req.subject ?? 'bench'} 1\r\nPING\r\n`)));
    ws.on('message', onNatsData);
    ws.once('nats-ready', () => {
      clearTimeout(timer);
      ws.removeAllListeners('error').removeAllListeners('close').removeAllListeners('nats-error');
      ws.on('close', hooks.onClose);
      ws.on('error', hooks.onError);
      res(ws);
    });
  });
}
