/**
 * Issue 15: a lone event is written through (each session writes as the hub hands it over), a
 * burst is coalesced (each session writes its turn's frames once, at the end of the turn), and
 * each event this node received is timed from the frame's receipt to its last socket write.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, test } from 'node:test';
import type { Socket } from 'node:net';
import { beginFanout, endFanout, QUIET_MS, scheduleFlush, textFrame, writeBatch, type Flushable } from '../../src/downstream/write-path.ts';
import { FANOUT_CHANNEL, FanoutTiming, type FanoutRecord } from '../../src/fanout-timing.ts';
import { Hub, type HubMember } from '../../src/downstream/hub.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { Metrics } from '../../src/metrics.ts';
import { makeEvent } from '../../src/events.ts';
import { ManualClock } from '../../src/clock.ts';
import { Session, SessionShared } from '../../src/downstream/session.ts';
import type { WebSocket } from 'ws';
import { WsConnection } from '../../src/downstream/hosted-socket.ts';
import { InterestTable } from '../../src/upstream/interest.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const quiet = () => new Promise<void>((resolve) => setTimeout(resolve, QUIET_MS * 5));

/** A flushable that counts its flushes; `frame()` is what Session.send does with a frame. */
function session(): Flushable & { flushes: number; frame(): void } {
  return {
    flushQueued: false,
    flushes: 0,
    flush() {
      this.flushQueued = false;
      this.flushes += 1;
    },
    frame() {
      scheduleFlush(this);
    },
  };
}

/** Runs `fn` in a microtask queued from inside `f`'s next flush, i.e. right after that flush pass. */
function queueMicrotaskAfterPass(f: Flushable, fn: () => void): void {
  const flush = f.flush.bind(f);
  f.flush = () => {
    flush();
    queueMicrotask(fn);
  };
}

function timing(): { timing: FanoutTiming; observed: number[] } {
  const observed: number[] = [];
  return { timing: new FanoutTiming((s) => observed.push(s)), observed };
}

describe('write-through fan-out', () => {
  test('after a quiet spell, each session writes its frame as it is handed over', async () => {
    await quiet();
    const sessions = [session(), session(), session()];
    const { timing: t } = timing();
    beginFanout(t, null);
    for (const [i, s] of sessions.entries()) {
      s.frame();
      assert.equal(s.flushes, 1, `session ${i} wrote before the next one was handed the event`);
      assert.equal(s.flushQueued, false);
    }
    endFanout();
    await nextTurn();
    assert.deepEqual(sessions.map((s) => s.flushes), [1, 1, 1], 'and nothing more at the end of the turn');
  });

  test('events back to back are coalesced: one write per session at the end of the turn', async () => {
    await quiet();
    const sessions = [session(), session()];
    const { timing: t } = timing();
    for (let event = 0; event < 5; event++) {
      beginFanout(t, null);
      for (const s of sessions) s.frame();
      endFanout();
    }
    // The first event came after a quiet spell and went out at once; the four behind it wait.
    assert.deepEqual(sessions.map((s) => s.flushes), [1, 1]);
    await nextTurn();
    assert.deepEqual(sessions.map((s) => s.flushes), [2, 2], 'the other four events: one write per session');
  });

  test('a session with frames already queued this turn makes the fan-out wait for the turn', async () => {
    await quiet();
    const busy = session();
    busy.frame(); // queued outside any fan-out: written at the end of the turn
    const other = session();
    const { timing: t } = timing();
    beginFanout(t, null);
    other.frame();
    busy.frame();
    endFanout();
    assert.equal(other.flushes, 0, 'not written through while something waits for the turn');
    await nextTurn();
    assert.equal(other.flushes, 1);
    assert.equal(busy.flushes, 1, 'its two frames went in one write');
  });

  test('an event right after a long flush pass is coalesced: the writes were work too', async () => {
    await quiet();
    const slow = session();
    slow.flush = function () {
      this.flushQueued = false;
      this.flushes += 1;
      const until = performance.now() + QUIET_MS * 3;
      while (performance.now() < until); // a pass of many writes
    };
    const s = session();
    const { timing: t } = timing();
    let during = -1;
    slow.frame();
    // Right after the pass (a microtask queued in it runs once the pass is over), the next event.
    queueMicrotaskAfterPass(slow, () => {
      beginFanout(t, null);
      s.frame();
      endFanout();
      during = s.flushes;
    });
    await nextTurn();
    assert.equal(during, 0, 'queued for the end of the turn');
    await nextTurn();
    assert.equal(s.flushes, 1);
  });

  test('outside a fan-out, frames always wait for the end of the turn', async () => {
    await quiet();
    const s = session();
    s.frame();
    assert.equal(s.flushes, 0);
    await nextTurn();
    assert.equal(s.flushes, 1);
  });
});

