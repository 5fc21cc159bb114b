/**
 * The Felix codec, fed literal frames. Fixtures (test/fixtures/felix/) cover every code of
 * felix-websocket.md and the REAL-BEHAVIOUR.md corrections (`name` on server frames, `memoryUsage`
 * as a string of MB) in both directions, valid and malformed; exact strings are compared.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeEvent } from '../../src/adapter-kit.ts';
import {
  HEARTBEAT_FRAME,
  decodeFrame,
  encode,
  encodeFrame,
  eventToPacket,
  healthFromWire,
  isServerCode,
  listenersFrame,
  listenersFromData,
  packetToEvent,
  parseMemoryMb,
  zeroAckFrame,
} from '../../adapters/felix/codec.ts';

interface ServerCase { name: string; frame: string; event: { type: string; id: string; data: unknown } | null }
interface DashboardCase { name: string; type: string; data: unknown; frame: string | null }
interface ClientCase { name: string; frame: string; code: number; lists: { users: string[]; guilds: string[] } | null }

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/felix/${name}`, import.meta.url), 'utf8')) as T;
}
const serverCases = fixture<ServerCase[]>('server-frames.json');
const dashboardCases = fixture<DashboardCase[]>('dashboard-frames.json');
const clientCases = fixture<ClientCase[]>('client-frames.json');
const malformed = fixture<string[]>('malformed.json');

const event = (type: string, data: unknown) => makeEvent({ upstream: 'bot', node: 'node-1', receivedAt: 0 }, type, 'id', data);

describe('Felix → relay: decodeFrame + packetToEvent', () => {
  for (const c of serverCases) {
    test(c.name, () => {
      const p = decodeFrame(c.frame);
      assert.ok(p, `the frame itself is well-formed: ${c.frame}`);
      assert.deepEqual(packetToEvent(p), c.event);
    });
  }

  test('malformed frames are null', () => {
    for (const text of malformed) assert.equal(decodeFrame(text), null, JSON.stringify(text));
  });

  test('the `name` field: kept when a string, dropped otherwise, never required', () => {
    assert.deepEqual(decodeFrame('{"code":10002,"name":"GDB Update","data":1}'), { code: 10002, name: 'GDB Update', data: 1 });
    assert.deepEqual(decodeFrame('{"code":10002,"name":7,"data":1}'), { code: 10002, data: 1 });
    assert.deepEqual(decodeFrame('{"code":10002,"data":1}'), { code: 10002, data: 1 });
    assert.deepEqual(decodeFrame('{"code":20001}'), { code: 20001, data: undefined });
  });

  test('memoryUsage: the real string, the documented number; nothing else', () => {
    assert.equal(parseMemoryMb('4.85'), 4.85);
    assert.equal(parseMemoryMb(' 12.00 '), 12);
    assert.equal(parseMemoryMb(7.5), 7.5);
    for (const bad of ['', ' ', 'lots', '4.85 MB', 'NaN', 'Infinity']) assert.equal(parseMemoryMb(bad), null, bad);
    assert.equal(healthFromWire({ receivedAt: 1, shards: [], guildsCount: 1, memoryUsage: '0.01', uptime: 1 })?.memoryUsageMb, 0.01);
  });

  test('isServerCode knows exactly 10001–10003', () => {
    for (const c of [10001, 10002, 10003]) assert.equal(isServerCode(c), true, String(c));
    for (const c of [10000, 10004, 20001, 20002, 0, -10001]) assert.equal(isServerCode(c), false, String(c));
  });

  test('huge and deeply nested input is null or bounded, without throwing', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.equal(decodeFrame(deep(200_000)), null);
    // Felix data is free-form, so a deep array is a frame; it just does not fit a guild update.
    const nested = decodeFrame(`{"code":10002,"data":${deep(100_000)}}`);
    assert.equal(nested?.code, 10002);
    assert.equal(packetToEvent(nested!), null);
    assert.doesNotThrow(() => encodeFrame(nested!));
    assert.equal(packetToEvent({ code: 10001, data: { shards: 'x' } }), null);
    assert.equal(packetToEvent(null as never), null);
  });
});

describe('relay → Felix dashboard: eventToPacket + encode', () => {
  for (const c of dashboardCases) {
    test(c.name, () => {
      const e = event(c.type, c.data);
      assert.equal(encode(e, ''), c.frame);
      const p = eventToPacket(e);
      assert.equal(p === null ? null : encodeFrame(p), c.frame);
    });
  }

  test('the variant changes nothing: every dashboard gets the same bytes', () => {
    const e = event('guild.updated', { guildId: 'g1', data: { a: 1 } });
    assert.equal(encode(e, 'x'), encode(e, ''));
  });

  test('round trip: every mapped server frame re-encodes to the same canonical event', () => {
    for (const c of serverCases) {
      if (c.event === null) continue;
      const frame = encode(event(c.event.type, c.event.data), '');
      assert.ok(frame, c.name);
      assert.deepEqual(packetToEvent(decodeFrame(frame)!), c.event, c.name);
    }
  });

  test('a zeroed ack for a relay that has no bot.health yet', () => {
    assert.equal(zeroAckFrame(1767225600000), '{"code":10001,"name":"Heartbeat ACK","data":{"receivedAt":1767225600000,"shards":[],"guildsCount":0,"memoryUsage":"0.00","uptime":0}}');
  });
});

describe('client frames: 20001 and 20002', () => {
  for (const c of clientCases) {
    test(c.name, () => {
      const p = decodeFrame(c.frame);
      assert.ok(p, c.frame);
      assert.equal(p.code, c.code);
      assert.deepEqual(listenersFromData(p.data), c.lists);
    });
  }

  test('the frames the relay sends upstream, exactly', () => {
    assert.equal(HEARTBEAT_FRAME, '{"code":20001}');
    assert.equal(listenersFrame(['u1'], new Set(['g1', 'g2'])), '{"code":20002,"data":{"users":["u1"],"guilds":["g1","g2"]}}');
    assert.equal(listenersFrame([], []), '{"code":20002,"data":{"users":[],"guilds":[]}}');
  });
});

describe('encodeFrame', () => {
  test('writes code, name, data in that order and omits absent data', () => {
    assert.equal(encodeFrame({ code: 10001, data: { a: 1 }, name: 'Heartbeat ACK' }), '{"code":10001,"name":"Heartbeat ACK","data":{"a":1}}');
    assert.equal(encodeFrame({ code: 20001, data: undefined }), '{"code":20001}');
    assert.equal(encodeFrame({ code: 20002, data: null }), '{"code":20002,"data":null}');
  });

  test('never throws, even on data JSON cannot write', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(encodeFrame({ code: 10002, data: cyclic }), '{"code":10002}');
    assert.equal(encodeFrame({ code: 10002, data: 1n }), '{"code":10002}');
    assert.equal(encodeFrame({ code: Number.NaN, data: 1 }), '{"code":0,"data":1}');
    assert.doesNotThrow(() => encodeFrame(null as never));
  });

  test('decode(encode(p)) is p for every valid fixture frame', () => {
    for (const frame of [...serverCases.map((c) => c.frame), ...clientCases.map((c) => c.frame)]) {
      const p = decodeFrame(frame)!;
      assert.deepEqual(decodeFrame(encodeFrame(p)), p, frame);
    }
  });
});
