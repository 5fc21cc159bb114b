/**
 * The room gateway codec, fed literal frames. Fixtures (test/fixtures/gateway/) cover every packet
 * of room-gateway.md and of REAL-BEHAVIOUR.md's anonroom section in both numberings, both
 * directions, valid and malformed; frames are compared as exact strings.
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
  helloFrame,
  helloInterval,
  isLatest,
  packetToEvent,
  readFrame,
  variantFor,
} from '../../adapters/gateway/codec.ts';
import { LATEST_EVENTS, SEED_EVENTS } from '../../adapters/gateway/vocabulary.ts';
import { seeded } from '../helpers/random.ts';

type Canonical = { type: string; data: unknown };
interface ServerCase { name: string; profile: string; frame: string; event: Canonical | null; protoKey?: boolean }
interface DashboardCase { name: string; type: string; data: unknown; seed: string | null; latest: string | null; lossy?: boolean }

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/gateway/${name}`, import.meta.url), 'utf8')) as T;
}
const serverCases = fixture<ServerCase[]>('server-frames.json');
const dashboardCases = fixture<DashboardCase[]>('dashboard-frames.json');
const malformed = fixture<{ notJson: string[]; notPacket: string[] }>('malformed.json');

const ORIGIN = { upstream: 'rooms', node: 'node-1', receivedAt: 0 };
const event = (type: string, data: unknown, room = 'lobby') => makeEvent(ORIGIN, type, room, data);

describe('frames: readFrame / decodeFrame / encodeFrame', () => {
  test('valid packets, including the sloppy heartbeat without d', () => {
    assert.deepEqual(decodeFrame('{"e":1,"d":{}}'), { e: 1, d: {} });
    assert.deepEqual(decodeFrame('{"e":1}'), { e: 1, d: {} });
    assert.deepEqual(decodeFrame('{"e":2,"d":null}'), { e: 2, d: null });
    assert.deepEqual(decodeFrame(' {"d":{"x":1},"e":3} '), { e: 3, d: { x: 1 } });
    const zero = decodeFrame('{"e":-0,"d":{}}');
    assert.ok(zero !== null && Object.is(zero.e, 0), '-0 folds to 0');
  });

  test('non-JSON is "json", JSON that is not a packet is "shape"; both decode to null', () => {
    for (const text of malformed.notJson) {
      assert.deepEqual(readFrame(text), { ok: false, error: 'json' }, text);
      assert.equal(decodeFrame(text), null, text);
    }
    for (const text of malformed.notPacket) {
      assert.deepEqual(readFrame(text), { ok: false, error: 'shape' }, text);
      assert.equal(decodeFrame(text), null, text);
    }
  });

  test('encodeFrame writes {"e":N,"d":…} and refuses what it cannot write, without throwing', () => {
    assert.equal(encodeFrame({ e: 1, d: {} }), HEARTBEAT_FRAME);
    assert.equal(encodeFrame({ e: 7, d: undefined }), '{"e":7,"d":{}}');
    assert.equal(encodeFrame({ e: -0, d: [] }), '{"e":0,"d":[]}');
    assert.equal(encodeFrame({ e: 1.5, d: {} }), null);
    assert.equal(encodeFrame({ e: -1, d: {} }), null);
    assert.equal(encodeFrame({ e: 3, d: { n: 1n } }), null);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.equal(encodeFrame({ e: 3, d: cyclic }), null);
    assert.equal(encodeFrame(null as never), null);
    assert.equal(encodeFrame({ e: 3, d: () => 1 }), null, 'a function serializes to nothing');
  });
});

describe('hello and profiles', () => {
  test('hello is plain in the seed profile and double-wrapped in the later one', () => {
    assert.equal(helloFrame(60000, 'seed'), '{"e":0,"d":{"heartbeatInterval":60000}}');
    assert.equal(helloFrame(45000, 'anonroom-latest'), '{"e":0,"d":{"e":0,"d":{"heartbeatInterval":45000}}}');
    assert.equal(helloFrame(45000, 'latest'), helloFrame(45000, 'anonroom-latest'));
  });

  test('helloInterval reads both shapes and nothing else', () => {
    assert.equal(helloInterval(decodeFrame(helloFrame(60000, 'seed'))!.d), 60000);
    assert.equal(helloInterval(decodeFrame(helloFrame(41250, 'latest'))!.d), 41250);
    for (const d of [{}, null, [], { heartbeatInterval: 0 }, { heartbeatInterval: '60000' }, { heartbeatInterval: 1.5 }, { e: 1, d: { heartbeatInterval: 5 } }, { e: 0, d: null }]) {
      assert.equal(helloInterval(d), null, JSON.stringify(d));
    }
  });

  test('profile and variant names', () => {
    assert.equal(variantFor('seed'), 'seed');
    assert.equal(variantFor('anonroom-latest'), 'latest');
    assert.ok(isLatest('latest') && isLatest('anonroom-latest'));
    assert.ok(!isLatest('seed') && !isLatest('') && !isLatest('errors'));
  });

  test('the numberings differ only where REAL-BEHAVIOUR says', () => {
    assert.deepEqual([SEED_EVENTS.participantKick, SEED_EVENTS.roomClose], [5, 7]);
    assert.deepEqual([LATEST_EVENTS.participantJoin, LATEST_EVENTS.roomClose], [7, 8]);
    assert.ok(!('participantKick' in LATEST_EVENTS));
  });
});

describe('server → relay: packetToEvent', () => {
  for (const c of serverCases) {
    test(`${c.profile}: ${c.name}`, () => {
      const packet = decodeFrame(c.frame);
      assert.notEqual(packet, null, 'the frame itself is a packet');
      const got = packetToEvent(packet!, c.profile);
      if (!c.protoKey) return assert.deepEqual(got, c.event);
      // JSON's "__proto__" is an own key; copying it must not set the payload's prototype.
      assert.equal(got?.type, c.event?.type);
      const data = got!.data as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(data), Object.prototype);
      assert.equal(data.admin, undefined);
      assert.equal(data.userId, 'eve');
    });
  }
});

describe('relay → dashboard: eventToPacket / encode', () => {
  test('a link state has no packet: the empty frame, for the session to act on (a 1014/4001 close)', () => {
    const e = event('upstream.state', { state: 'failed', reason: 'unknown room or participant (1014)', resource: 'room', id: 'lobby', code: 'BRIDGE_ERR_NOT_FOUND' });
    for (const variant of ['seed', 'latest', '']) assert.equal(encode(e, variant), '');
    assert.equal(eventToPacket(e, 'latest'), null);
  });

  for (const c of dashboardCases) {
    test(c.name, () => {
      const e = event(c.type, c.data);
      assert.equal(encode(e, 'seed'), c.seed, 'seed frame');
      assert.equal(encode(e, 'latest'), c.latest, 'latest frame');
      // Any variant that is not the later one gets the document's numbering.
      assert.equal(encode(e, ''), c.seed);
      const packet = eventToPacket(e, 'latest');
      assert.equal(packet === null ? null : encodeFrame(packet), c.latest, 'encode is encodeFrame ∘ eventToPacket');
    });
  }

  test('every encoded frame reads back to the same canonical event in its own profile', () => {
    for (const c of dashboardCases.filter((x) => !x.lossy)) {
      for (const [variant, frame] of [['seed', c.seed], ['latest', c.latest]] as const) {
        if (frame === null) continue;
        const back = packetToEvent(decodeFrame(frame)!, variant);
        assert.deepEqual(back, { type: c.type, data: c.data }, `${c.name} (${variant})`);
      }
    }
  });

  test('migration: a later-profile frame reaches a seed dashboard renumbered, and back', () => {
    const viaCanonical = (frame: string, from: string, to: string) => encode(event(packetToEvent(decodeFrame(frame)!, from)!.type, packetToEvent(decodeFrame(frame)!, from)!.data), to);
    assert.equal(viaCanonical('{"e":8,"d":{}}', 'anonroom-latest', 'seed'), '{"e":7,"d":{}}');
    assert.equal(viaCanonical('{"e":6,"d":{"id":"bob","online":false,"kicked":true}}', 'anonroom-latest', 'seed'), '{"e":5,"d":{"userId":"bob"}}');
    assert.equal(viaCanonical('{"e":4,"d":{"discordWebhook":"w"}}', 'anonroom-latest', 'seed'), '{"e":4,"d":{"discordWebhookLink":"w"}}');
    assert.equal(viaCanonical('{"e":7,"d":{}}', 'seed', 'latest'), '{"e":8,"d":{}}');
    assert.equal(viaCanonical('{"e":5,"d":{"userId":"bob"}}', 'seed', 'latest'), '{"e":6,"d":{"id":"bob","online":false,"kicked":true}}');
    assert.equal(viaCanonical('{"e":7,"d":{"id":"dave"}}', 'anonroom-latest', 'seed'), null, 'a join cannot be said in the seed numbering');
  });
});

describe('never throws', () => {
  test('garbage frames and odd packets', () => {
    const rand = seeded(20260101);
    const atoms = ['{', '}', '[', ']', '"e"', '"d"', ':', ',', '0', '1', '7', '8', '-0', '1e999', 'null', 'true', '"x"', '"__proto__"', '{"e":', '\\u0000'];
    for (let i = 0; i < 5000; i++) {
      let text = '';
      for (let n = Math.floor(rand() * 20); n > 0; n--) text += atoms[Math.floor(rand() * atoms.length)];
      const packet = decodeFrame(text);
      if (packet === null) continue;
      for (const profile of ['seed', 'anonroom-latest']) assert.doesNotThrow(() => packetToEvent(packet, profile), text);
      assert.equal(decodeFrame(encodeFrame(packet)!)?.e, packet.e);
    }
    for (const bad of [null, undefined, 5, 'x', {}, { e: 3 }, { e: 3, d: null }, { e: 7 }]) {
      assert.doesNotThrow(() => packetToEvent(bad as never, 'seed'));
    }
  });

  test('odd events', () => {
    const datas = [null, undefined, 5, 'x', [], {}, { userId: 5 }, { content: null }, { discordWebhookLink: 5 }, Object.create(null)];
    for (const type of ['room.message', 'room.updated', 'room.participant.joined', 'room.participant.kicked', 'room.participant.updated', 'room.closed', 'nope']) {
      for (const data of datas) {
        for (const variant of ['seed', 'latest', '', 'x']) assert.doesNotThrow(() => encode(event(type, data), variant), `${type} #${datas.indexOf(data)}`);
      }
    }
    assert.equal(encode(null as never, 'seed'), null);
    assert.equal(encode({ type: 'room.closed' } as never, 'latest'), '{"e":8,"d":{}}');
  });
});