describe('batches', () => {
  test('sessions with the same frames in a turn write one shared buffer; other frames get their own', async () => {
    const written: Buffer[] = [];
    const socket = { write: (b: Buffer) => void written.push(b) } as unknown as Socket;
    const [a, b, c] = ['a', 'b', 'c'].map((x) => textFrame(Buffer.from(x)));
    const bytes = (l: Buffer[]) => l.reduce((n, f) => n + f.length, 0);
    writeBatch(socket, [a!, b!], bytes([a!, b!]));
    writeBatch(socket, [a!, b!], bytes([a!, b!]));
    writeBatch(socket, [a!, c!], bytes([a!, c!]));
    writeBatch(socket, [a!, b!, c!], bytes([a!, b!, c!]));
    assert.equal(written[1], written[0], 'the same frames: the same buffer');
    assert.notEqual(written[2], written[0]);
    assert.deepEqual(written.map((w) => w.toString()), [Buffer.concat([a!, b!]), Buffer.concat([a!, b!]), Buffer.concat([a!, c!]), Buffer.concat([a!, b!, c!])].map(String));
    // A flush pass ends the turn: nothing of it is kept.
    scheduleFlush(session());
    await nextTurn();
    writeBatch(socket, [a!, b!, c!], bytes([a!, b!, c!]));
    assert.notEqual(written[4], written[3], 'built again in a new turn');
  });
});

describe('fan-out timing', () => {
  test('a written-through event is timed from receipt to its last write, once', async () => {
    await quiet();
    const { timing: t, observed } = timing();
    const records: FanoutRecord[] = [];
    const listener = (r: unknown) => records.push(r as FanoutRecord);
    subscribe(FANOUT_CHANNEL, listener);
    try {
      const received = performance.now();
      t.note('e1', received, received);
      const r = t.take('e1');
      assert.ok(r);
      assert.equal(t.take('e1'), null, 'taken once (a second pattern of the same event is not timed again)');
      beginFanout(t, r);
      session().frame();
      endFanout();
      assert.equal(observed.length, 1);
      assert.ok(r.firstWrite >= r.delivered && r.lastWrite >= r.firstWrite && r.delivered >= r.published && r.published >= r.received);
      assert.equal(observed[0], (r.lastWrite - r.received) / 1000);
      assert.deepEqual(records, [r], 'published whole on the diagnostics channel');
    } finally {
      unsubscribe(FANOUT_CHANNEL, listener);
    }
  });

  test('a coalesced event is timed at the end of the flush pass that wrote it', async () => {
    const { timing: t, observed } = timing();
    const first = performance.now();
    t.note('a', first, first);
    t.note('b', first, first);
    const s = session();
    await quiet();
    beginFanout(t, t.take('a'));
    s.frame();
    endFanout();
    assert.equal(observed.length, 1, 'the first went through');
    const b = t.take('b')!;
    beginFanout(t, b);
    s.frame();
    endFanout();
    assert.equal(observed.length, 1, 'the second waits for its write');
    assert.equal(b.lastWrite, 0);
    await nextTurn();
    assert.equal(observed.length, 2);
    assert.equal(s.flushes, 2);
    assert.ok(b.lastWrite >= b.firstWrite && b.firstWrite > 0);
  });

  test('notes are bounded: events that never reach a session do not pile up', () => {
    const { timing: t } = timing();
    for (let i = 0; i < 5000; i++) t.note(`e${i}`, 0, 0);
    assert.equal(t.pending, 1024);
    assert.equal(t.take('e0'), null, 'the oldest went first');
    assert.ok(t.take('e4999'));
  });

  test('the hub times an event its node noted, in bridge_fanout_write_seconds', async () => {
    await quiet();
    const bus = new MemoryBus();
    const metrics = new Metrics({ defaultMetrics: false });
    const hub = new Hub(bus, metrics);
    const frames: Buffer[] = [];
    const member: HubMember = {
      dialect: 'd',
      encode: (e) => JSON.stringify(e.type),
      hooks: { variant: '', onMessage() {}, onEvent: (_e, f) => void frames.push(f), onClose() {} },
    };
    hub.subscribe('bridge.evt.up.server.s1.>', member);
    const event = makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line: 'x' });
    metrics.fanout.note(event.id, performance.now(), performance.now());
    bus.publish('bridge.evt.up.server.s1.console', event);
    // An event no link of this node noted (another node's) is not timed.
    bus.publish('bridge.evt.up.server.s1.console', makeEvent({ upstream: 'up', node: 'other' }, 'server.console', 's1', { line: 'y' }));
    assert.equal(frames.length, 2);
    assert.equal(metrics.fanout.pending, 0);
    const text = await metrics.registry.getSingleMetricAsString('bridge_fanout_write_seconds');
    assert.match(text, /bridge_fanout_write_seconds_count 1\b/);
  });
});

