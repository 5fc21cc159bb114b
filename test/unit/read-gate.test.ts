/** The bus's read gate: bounded concurrency, a bounded queue, single flight per key. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadGate } from '../../src/bus/read-gate.ts';
import { BridgeError } from '../../src/errors.ts';

/** A read the test finishes by hand. */
function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('ReadGate', () => {
  test('runs at most `concurrency` reads at once; the others wait their turn, in order', async () => {
    const gate = new ReadGate({ concurrency: 2, maxWaiting: 10 });
    const reads = Array.from({ length: 5 }, () => deferred<string>());
    const started: number[] = [];
    const results = reads.map((d, i) =>
      gate.run(`s${i}`, () => {
        started.push(i);
        return d.promise;
      }),
    );
    await tick();
    assert.deepEqual(started, [0, 1]);
    assert.equal(gate.waiting, 3);
    reads[1]!.resolve('one');
    await tick();
    assert.deepEqual(started, [0, 1, 2]);
    for (const [i, d] of reads.entries()) d.resolve(`r${i}`);
    assert.deepEqual(await Promise.all(results), ['r0', 'one', 'r2', 'r3', 'r4']);
    assert.equal(gate.running, 0);
  });

  test('overlapping reads of one key share one read, running or waiting', async () => {
    const gate = new ReadGate({ concurrency: 1, maxWaiting: 10 });
    let reads = 0;
    const slow = deferred<string>();
    const a = gate.run('a', () => {
      reads++;
      return slow.promise;
    });
    const a2 = gate.run('a', async () => {
      reads++;
      return 'never';
    });
    const b = Array.from({ length: 20 }, () =>
      gate.run('b', async () => {
        reads++;
        return 'b';
      }),
    );
    assert.equal(gate.waiting, 1, 'twenty reads of b wait as one');
    slow.resolve('a');
    assert.equal(await a, 'a');
    assert.equal(await a2, 'a');
    assert.deepEqual(await Promise.all(b), Array(20).fill('b'));
    assert.equal(reads, 2);
    // Once a read is done, the next read of that key reads again (fresh data).
    assert.equal(await gate.run('a', async () => 'again'), 'again');
  });

  test('a full queue refuses with BRIDGE_ERR_RATE_LIMITED and says so', async () => {
    let refused = 0;
    const gate = new ReadGate({ concurrency: 1, maxWaiting: 2, onRefused: () => refused++ });
    const hold = deferred<number>();
    const running = gate.run('x', () => hold.promise);
    const waiting = [gate.run('y', async () => 1), gate.run('z', async () => 2)];
    await assert.rejects(gate.run('w', async () => 3), (err: unknown) => err instanceof BridgeError && err.code === 'BRIDGE_ERR_RATE_LIMITED');
    assert.equal(refused, 1);
    const joined = gate.run('y', async () => 9);
    assert.equal(refused, 1, 'joining a waiting read is never refused');
    hold.resolve(0);
    assert.deepEqual(await Promise.all([running, ...waiting, joined]), [0, 1, 2, 1]);
  });

  test('a failed read rejects every sharer and frees its slot', async () => {
    const gate = new ReadGate({ concurrency: 1, maxWaiting: 10 });
    const boom = new Error('jetstream timeout');
    const first = gate.run('a', async () => {
      throw boom;
    });
    const second = gate.run('a', async () => 'unused');
    await assert.rejects(first, boom);
    await assert.rejects(second, boom);
    assert.equal(await gate.run('b', async () => 'ok'), 'ok');
    assert.equal(gate.running, 0);
  });
});
