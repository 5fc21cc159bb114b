/**
 * The cluster pieces that need no NATS: the lease timing's inequalities, lease keys, the memory
 * coordinator, the link runner's fence, the supervisor following a lease (ManualClock, fake
 * connector, memory bus), and commands asked again while nobody serves them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { requestUntilServed } from '../../src/bus/request-until-served.ts';
import type { Coordinator, Lease, LeaseView } from '../../src/cluster/coordinator.ts';
import { MemoryCoordinator } from '../../src/cluster/memory.ts';
import { leaseTiming } from '../../src/cluster/nats-lease.ts';
import type { ProtocolAdapter } from '../../src/contracts.ts';
import type { BridgeCommand } from '../../src/events.ts';
import { createLog } from '../../src/log.ts';
import { Metrics } from '../../src/metrics.ts';
import { kvToken, Subjects } from '../../src/subjects.ts';
import { InterestTable } from '../../src/upstream/interest.ts';
import { Supervisor } from '../../src/upstream/supervisor.ts';
import { FakeConnector, SPEC, fakeRole } from '../helpers/fake-link.ts';

const log = createLog('silent');

describe('lease timing', () => {
  for (const ttl of [1000, 1500, 10_000, 60_000]) {
    test(`ttl ${ttl}: renew < fence < ttl, calls end before the next renewal, the worst-case socket end leaves a quarter of the ttl`, () => {
      const t = leaseTiming(ttl);
      assert.ok(t.callTimeoutMs < t.renewMs);
      assert.ok(t.renewMs < t.fenceMs && t.fenceMs < t.ttlMs);
      // Two renewals may fail before the fence: one lost call is not a lost lease.
      assert.ok(t.fenceMs >= 2 * t.renewMs);
      // Fence deadline + watchdog grace + one watchdog period, against the entry's earliest expiry.
      const latestSocketEnd = t.fenceMs + t.watchdogGraceMs + t.watchdogCheckMs;
      assert.ok(latestSocketEnd <= 0.75 * ttl, `${latestSocketEnd} ms leaves less than a quarter of ${ttl}`);
      // Spreading: the preferred node's create, jitter and all, comes before a deferred one's;
      // a node is gone only after missing several heartbeats; a link moves at most once per 2 T.
      assert.ok(t.deferMs > t.jitterMs);
      assert.ok(t.presenceBeatMs * 3 < t.presenceTtlMs);
      assert.equal(t.handOverAfterMs, 2 * ttl);
    });
  }
});

describe('lease keys', () => {
  test('KV-safe, one token per part, one-to-one', () => {
    const s = new Subjects('bridge');
    assert.equal(s.leaseKey('eu', 'server', '8a4b-11'), 'eu.server.8a4b-11');
    assert.equal(kvToken(''), '=');
    assert.equal(kvToken('a.b'), 'a=2Eb');
    assert.equal(kvToken('a=2Eb'), 'a=3D2Eb');
    assert.equal(kvToken('%*> /é'), '=25=2A=3E=20=2F=C3=A9');
    const ids = ['a.b', 'a=2Eb', 'a_b', 'A_B', '', '=', '%', 'x y', 'ünï'];
    const keys = ids.map((id) => s.leaseKey('u', 'room', id));
    assert.equal(new Set(keys).size, ids.length);
    for (const k of keys) {
      assert.match(k, /^[-/=.\w]+$/, 'valid NATS KV key');
      assert.equal(k.split('.').length, 3);
    }
  });
});

describe('memory coordinator', () => {
  test('every lease is owned by this node at once; release gives it up', async () => {
    const clock = new ManualClock();
    const c = new MemoryCoordinator('solo', clock);
    await c.start();
    const lease = c.lease('u.server.a');
    assert.equal(c.lease('u.server.a'), lease);
    assert.deepEqual([lease.ownership, lease.owner, lease.since], ['owned', 'solo', clock.now()]);
    const seen: LeaseView[] = [];
    lease.onChange((v) => seen.push(v));
    await c.stop();
    assert.deepEqual(seen, [{ ownership: 'unowned', owner: null, since: null }]);
    assert.equal(lease.ownership, 'unowned');
  });
});

/** A coordinator whose one lease the test moves by hand. */
function handCoordinator(): Coordinator & { set(view: LeaseView): void; released: number } {
  let view: LeaseView = { ownership: 'unowned', owner: null, since: null };
  const listeners: ((v: LeaseView) => void)[] = [];
  const state = { released: 0 };
  const lease: Lease = {
    get ownership() {
      return view.ownership;
    },
    get owner() {
      return view.owner;
    },
    get since() {
      return view.since;
    },
    onChange: (l) => listeners.push(l),
    release: async () => {
      state.released++;
    },
  };
  return {
    node: 'n1',
    start: async () => {},
    lease: () => lease,
    publishInterest: () => {},
    watchInterest: () => () => {},
    leave: async () => {},
    stop: async () => {},
    set(v) {
      view = v;
      for (const l of listeners) l(v);
    },
    get released() {
      return state.released;
    },
  };
}