describe('real sessions on a memory bus', () => {
  /** Sessions over fake connections whose TCP socket records each write with the publish it came in. */
  function sessions(n: number) {
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = new MemoryBus();
    const hub = new Hub(bus, metrics);
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const rate = { burst: 5, refillMs: 100 };
    const shared = new SessionShared({
      dialect: 'test',
      encode: (e) => JSON.stringify(e.data),
      writeQueueBytes: 1 << 20,
      hub,
      metrics,
      interest: new InterestTable(),
      log: silent,
      sessions: new Set(),
      clock: new ManualClock(),
      // Only the write path is exercised here: any budget will do.
      limits: { inboundRate: rate, inboundQueueFrames: 2, commandRate: rate, historyRate: rate, interestRate: rate, authFailuresPerSocket: 3 },
      backend: { request: async () => ({ ok: true }), history: async () => [], last: async () => undefined },
      authDeadlineMs: 1000,
      pingIntervalMs: 5000,
    });
    let publishing = 0;
    const writes: { session: number; publish: number; bytes: number }[] = [];
    const list = Array.from({ length: n }, (_, i) => {
      const netSocket = { destroyed: false, writable: true, write: (b: Buffer) => void writes.push({ session: i, publish: publishing, bytes: b.length }) };
      // What the write path reads of a ws socket (ws-internals.ts): its TCP socket and backlog.
      const ws = { _socket: netSocket, bufferedAmount: 0, address: '192.0.2.1', readyState: 1, OPEN: 1 };
      const s = new Session(new WsConnection(ws as unknown as WebSocket), shared);
      s.attach({ variant: '', onMessage() {}, onEvent: (_e, frame) => s.send(frame), onClose() {} });
      s.subscribe('bridge.evt.up.server.s1.>');
      return s;
    });
    const publish = (line: string) => {
      publishing += 1;
      bus.publish('bridge.evt.up.server.s1.console', makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line }));
      publishing = 0;
    };
    return { list, writes, publish, metrics };
  }

  test('a lone event reaches every socket before the publish returns; a burst is one write per socket per turn', async () => {
    const { writes, publish } = sessions(3);
    await quiet();
    publish('lone');
    assert.deepEqual(writes.map((w) => [w.session, w.publish]), [[0, 1], [1, 1], [2, 1]], 'written during the publish, in order');
    writes.length = 0;
    await quiet();
    publish('one');
    publish('two');
    publish('six');
    assert.deepEqual(writes.map((w) => w.session), [0, 1, 2], 'the first of the burst went through');
    await nextTurn();
    const rest = writes.slice(3);
    assert.deepEqual(rest.map((w) => [w.session, w.publish]), [[0, 0], [1, 0], [2, 0]], 'the other two: one write per socket, after the publishes');
    assert.equal(rest[0]!.bytes, writes[0]!.bytes * 2, 'both frames in that write');
  });
});
