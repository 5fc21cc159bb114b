/**
 * The Semoxy panel-event codec, fed literal frames. Fixtures (test/fixtures/panel/) cover every
 * action of panel-events.md and the Semoxy section of REAL-BEHAVIOUR.md in both directions and both
 * wire versions, valid and malformed; frames are compared as exact strings, never re-serialized.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeEvent } from '../../src/adapter-kit.ts';
import {
  decodeFrame,
  encode,
  encodeFrame,
  eventObjectId,
  eventToPacket,
  intentAllows,
  intentFamilyOf,
  isControlAction,
  onlineStatusOf,
  packetToEvents,
  stateOfOnlineStatus,
  statsFromWire,
  versionOf,
} from '../../adapters/panel/codec.ts';

interface ServerCase { name: string; frame: string; events: { type: string; id: string; data: unknown }[] | null }
interface DashboardCase { name: string; type: string; subject: string; data: unknown; variant: string; frame: string | null }

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/panel/${name}`, import.meta.url), 'utf8')) as T;
}
const serverCases = fixture<ServerCase[]>('server-frames.json');
const dashboardCases = fixture<DashboardCase[]>('dashboard-frames.json');
const clientFrames = fixture<string[]>('client-frames.json');
const malformed = fixture<string[]>('malformed.json');
/** Every relayed console event of the fixtures carries this BridgeEvent id. */
const EVENT_ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';

describe('panel codec: frames', () => {
  test('decodeFrame reads every fixture frame, both directions; encodeFrame writes them back byte for byte', () => {
    for (const c of [...serverCases.filter((s) => s.frame.includes('"data"')).map((s) => s.frame), ...clientFrames]) {
      const p = decodeFrame(c);
      assert.notEqual(p, null, c);
      assert.equal(encodeFrame(p!), c);
    }
  });

  test('malformed frames decode to null', () => {
    for (const text of malformed) assert.equal(decodeFrame(text), null, JSON.stringify(text));
    assert.equal(decodeFrame(undefined as unknown as string), null);
  });

  test('a frame without data reads as data {}; encodeFrame never throws on data JSON cannot carry', () => {
    assert.deepEqual(decodeFrame('{"action":"AUTH_SUCCESS"}'), { action: 'AUTH_SUCCESS', data: {} });
    assert.deepEqual(decodeFrame('{"action":"X","data":null}'), { action: 'X', data: null });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(encodeFrame({ action: 'X', data: cyclic }), '{"action":"X","data":{}}');
    assert.equal(encodeFrame({ action: 'X', data: 10n }), '{"action":"X","data":{}}');
    assert.equal(encodeFrame({ action: 'X', data: undefined }), '{"action":"X","data":{}}');
  });
});

describe('panel codec: upstream packets → canonical events', () => {
  for (const c of serverCases) {
    test(c.name, () => {
      const p = decodeFrame(c.frame);
      assert.notEqual(p, null, 'the envelope itself is valid');
      assert.deepEqual(packetToEvents(p!), c.events);
    });
  }

  test('STAT_UPDATE takes the last known state of its server', () => {
    const p = decodeFrame('{"action":"STAT_UPDATE","data":{"serverId":"s1","ramUsage":1,"cpuUsage":2}}')!;
    const events = packetToEvents(p, (id) => (id === 's1' ? 'stopping' : undefined));
    assert.equal((events![0]!.data as { state: string }).state, 'stopping');
  });

  test('control actions are recognized; packets built by hand do not crash the reader', () => {
    for (const a of ['AUTH_SUCCESS', 'AUTH_ERROR', 'INTENT_ENABLED', 'INTENT_DISABLED']) assert.equal(isControlAction(a), true);
    assert.equal(isControlAction('CONSOLE_LINE'), false);
    assert.equal(packetToEvents(null as never), null);
    assert.equal(packetToEvents({ action: 5 } as never), null);
    assert.equal(packetToEvents({ action: 'CONSOLE_LINE', data: 'x' }), null);
  });
});