describe('supervisor on a lease', () => {
  function rig() {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    const subjects = new Subjects('t');
    const connector = new FakeConnector();
    const fake = fakeRole({ readyOnOpen: true });
    const coordinator = handCoordinator();
    const metrics = new Metrics({ defaultMetrics: false });
    const supervisor = new Supervisor({
      node: 'n1',
      bus,
      subjects,
      metrics,
      clock,
      log,
      limits: { backoffInitialMs: 100, backoffMaxMs: 1000, backoffMultiplier: 2, backoffResetMs: 0, connectTimeoutMs: 1000, maxPayloadBytes: 65536 } as never,
      http: async () => ({ status: 200, headers: {}, json: undefined, text: '' }),
      interest: new InterestTable(),
      coordinator,
      connector,
      random: () => 0.5,
    });
    supervisor.add({ name: 'up', protocol: 'fake' }, { protocol: 'fake', createUpstream: () => fake.role } as unknown as ProtocolAdapter);
    const published: unknown[] = [];
    bus.subscribe(subjects.allEvents(), (e) => e.type === 'upstream.state' && published.push(e.data));
    const cmd: BridgeCommand = { type: 'server.command', upstream: 'up', resource: SPEC.resource, id: SPEC.id, data: { line: 'x' } };
    const ask = () => bus.request(subjects.command('up', SPEC.resource, SPEC.id), cmd, 1000);
    return { clock, bus, connector, fake, coordinator, supervisor, metrics, published, ask };
  }

  test('the link waits for its lease, runs while owned, and is fenced (terminated, not retried, not serving) when the lease is lost', async () => {
    const r = rig();
    r.supervisor.start();
    await r.clock.advance(0);
    assert.equal(r.connector.sockets.length, 0, 'no socket without the lease');
    assert.equal(r.supervisor.status().up![0]!.state, 'unowned');
    assert.equal((await r.ask()).ok, false, 'nobody serves its commands');

    r.coordinator.set({ ownership: 'owned', owner: 'n1', since: 5 });
    await r.clock.advance(0);
    const socket = r.connector.last;
    socket.accept();
    assert.equal(r.supervisor.link('up', SPEC.resource, SPEC.id)!.state, 'ready');
    assert.deepEqual((await r.ask()), { ok: true });
    assert.deepEqual(r.supervisor.status().up![0], { resource: 'server', id: 's1', state: 'ready', reason: 'authenticated', ownership: 'owned', owner: 'n1', since: 5 });
    assert.deepEqual(r.published.at(-1), { state: 'ready', reason: 'authenticated', resource: 'server', id: 's1', owner: 'n1' });

    const published = r.published.length;
    r.coordinator.set({ ownership: 'standby', owner: 'n2', since: 9 });
    assert.equal(socket.terminated, true, 'terminated in the same turn');
    assert.equal(socket.closedWith, null, 'no close handshake');
    assert.equal(r.supervisor.link('up', SPEC.resource, SPEC.id)!.state, 'standby');
    assert.ok(r.fake.calls.includes('close:1006 lease lost'), 'the adapter heard the socket end');
    await r.clock.advance(60_000);
    assert.equal(r.connector.sockets.length, 1, 'never retried');
    assert.equal(r.published.length, published, 'a standby does not speak for the link');
    const reply = await r.ask();
    assert.equal(reply.ok, false);
    assert.match((reply as { message: string }).message, /^no responder/);
    assert.deepEqual(r.supervisor.status().up![0], { resource: 'server', id: 's1', state: 'standby', reason: 'owned by n2', ownership: 'standby', owner: 'n2', since: 9 });
    const metrics = await r.metrics.registry.metrics();
    assert.match(metrics, /bridge_upstream_links\{protocol="fake",upstream="up",state="standby"\} 1/);
    assert.match(metrics, /bridge_upstream_links\{protocol="fake",upstream="up",state="ready"\} 0/);

    r.coordinator.set({ ownership: 'owned', owner: 'n1', since: 20 });
    await r.clock.advance(0);
    assert.equal(r.connector.sockets.length, 2, 'taken up again on a new grant');
  });

  test('stop closes the link first and releases the lease after', async () => {
    const r = rig();
    r.supervisor.start();
    r.coordinator.set({ ownership: 'owned', owner: 'n1', since: 1 });
    await r.clock.advance(0);
    r.connector.last.accept();
    const stopped = r.supervisor.stop();
    await r.clock.advance(0);
    assert.equal(r.coordinator.released, 0, 'not while the socket is open');
    r.connector.last.peerClose(1001);
    await stopped;
    assert.equal(r.coordinator.released, 1);
  });
});

