/**
 * The ws internals the fan-out write path relies on (src/downstream/ws-internals.ts), checked
 * against the installed ws over a real socket on port 0. A failure here means a ws upgrade changed
 * one of them: every message names the ws version, and the write path must not ship on it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { WS_VERSION, closeFrameReceived, internalsProblems, socketOf } from '../../src/downstream/ws-internals.ts';
import { textFrame } from '../../src/downstream/write-path.ts';

const V = `ws ${WS_VERSION}`;

/** ws's own framer, the oracle for textFrame (public on the package, absent from its typings). */
type FrameOptions = { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean };
const Sender = (createRequire(import.meta.url)('ws') as { Sender?: { frame?(data: Buffer, o: FrameOptions): Buffer[] } }).Sender;

/** A raw TCP client that upgrades by hand, so the test sees the exact bytes the server sends. */
class RawClient {
  readonly sock: Socket;
  bytes = Buffer.alloc(0);
  #waiters: (() => void)[] = [];

  private constructor(sock: Socket) {
    this.sock = sock;
  }

  static async open(port: number): Promise<RawClient> {
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    const c = new RawClient(sock);
    sock.on('data', (d: Buffer) => {
      c.bytes = Buffer.concat([c.bytes, d]);
      for (const w of c.#waiters.splice(0)) w();
    });
    sock.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    await c.until((b) => b.includes('\r\n\r\n'));
    const end = c.bytes.indexOf('\r\n\r\n') + 4;
    assert.match(c.bytes.subarray(0, end).toString(), /^HTTP\/1\.1 101/, `${V}: upgrade refused`);
    c.bytes = c.bytes.subarray(end);
    return c;
  }

  async until(done: (b: Buffer) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done(this.bytes)) {
      if (Date.now() > deadline) throw new Error(`${V}: timed out; got ${this.bytes.length} bytes`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }
}

describe(`ws internals the write path relies on (${V})`, () => {
  let wss: WebSocketServer;
  let port: number;
  const accepted: WebSocket[] = [];

  before(async () => {
    // As the relay's host: no permessage-deflate, so ws writes each frame at once.
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    wss.on('connection', (ws) => accepted.push(ws));
    await once(wss, 'listening');
    port = (wss.address() as AddressInfo).port;
  });

  after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  async function pair(): Promise<{ client: RawClient; ws: WebSocket }> {
    const n = accepted.length;
    const client = await RawClient.open(port);
    while (accepted.length === n) await new Promise((r) => setImmediate(r));
    return { client, ws: accepted[n]! };
  }

  test('the private fields are there, with the types and identities relied on', async () => {
    const { client, ws } = await pair();
    assert.deepEqual(internalsProblems(ws), [], `${V} changed its private fields`);
    assert.equal(closeFrameReceived(ws), false, `${V}: _closeFrameReceived is not false on an open socket`);
    client.sock.destroy();
  });

  test('an unmasked final text frame is the bytes Sender.frame builds', () => {
    assert.equal(typeof Sender?.frame, 'function', `${V}: Sender.frame is gone`);
    for (const n of [0, 1, 125, 126, 65535, 65536, 70000]) {
      const payload = randomBytes(n);
      const theirs = Buffer.concat(Sender!.frame!(payload, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
      assert.ok(textFrame(payload).equals(theirs), `${V}: Sender.frame differs from textFrame for a ${n}-byte payload`);
    }
  });

  test("frames written to the socket and ws's own sends reach the peer in the order made, byte for byte", async () => {
    const { client, ws } = await pair();
    const net = socketOf(ws);
    const expected = Buffer.concat(['one', 'two', 'three', 'x'.repeat(300)].map((s) => textFrame(Buffer.from(s))));
    net.write(textFrame(Buffer.from('one')));
    ws.send('two');
    net.write(textFrame(Buffer.from('three')));
    ws.send('x'.repeat(300));
    await client.until((b) => b.length >= expected.length);
    assert.ok(client.bytes.equals(expected), `${V}: the wire holds ${client.bytes.subarray(0, 64).toString('hex')}…, not our frames interleaved with ws's in order`);
    client.sock.destroy();
  });

  test('bufferedAmount counts bytes written straight to the socket', async () => {
    const { client, ws } = await pair();
    client.sock.pause(); // the peer reads nothing, so a big write stays queued in user space
    const big = textFrame(Buffer.alloc(32 * 1024 * 1024, 'a'));
    assert.equal(ws.bufferedAmount, 0, `${V}: bufferedAmount is not 0 on an idle socket`);
    socketOf(ws).write(big);
    assert.ok(ws.bufferedAmount > 0, `${V}: bufferedAmount does not see our write (the slow-consumer limit would be blind)`);
    assert.equal(ws.bufferedAmount, socketOf(ws).writableLength, `${V}: bufferedAmount is not the socket's queued bytes`);
    client.sock.destroy();
  });

  test("_closeFrameReceived turns true when the peer's close frame arrives", async () => {
    const { client, ws } = await pair();
    const seen: boolean[] = [];
    ws.on('close', () => seen.push(closeFrameReceived(ws)));
    // A masked close frame (mask 0) with code 1000, as a client must send it.
    client.sock.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
    await once(ws, 'close');
    assert.deepEqual(seen, [true], `${V}: _closeFrameReceived is not true after the peer's close frame`);
    client.sock.destroy();
  });
});
