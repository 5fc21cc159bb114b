/**
 * The link runner's state machine with a fake connector and a ManualClock: no socket, no sleep.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { LinkFailure } from '../../src/contracts.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { createLog } from '../../src/log.ts';
import { Metrics } from '../../src/metrics.ts';
import { Subjects } from '../../src/subjects.ts';
import { CLOSE_GRACE_MS, LinkRunner, STOP_GRACE_MS } from '../../src/upstream/link-runner.ts';
import { FakeConnector, SPEC, fakeRole, type FakeRole, type FakeRoleOptions } from '../helpers/fake-link.ts';

interface Rig {
  runner: LinkRunner;
  clock: ManualClock;
  connector: FakeConnector;
  fake: FakeRole;
  metrics: Metrics;
  /** `state` of every published upstream.state event, in order. */
  published: string[];
}

function rig(o: FakeRoleOptions & { random?: () => number; backoffResetMs?: number } = {}): Rig {
  const clock = new ManualClock();
  const connector = new FakeConnector();
  const fake = fakeRole(o);
  const metrics = new Metrics({ defaultMetrics: false });
  const bus = new MemoryBus();
  const subjects = new Subjects('t');
  const published: string[] = [];
  bus.subscribe(subjects.allEvents(), (e) => {
    if (e.type === 'upstream.state') published.push((e.data as { state: string }).state);
  });
  const runner = new LinkRunner({
    upstream: 'up',
    protocol: 'fake',
    node: 'n1',
    spec: SPEC,
    role: fake.role,
    bus,
    subjects,
    metrics,
    clock,
    log: createLog('silent'),
    http: async () => ({ status: 200, headers: {}, json: undefined, text: '' }),
    interest: () => new Map(),
    backoff: { initialMs: 100, maxMs: 1000, multiplier: 2 },
    backoffResetMs: o.backoffResetMs ?? 5000,
    // Just below 1: every delay is (nearly) its ceiling, so growth is visible in the numbers.
    random: o.random ?? (() => 0.999),
    connectTimeoutMs: 1234,
    maxPayloadBytes: 4321,
    connector,
  });
  return { runner, clock, connector, fake, metrics, published };
}

const retryIn = (r: LinkRunner): number => Number(/retry in (\d+) ms/.exec(r.reason)?.[1]);

/** Starts the runner and lets `prepare` resolve, so the first socket exists. */
async function started(r: Rig): Promise<void> {
  r.runner.start();
  await r.clock.advance(0);
}