describe('supervisor on a lease: a loss during the drain', () => {
  test('a lease lost while the link is in its close handshake terminates the socket at once', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    const connector = new FakeConnector();
    const fake = fakeRole({ readyOnOpen: true });
    const coordinator = handCoordinator();
    const supervisor = new Supervisor({
      node: 'n1', bus, subjects: new Subjects('t'), metrics: new Metrics({ defaultMetrics: false }), clock, log,
      limits: { backoffInitialMs: 100, backoffMaxMs: 1000, backoffMultiplier: 2, backoffResetMs: 0, connectTimeoutMs: 1000, maxPayloadBytes: 65536 } as never,
      http: async () => ({ status: 200, headers: {}, json: undefined, text: '' }),
      interest: new InterestTable(), coordinator, connector,
    });
    supervisor.add({ name: 'up', protocol: 'fake' }, { protocol: 'fake', createUpstream: () => fake.role } as unknown as ProtocolAdapter);
    supervisor.start();
    coordinator.set({ ownership: 'owned', owner: 'n1', since: 1 });
    await clock.advance(0);
    const socket = connector.last;
    socket.accept();
    let stopped = false;
    void supervisor.stop().then(() => (stopped = true));
    await clock.advance(0);
    assert.deepEqual(socket.closedWith, { code: 1001, reason: 'relay shutting down' });
    assert.equal(socket.terminated, false, 'a polite close first');
    coordinator.set({ ownership: 'unowned', owner: null, since: null });
    assert.equal(socket.terminated, true, 'terminated in the turn the lease was lost');
    await clock.advance(0);
    assert.equal(stopped, true, 'the stop did not wait out its grace');
  });
});

describe('commands between owners', () => {
  const cmd = { type: 'server.command', upstream: 'u', resource: 'server', id: 'x', data: {} } as BridgeCommand;

  test('asked again until someone serves the subject', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    let answer: unknown;
    void requestUntilServed(bus, 't.cmd.u.server.x', cmd, 2000, clock).then((r) => (answer = r));
    await clock.advance(500);
    assert.equal(answer, undefined, 'still asking');
    bus.serve('t.cmd.u.server.x', async () => ({ ok: true, data: 'served' }));
    await clock.advance(300);
    assert.deepEqual(answer, { ok: true, data: 'served' });
  });

  test('nobody within the timeout: UPSTREAM_UNAVAILABLE once the timeout has passed', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    const started = clock.now();
    const got: { code?: string; at?: number } = {};
    void requestUntilServed(bus, 't.cmd.u.server.x', cmd, 2000, clock).then((r) => {
      got.code = r.ok ? 'ok' : r.code;
      got.at = clock.now();
    });
    await clock.advance(1999);
    assert.equal(got.code, undefined);
    await clock.advance(10);
    assert.equal(got.code, 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE');
    assert.equal(got.at! - started, 2000);
  });

  test('an owner that does not answer in time: COMMAND_TIMEOUT for the whole wait', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    let reply: unknown;
    void requestUntilServed(bus, 't.cmd.u.server.x', cmd, 2000, clock).then((r) => (reply = r));
    await clock.advance(700);
    bus.serve('t.cmd.u.server.x', () => new Promise(() => {}));
    await clock.advance(2000);
    assert.deepEqual(reply, { ok: false, code: 'BRIDGE_ERR_COMMAND_TIMEOUT', message: 'no reply within 2000 ms' });
  });

  test('an answer, even a refusal, is not asked again', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    let calls = 0;
    bus.serve('t.cmd.u.server.x', async () => {
      calls++;
      return { ok: false, code: 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE', message: 'upstream link is backoff' };
    });
    const reply = await requestUntilServed(bus, 't.cmd.u.server.x', cmd, 2000, clock);
    assert.deepEqual([reply.ok, calls], [false, 1]);
  });
});