describe('panel codec: canonical events → dashboard frames', () => {
  for (const c of dashboardCases) {
    test(c.name, () => {
      const event = { ...makeEvent({ upstream: 'up', node: 'n' }, c.type, c.subject, c.data), id: EVENT_ID };
      assert.equal(encode(event, c.variant), c.frame);
      const p = eventToPacket(event, c.variant);
      assert.equal(p === null ? null : encodeFrame(p), c.frame, 'eventToPacket agrees with encode');
    });
  }

  test('a link state other than failed has nothing to tell: the empty frame, not unmapped', () => {
    for (const state of ['connecting', 'ready', 'backoff']) {
      const event = makeEvent({ upstream: 'up', node: 'n' }, 'upstream.state', '_', { state, reason: 'x', resource: 'panel', id: '_' });
      assert.equal(encode(event, 'v1'), '');
      assert.equal(eventToPacket(event, 'v1'), null);
    }
  });

  test('any variant but v2 is written as v1', () => {
    const event = makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's', { line: 'x' });
    for (const variant of ['', 'v1', 'errors', 'x']) {
      assert.equal(versionOf(variant), 'v1');
      assert.equal(encode(event, variant), '{"action":"CONSOLE_LINE","data":{"id":"s","message":"x"}}');
    }
    assert.equal(encode(null as never, 'v1'), null);
    assert.equal(encode({ type: 'server.console' } as never, 'v1'), null, 'no subject');
  });

  test('upstream frame → events → dashboard frame is the same packet for native v1 traffic', () => {
    for (const frame of [
      '{"action":"CONSOLE_LINE","data":{"id":"607c71907be61b381db28144","message":"New Console Message"}}',
      '{"action":"SERVER_STATE_CHANGE","data":{"id":"607c71907be61b381db28144","patch":{"onlineStatus":2}}}',
      '{"action":"SERVER_DELETE","data":{"id":"607c71907be61b381db28144"}}',
      '{"action":"META_MESSAGE","data":{"message":"Use HTTP for data manipulation and query"}}',
    ]) {
      const events = packetToEvents(decodeFrame(frame)!)!;
      // One packet, one event (a state change is server.status carrying its patch).
      assert.equal(events.length, 1, frame);
      const native = events[0]!;
      assert.equal(encode(makeEvent({ upstream: 'up', node: 'n' }, native.type, native.id, native.data), 'v1'), frame);
    }
  });
});

describe('panel codec: helpers', () => {
  test('onlineStatus 0–3 ⇄ offline/starting/running/stopping', () => {
    const states = ['offline', 'starting', 'running', 'stopping'];
    states.forEach((s, i) => {
      assert.equal(stateOfOnlineStatus(i), s);
      assert.equal(onlineStatusOf(s), i);
    });
    for (const bad of [-1, 4, 1.5, '1', null, undefined]) assert.equal(stateOfOnlineStatus(bad), null);
    for (const bad of ['online', '', 2, null]) assert.equal(onlineStatusOf(bad), null);
  });

  test('stats from the wire: kB × 1000, nulls as 0, the given state', () => {
    assert.deepEqual(statsFromWire({ serverId: 's', ramUsage: 5, cpuUsage: 0.5 }, 'starting'), {
      memoryBytes: 5000, memoryLimitBytes: 0, cpuAbsolute: 0.5, network: { rxBytes: 0, txBytes: 0 }, uptimeMs: 0, diskBytes: 0, state: 'starting',
    });
  });

  test('intents: console.* / console.<id> gate console events, stat.* / stat.<id> gate stats', () => {
    assert.equal(intentFamilyOf('server.console'), 'console');
    assert.equal(intentFamilyOf('server.stats'), 'stat');
    assert.equal(intentFamilyOf('server.status'), null);
    assert.equal(intentAllows(new Set(['console.*']), 'console', 'a'), true);
    assert.equal(intentAllows(new Set(['console.a']), 'console', 'a'), true);
    assert.equal(intentAllows(new Set(['console.a']), 'console', 'b'), false);
    assert.equal(intentAllows(new Set(['console.*']), 'stat', 'a'), false);
    assert.equal(intentAllows(new Set(['stat.b']), 'stat', 'b'), true);
  });

  test('a relayed event id reads as a 24-hex ObjectId, the same for the same event', () => {
    assert.equal(eventObjectId(EVENT_ID), 'a1b2c3d4e5f64a7b8c9d0e1f');
    assert.equal(eventObjectId('abc'), 'abc000000000000000000000');
    assert.match(eventObjectId('no hex here!'), /^[0-9a-f]{24}$/);
  });
});
