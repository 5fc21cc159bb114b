/**
 * The session's own duties without a socket: a fake host connection, a ManualClock, the real
 * Session, SessionShared, DeadlineQueue and rate budgets. Frame order and bounds, the auth
 * deadline, the keep-alive, per-socket auth failures, command and history budgets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, settle } from '../../src/clock.ts';
import type { Log, SessionHooks } from '../../src/contracts.ts';
import { DeadlineQueue } from '../../src/downstream/deadlines.ts';
import { Hub } from '../../src/downstream/hub.ts';
import { Session } from '../../src/downstream/session.ts';
import { SessionShared, type SessionLimits } from '../../src/downstream/session-shared.ts';
import type { HostConnection } from '../../src/downstream/web-host.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { Metrics } from '../../src/metrics.ts';
import { spend } from '../../src/rate-limit.ts';
import { InterestTable } from '../../src/upstream/interest.ts';
import type { BridgeCommand } from '../../src/events.ts';

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
const LIMITS: SessionLimits = {
  inboundRate: { burst: 5, refillMs: 100 },
  inboundQueueFrames: 2,
  commandRate: { burst: 2, refillMs: 1000 },
  historyRate: { burst: 1, refillMs: 1000 },
  interestRate: { burst: 1, refillMs: 1000 },
  authFailuresPerSocket: 3,
};

class FakeConn {
  closes: { code: number; reason: string }[] = [];
  pings = 0;
  terminated = 0;
  readonly remoteAddress = '192.0.2.7';
  readonly bufferedAmount = 0;
  send(): void {}
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  terminate(): void {
    this.terminated += 1;
  }
  ping(): void {
    this.pings += 1;
  }
  get raw(): never {
    throw new Error('unused');
  }
  get netSocket(): never {
    throw new Error('unused');
  }
}

function setup(o: { authDeadlineMs?: number; pingIntervalMs?: number } = {}) {
  const clock = new ManualClock();
  const metrics = new Metrics({ defaultMetrics: false });
  const requests: BridgeCommand[] = [];
  let reads = 0;
  const failures: string[] = [];
  const logged: string[] = [];
  const log: Log = { ...silent, error: (msg, fields) => void logged.push(JSON.stringify({ msg, ...fields })) };
  const shared = new SessionShared({
    dialect: 'test',
    encode: () => null,
    writeQueueBytes: 1 << 20,
    hub: new Hub(new MemoryBus(), metrics),
    metrics,
    interest: new InterestTable(),
    log,
    sessions: new Set(),
    clock,
    limits: LIMITS,
    backend: {
      request: async (c) => (requests.push(c), { ok: true }),
      history: async () => (reads++, []),
      last: async () => undefined,
    },
    authDeadlineMs: o.authDeadlineMs ?? 1000,
    pingIntervalMs: o.pingIntervalMs ?? 5000,
    admission: { admit: () => null, released() {}, blocked: () => false, authFailed: (a) => void failures.push(a) },
  });
  const conn = new FakeConn();
  const session = new Session(conn as unknown as HostConnection, shared);
  const count = async (name: keyof Metrics, labels: Record<string, string>) => {
    const m = await (metrics[name] as { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }).get();
    return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((n, v) => n + v.value, 0);
  };
  return { clock, shared, conn, session, requests, reads: () => reads, failures, logged, count };
}

/** Hooks that record frames; a frame named `slow` holds the next until `release()`. */
function hooks() {
  const seen: string[] = [];
  let release = () => {};
  const h: SessionHooks & { seen: string[]; release(): void } = {
    variant: '',
    seen,
    release: () => release(),
    onMessage(text) {
      seen.push(text);
      if (text === 'throw') throw new Error('a secret token in the message');
      if (text === 'slow') return new Promise<void>((r) => (release = r));
    },
    onEvent() {},
    onClose() {},
  };
  return h;
}

describe('rate budgets and deadline queues', () => {
  test('spend: burst at once, then one per refill; state is one number', () => {
    const spec = { burst: 3, refillMs: 100 };
    let tat = 0;
    let passed = 0;
    for (let i = 0; i < 10; i++) {
      const next = spend(tat, 1000, spec);
      if (next >= 0) (tat = next), passed++;
    }
    assert.equal(passed, 3);
    assert.equal(spend(tat, 1099, spec), -1);
    assert.ok(spend(tat, 1100, spec) >= 0, 'one more after a refill period');
  });

  test('DeadlineQueue: exact deadlines on one timer, rescheduling moves to the back, an empty queue holds no timer', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const q = new DeadlineQueue<string>(clock, 100, (item) => fired.push(`${item}@${clock.now() % 1000}`));
    q.schedule('a');
    await clock.advance(10);
    q.schedule('b');
    await clock.advance(10);
    q.schedule('a'); // now due at 120, after b
    assert.equal(clock.pending, 1, 'one timer for the queue');
    await clock.advance(89);
    assert.deepEqual(fired, []);
    await clock.advance(1);
    assert.deepEqual(fired, ['b@110']);
    q.cancel('a');
    assert.equal(clock.pending, 0);
    await clock.advance(1000);
    assert.deepEqual(fired, ['b@110']);
  });
});