describe('link runner: states', () => {
  test('idle → connecting → authenticating → ready, each published as upstream.state', async () => {
    const r = rig();
    assert.equal(r.runner.state, 'idle');
    await started(r);
    assert.equal(r.runner.state, 'connecting');
    const s = r.connector.last;
    assert.deepEqual(s.target, { url: 'ws://upstream.invalid/ws', headers: { authorization: 'k' } });
    assert.deepEqual(s.options, { handshakeTimeoutMs: 1234, maxPayloadBytes: 4321 });
    s.accept();
    assert.equal(r.runner.state, 'authenticating');
    r.fake.io().ready();
    assert.equal(r.runner.state, 'ready');
    assert.deepEqual(r.published, ['connecting', 'authenticating', 'ready']);
    assert.deepEqual(r.fake.calls, ['prepare', 'open']);
  });

  test('a peer close asks onClose, backs off, and the retry opens a new socket', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    r.connector.last.accept();
    r.connector.last.peerClose(1011, 'boom');
    assert.equal(r.runner.state, 'backoff');
    assert.match(r.runner.reason, /^closed 1011; retry in \d+ ms$/);
    assert.equal(r.fake.calls.at(-1), 'close:1011 boom');
    await r.clock.advance(retryIn(r.runner));
    assert.equal(r.connector.sockets.length, 2);
    assert.equal(r.runner.state, 'connecting');
    assert.match(r.runner.reason, /attempt 2/);
  });

  test('a refused upgrade reaches onClose with its HTTP status', async () => {
    const r = rig();
    await started(r);
    r.connector.last.refuse(403);
    assert.equal(r.fake.calls.at(-1), 'close:1006 upgrade refused with HTTP 403 403');
    assert.equal(r.runner.state, 'backoff');
  });

  test('a terminal verdict ends in `failed` and nothing is retried', async () => {
    const r = rig({ verdict: (info) => ({ terminal: info.code === 4409, reason: 'suspended' }) });
    await started(r);
    r.connector.last.accept();
    r.connector.last.peerClose(4409, 'suspended');
    assert.equal(r.runner.state, 'failed');
    assert.equal(r.runner.reason, 'suspended');
    await r.clock.advance(60_000);
    assert.equal(r.connector.sockets.length, 1);
  });

  test('prepare failures: terminal → failed, otherwise backoff, without opening a socket', async () => {
    const terminal = rig({ prepare: () => Promise.reject(new LinkFailure('bad config', true)) });
    await started(terminal);
    assert.equal(terminal.runner.state, 'failed');
    assert.equal(terminal.runner.reason, 'bad config');
    const transient = rig({ prepare: () => Promise.reject(new Error('ECONNREFUSED')) });
    await started(transient);
    assert.equal(transient.runner.state, 'backoff');
    assert.match(transient.runner.reason, /^prepare failed: ECONNREFUSED; retry in/);
    assert.equal(terminal.connector.sockets.length + transient.connector.sockets.length, 0);
  });

  test('send reaches only an open socket; ready without one is ignored', async () => {
    const r = rig();
    await started(r);
    r.fake.io().send('early');
    r.fake.io().ready();
    assert.equal(r.runner.state, 'connecting');
    r.connector.last.accept();
    r.fake.io().send('hello');
    assert.deepEqual(r.connector.last.sent, ['hello']);
  });

  test('a hook that throws is contained and counted; the link goes on', async () => {
    const r = rig({
      readyOnOpen: true,
      onMessage: () => {
        throw new Error('adapter bug');
      },
    });
    await started(r);
    r.connector.last.accept();
    r.connector.last.deliver('x');
    assert.equal(r.runner.state, 'ready');
    const text = await r.metrics.registry.metrics();
    assert.match(text, /bridge_handler_errors_total\{where="link"\} 1/);
  });
});

describe('link runner: backoff', () => {
  test('delays grow per failed attempt and are capped', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      r.connector.last.accept();
      r.connector.last.peerClose(1000);
      delays.push(retryIn(r.runner));
      await r.clock.advance(delays.at(-1)!);
    }
    assert.deepEqual(delays, [99, 199, 399, 799, 999, 999]);
  });

  test('ready resets the backoff only after the link stayed ready for backoffResetMs', async () => {
    const r = rig({ readyOnOpen: true, backoffResetMs: 5000 });
    await started(r);
    r.connector.last.accept();
    await r.clock.advance(4999);
    r.connector.last.peerClose(1000);
    assert.equal(retryIn(r.runner), 99);
    await r.clock.advance(99);
    r.connector.last.accept();
    await r.clock.advance(4999);
    r.connector.last.peerClose(1000);
    assert.equal(retryIn(r.runner), 199, 'ready for less than backoffResetMs: the delay keeps growing');
    await r.clock.advance(199);
    r.connector.last.accept();
    await r.clock.advance(5000);
    assert.equal(r.runner.attempts, 0, 'ready for backoffResetMs: the backoff starts over');
    r.connector.last.peerClose(1000);
    assert.equal(retryIn(r.runner), 99);
  });

  test('backoffResetMs 0 resets on ready itself', async () => {
    const r = rig({ readyOnOpen: true, backoffResetMs: 0 });
    await started(r);
    for (let i = 0; i < 3; i++) {
      r.connector.last.accept();
      r.connector.last.peerClose(1000);
      assert.equal(retryIn(r.runner), 99);
      await r.clock.advance(99);
    }
  });
});

