/**
 * The primary's worker pool (src/process/pool.ts) with fake workers and a ManualClock: init on
 * hello, start and its failure, restarts with backoff, and the bounded stop.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import type { BridgeConfig } from '../../src/config/schema.ts';
import { WorkerPool, type RestartPolicy } from '../../src/process/pool.ts';
import { workerNodeId } from '../../src/process/messages.ts';
import { FakeWorker, memoryLog } from '../helpers/fake-worker.ts';

const POLICY: RestartPolicy = { initialMs: 1000, maxMs: 8000, multiplier: 2, resetMs: 30_000 };

function pool(count: number, o: { random?: () => number } = {}) {
  const clock = new ManualClock();
  const log = memoryLog();
  const forked: FakeWorker[] = [];
  const byIndex = new Map<number, FakeWorker[]>();
  const p = new WorkerPool({
    count,
    clock,
    log,
    restart: POLICY,
    // The top of each ceiling: delays are exactly 999, 1999, 3999, …
    random: o.random ?? (() => 0.999999),
    fork(index) {
      const w = new FakeWorker();
      forked.push(w);
      byIndex.set(index, [...(byIndex.get(index) ?? []), w]);
      return w;
    },
    init: (index) => ({ type: 'bridge:init', index, config: { node: { id: 'n' } } as unknown as BridgeConfig, simulators: {} }),
  });
  return { p, clock, log, forked, latest: (i: number) => byIndex.get(i)!.at(-1)!, generations: (i: number) => byIndex.get(i)?.length ?? 0 };
}

async function started(count: number, o: { random?: () => number } = {}) {
  const t = pool(count, o);
  const start = t.p.start();
  for (const w of t.forked) w.boot();
  await start;
  return t;
}

describe('worker pool', () => {
  test('forks every worker, sends each its init on hello, and is started once all are ready', async () => {
    const { p, forked } = pool(3);
    let done = false;
    const start = p.start().then(() => (done = true));
    assert.equal(forked.length, 3);
    assert.equal(forked[0]!.sent.length, 0, 'nothing is sent before the worker listens');
    forked[0]!.say({ type: 'bridge:hello' });
    assert.deepEqual(forked[0]!.sent.map((m) => m.type === 'bridge:init' && m.index), [1]);
    forked[0]!.say({ type: 'bridge:ready', node: 'n-w1', url: 'http://x' });
    forked[1]!.boot();
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'not started while worker 3 is not ready');
    assert.equal(p.ready().length, 2);
    forked[2]!.boot();
    await start;
    assert.deepEqual(p.ready().map((w) => w.index), [1, 2, 3]);
  });

  test('a worker that exits before it was ready fails the start, and is not restarted', async () => {
    const { p, clock, forked } = pool(2);
    const start = p.start();
    forked[0]!.boot();
    forked[1]!.exit(1);
    await assert.rejects(start, /worker 2 exited \(code 1\) before it was ready/);
    await clock.advance(60_000);
    assert.equal(forked.length, 2);
  });

  test('a worker that dies is restarted with growing delays, and from the start again after a long life', async () => {
    const { clock, log, latest, generations } = await started(2);
    latest(2).exit(null, 'SIGKILL');
    assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.includes('restarting') && l.fields?.worker === 2 && l.fields?.restartInMs === 999));
    await clock.advance(998);
    assert.equal(generations(2), 1, 'not before the delay');
    await clock.advance(1);
    assert.equal(generations(2), 2, 'restarted after the delay, in the same slot');
    latest(2).boot();
    latest(2).exit(1); // died young: the ceiling doubles
    await clock.advance(1998);
    assert.equal(generations(2), 2);
    await clock.advance(1);
    assert.equal(generations(2), 3);
    latest(2).boot();
    await clock.advance(POLICY.resetMs);
    latest(2).exit(1); // lived long: from the first delay again
    await clock.advance(999);
    assert.equal(generations(2), 4);
    assert.equal(generations(1), 1, 'the other worker was left alone');
  });

  test('stop forwards the signal, cancels a pending restart, and is clean when every worker exits', async () => {
    const { p, clock, forked, latest, generations } = await started(3);
    latest(3).exit(null, 'SIGKILL'); // a restart is pending
    for (const w of forked) w.onKill = (s) => s === 'SIGTERM' && w.exit(0);
    const result = await p.stop('SIGTERM', 5000);
    assert.deepEqual(result, { clean: true, killed: 0 });
    assert.deepEqual(forked.map((w) => w.signals), [['SIGTERM'], ['SIGTERM'], []]);
    await clock.advance(60_000);
    assert.equal(generations(3), 1, 'no restart during or after the stop');
  });

  test('a worker still running at the deadline is killed, and the stop is not clean', async () => {
    const { p, clock, forked } = await started(2);
    forked[0]!.onKill = (s) => s === 'SIGTERM' && forked[0]!.exit(0);
    forked[1]!.onKill = (s) => s === 'SIGKILL' && forked[1]!.exit(null, 'SIGKILL');
    let result: unknown;
    const stopping = p.stop('SIGTERM', 5000).then((r) => (result = r));
    await clock.advance(4999);
    assert.equal(result, undefined, 'waits for the hung worker until the deadline');
    await clock.advance(1);
    await stopping;
    assert.deepEqual(result, { clean: false, killed: 1 });
    assert.deepEqual(forked[1]!.signals, ['SIGTERM', 'SIGKILL']);
  });

  test('a worker that exits by the forwarded signal (before its handler was installed) counts as clean', async () => {
    const { p, forked } = await started(1);
    forked[0]!.onKill = (s) => forked[0]!.exit(null, s);
    assert.deepEqual(await p.stop('SIGINT', 1000), { clean: true, killed: 0 });
  });

  test('a stop during the start ends the start', async () => {
    const { p, forked } = pool(2);
    const start = p.start();
    for (const w of forked) w.onKill = () => w.exit(0);
    const stop = p.stop('SIGTERM', 1000);
    await assert.rejects(start, /stopped by SIGTERM/);
    assert.equal((await stop).clean, true);
  });
});

test('worker node ids are <id>-w<i>, within the 64 characters of a node id', () => {
  assert.equal(workerNodeId('relay', 2), 'relay-w2');
  const long = 'x'.repeat(64);
  assert.equal(workerNodeId(long, 12).length, 64);
  assert.match(workerNodeId(long, 12), /x-w12$/);
});