describe('session', () => {
  test('frames are handed over in order, one at a time; past the queue the socket is closed 4109 and the rest discarded', async () => {
    const { session, conn, count } = setup();
    const h = hooks();
    session.attach(h);
    for (const f of ['slow', 'a', 'b']) session.onMessage(f);
    assert.deepEqual(h.seen, ['slow'], 'the others wait');
    session.onMessage('c'); // a third one waiting: over inboundQueueFrames (2)
    assert.deepEqual(conn.closes, [{ code: 4109, reason: 'too many frames: more than 2 frames waiting' }]);
    h.release();
    await settle();
    assert.deepEqual(h.seen, ['slow'], 'nothing is handed over after the close');
    assert.equal(await count('limitHits', { limit: 'inboundQueueFrames' }), 1);
  });

  test('inbound rate: past the burst frames are dropped and counted; a handler error is counted without its message', async () => {
    const { session, clock, count, logged } = setup();
    const h = hooks();
    session.attach(h);
    for (let i = 0; i < 8; i++) session.onMessage(i === 0 ? 'throw' : `f${i}`);
    assert.deepEqual(h.seen, ['throw', 'f1', 'f2', 'f3', 'f4']);
    assert.equal(await count('limitHits', { limit: 'inboundRate' }), 3);
    assert.equal(await count('eventsDropped', { reason: 'throttled' }), 3);
    assert.equal(await count('handlerErrors', { where: 'frame' }), 1);
    assert.equal(logged.length, 1);
    assert.ok(!logged[0]!.includes('secret'), `logged without the message: ${logged[0]}`);
    await clock.advance(100);
    session.onMessage('later');
    assert.equal(h.seen.at(-1), 'later', 'refilled on the clock');
  });

  test('a session that spent budgets is looked at again until they are full, then holds nothing', async () => {
    const { session, shared, clock } = setup();
    session.attach(hooks());
    session.onMessage('a');
    assert.equal(shared.rest.size, 1);
    const cmd = { type: 'server.command', upstream: 'u', resource: 'server', id: 'x', data: {} } as BridgeCommand;
    await session.request(cmd);
    await session.request(cmd); // the command budget (2 per 1 s each) is now empty for 2 s
    await clock.advance(1000);
    assert.equal(shared.rest.size, 1, 'not at rest yet: looked at again');
    await clock.advance(1000);
    assert.equal(shared.rest.size, 0, 'at rest: off the queue');
    assert.equal(clock.pending, 0, 'and no timer left for it');
  });

  test('the auth deadline closes 4103 unless authenticated() came first', async () => {
    const a = setup();
    a.session.attach(hooks());
    a.session.enrol(false);
    await a.clock.advance(999);
    assert.equal(a.conn.closes.length, 0);
    await a.clock.advance(1);
    assert.equal(a.conn.closes[0]!.code, 4103);
    assert.equal(await a.count('authFailures', { reason: 'auth_timeout' }), 1);

    const b = setup();
    b.session.attach(hooks());
    b.session.enrol(false);
    b.session.authenticated();
    await b.clock.advance(5000);
    assert.equal(b.conn.closes.length, 0);
  });

  test('keep-alive: ping each interval, terminate one that did not pong', async () => {
    const { session, conn, clock, count } = setup({ pingIntervalMs: 5000 });
    session.attach(hooks());
    session.enrol(true);
    await clock.advance(5000);
    assert.equal(conn.pings, 1);
    session.onPong();
    await clock.advance(5000);
    assert.equal(conn.pings, 2);
    assert.equal(conn.terminated, 0);
    await clock.advance(5000);
    assert.equal(conn.terminated, 1);
    assert.equal(await count('heartbeatTimeouts', { dialect: 'test' }), 1);
    assert.equal(clock.pending, 0, 'a terminated session leaves no timer');
  });

  test('authFailed: counted, reported to admission, and the socket closed 4115 at the per-socket limit', async () => {
    const { session, conn, failures, count } = setup();
    session.attach(hooks());
    session.authFailed('signature');
    session.authFailed('signature');
    assert.equal(conn.closes.length, 0);
    session.authFailed('expired');
    assert.equal(conn.closes[0]!.code, 4115);
    assert.deepEqual(failures, ['192.0.2.7', '192.0.2.7', '192.0.2.7']);
    assert.equal(await count('authFailures', { dialect: 'test' }), 3);
  });

  test('commands and history reads within their budgets; nothing reaches the bus past them or after the close', async () => {
    const { session, requests, reads, count } = setup();
    session.attach(hooks());
    const cmd = { type: 'server.command', upstream: 'u', resource: 'server', id: 'x', data: { line: 'hi' } } as BridgeCommand;
    const replies = await Promise.all([1, 2, 3].map(() => session.request(cmd)));
    assert.deepEqual(replies.map((r) => r.ok || r.code), [true, true, 'BRIDGE_ERR_RATE_LIMITED']);
    assert.equal(requests.length, 2);
    assert.equal(await count('commands', { result: 'throttled' }), 1);
    assert.deepEqual(await session.history('s', 10), []);
    assert.equal(await session.history('s', 10), null);
    assert.equal(reads(), 1);
    session.close('BRIDGE_ERR_NORMAL');
    await session.request(cmd);
    assert.equal(requests.length, 2);
    assert.equal(session.declareInterest([{ upstream: 'u', resource: 'user', ids: ['a'] }]), false);
  });
});