describe('link runner: closes the adapter asks for', () => {
  test('io.close leaves ready at once, asks onClose with the row, and terminates after the grace', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    const s = r.connector.last;
    s.accept();
    r.fake.io().close('BRIDGE_ERR_UPSTREAM_TIMEOUT', 'no ack');
    await r.clock.advance(0);
    assert.equal(r.runner.state, 'backoff');
    assert.deepEqual(s.closedWith, { code: 4106, reason: 'upstream did not answer in time: no ack' });
    assert.equal(r.fake.calls.at(-1), 'close:4106 upstream did not answer in time: no ack');
    assert.deepEqual(r.published.slice(-2), ['ready', 'backoff']);
    assert.equal(s.terminated, false, 'the peer gets a moment to answer the close frame');
    await r.clock.advance(CLOSE_GRACE_MS);
    assert.equal(s.terminated, true);
  });

  test('onClose runs after the adapter handler that called io.close has returned', async () => {
    const order: string[] = [];
    const r = rig({
      onMessage: (text, io) => {
        io.close('BRIDGE_ERR_UPSTREAM_AUTH', 'refused');
        order.push(`after close (${text})`);
      },
      verdict: () => {
        order.push('onClose');
        return { terminal: false, reason: 'refused' };
      },
    });
    await started(r);
    r.connector.last.accept();
    r.connector.last.deliver('nope');
    await r.clock.advance(0);
    assert.deepEqual(order, ['after close (nope)', 'onClose']);
  });

  test('callbacks of a socket given up on are ignored, and a second close is a no-op', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    const s = r.connector.last;
    s.accept();
    r.fake.io().close('BRIDGE_ERR_HEARTBEAT_TIMEOUT');
    r.fake.io().close('BRIDGE_ERR_UPSTREAM_AUTH');
    await r.clock.advance(0);
    const calls = r.fake.calls.length;
    s.deliver('late frame');
    s.peerClose(1000, 'late close');
    assert.equal(r.fake.calls.length, calls, 'no hook heard of the old socket');
    assert.equal(r.fake.calls.filter((c) => c.startsWith('close:')).length, 1);
    assert.equal(s.closedWith?.code, 4101);
    assert.equal(r.runner.state, 'backoff');
  });

  test('an old socket that closes after the next attempt started cannot touch the new one', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    const first = r.connector.last;
    first.accept();
    r.fake.io().close('BRIDGE_ERR_HEARTBEAT_TIMEOUT');
    await r.clock.advance(0);
    await r.clock.advance(retryIn(r.runner));
    const second = r.connector.last;
    assert.notEqual(first, second);
    second.accept();
    assert.equal(r.runner.state, 'ready');
    first.peerClose(1000);
    assert.equal(r.runner.state, 'ready', 'the abandoned socket closing does not end the new link');
    second.deliver('x');
    assert.equal(r.fake.calls.at(-1), 'message:x');
  });
});

describe('link runner: stop', () => {
  test('closes with 1001, resolves when the peer answers, and never retries', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    const s = r.connector.last;
    s.accept();
    const stopped = r.runner.stop();
    assert.deepEqual(s.closedWith, { code: 1001, reason: 'relay shutting down' });
    s.peerClose(1001);
    await stopped;
    assert.equal(r.runner.state, 'closed');
    assert.ok(r.fake.calls.includes('dispose'));
    assert.ok(!r.fake.calls.some((c) => c.startsWith('close:')), 'a stop is not a failure to retry');
    await r.clock.advance(60_000);
    assert.equal(r.connector.sockets.length, 1);
  });

  test('a peer that never answers is terminated after the stop grace on the clock', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    const s = r.connector.last;
    s.accept();
    let done = false;
    const stopped = r.runner.stop().then(() => (done = true));
    await r.clock.advance(STOP_GRACE_MS - 1);
    assert.equal(done, false);
    await r.clock.advance(1);
    await stopped;
    assert.equal(s.terminated, true);
  });

  test('stop during backoff cancels the retry', async () => {
    const r = rig({ readyOnOpen: true });
    await started(r);
    r.connector.last.accept();
    r.connector.last.peerClose(1000);
    await r.runner.stop();
    await r.clock.advance(60_000);
    assert.equal(r.connector.sockets.length, 1);
    assert.equal(r.runner.state, 'closed');
  });
});
