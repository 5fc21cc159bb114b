/**
 * The fan-out write path: frames built once per payload, one flush per flushable per turn, and a
 * turn's frames reaching a real TCP peer in one write, byte for byte.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { framedOnce, scheduleFlush, textFrame, writeBatch, type Flushable } from '../../src/downstream/write-path.ts';

/** Reads unmasked final text frames as RFC 6455 §5.2 lays them out (what a client receives). */
function decode(bytes: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    assert.equal(bytes[at], 0x81, 'FIN + text opcode');
    const len7 = bytes[at + 1]!;
    assert.equal(len7 & 0x80, 0, 'server frames are not masked');
    let len = len7;
    let head = 2;
    if (len7 === 126) {
      len = bytes.readUInt16BE(at + 2);
      head = 4;
    } else if (len7 === 127) {
      len = Number(bytes.readBigUInt64BE(at + 2));
      head = 10;
    }
    out.push(bytes.subarray(at + head, at + head + len).toString('utf8'));
    at += head + len;
  }
  return out;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('frames', () => {
  test('text frames of every length class decode to their payload', () => {
    for (const n of [0, 1, 125, 126, 65535, 65536, 70000]) {
      const payload = Buffer.alloc(n, 'a');
      const frame = textFrame(payload);
      assert.equal(frame.length, n + (n < 126 ? 2 : n < 65536 ? 4 : 10), `header size at ${n}`);
      assert.deepEqual(decode(frame), [payload.toString()]);
    }
  });

  test('a payload is framed once, and interleaved payloads keep their own frames', () => {
    const a = Buffer.from('{"event":"a"}');
    const b = Buffer.from('{"event":"b"}');
    const fa = framedOnce(a);
    assert.equal(framedOnce(a), fa, 'the same payload gives the same frame object');
    const fb = framedOnce(b);
    assert.notEqual(fb, fa);
    assert.equal(framedOnce(a), fa, 'after another payload, still the first frame');
    assert.deepEqual(decode(Buffer.concat([fa, fb])), ['{"event":"a"}', '{"event":"b"}']);
  });
});

describe('flush scheduling', () => {
  function counter(): Flushable & { flushes: number } {
    return {
      flushQueued: false,
      flushes: 0,
      flush() {
        this.flushes += 1;
      },
    };
  }

  test('a flushable scheduled many times in a turn is flushed once, at the end of the turn', async () => {
    const f = counter();
    for (let i = 0; i < 5; i++) scheduleFlush(f);
    assert.equal(f.flushes, 0, 'nothing is written inside the turn');
    await nextTurn();
    assert.equal(f.flushes, 1);
    assert.equal(f.flushQueued, false);
    scheduleFlush(f);
    await nextTurn();
    assert.equal(f.flushes, 2, 'a later turn flushes again');
  });

  test('one that flushed early (flushQueued cleared) is not flushed again by the turn', async () => {
    const early = counter();
    const late = counter();
    scheduleFlush(early);
    scheduleFlush(late);
    early.flushQueued = false; // what Session.flush() does when it writes early
    await nextTurn();
    assert.equal(early.flushes, 0);
    assert.equal(late.flushes, 1);
  });
});

describe('writeBatch over a real socket', () => {
  test('a turn of frames is one write, and the peer reads every frame in order', async (t) => {
    const received: Buffer[] = [];
    const server = createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    t.after(() => socket.destroy());

    let writes = 0;
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Buffer) => {
      writes += 1;
      return write(chunk);
    }) as Socket['write'];

    const frames = ['one', 'two', 'three'].map((s) => textFrame(Buffer.from(s)));
    writeBatch(socket, frames, frames.reduce((n, f) => n + f.length, 0));
    writeBatch(socket, [textFrame(Buffer.from('four'))], 6);
    assert.equal(writes, 2, 'one write per batch');
    const total = frames.reduce((n, f) => n + f.length, 0) + 6;
    for (let i = 0; i < 100 && Buffer.concat(received).length < total; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(decode(Buffer.concat(received)), ['one', 'two', 'three', 'four']);
  });
});
