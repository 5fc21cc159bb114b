/**
 * The gateway simulator on its own, against real sockets on port 0 with a ManualClock driving its
 * heartbeats and chatter: it must behave like the anonroom site the relay is tested against.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { Log } from '../../src/adapter-kit.ts';
import { GatewaySimulator, type GatewaySimulatorConfig } from '../../adapters/gateway/simulator.ts';
import { GatewayClient } from '../helpers/gateway-client.ts';
import { eventually } from '../helpers/wings-client.ts';

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
const ROOMS = [
  { id: 'lobby', participants: [{ id: 'alice', secret: 'alice-cookie' }, { id: 'bob' }] },
  { id: 'games', participants: [{ id: 'carol' }] },
];

let sim: GatewaySimulator | undefined;
const clients: GatewayClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.close();
  sim = undefined;
});

async function start(config: Partial<GatewaySimulatorConfig>, clock = new ManualClock()): Promise<GatewaySimulator> {
  sim = await GatewaySimulator.start({ config: { messageIntervalMs: 0, heartbeatIntervalMs: 1000, rooms: ROOMS, ...config } as GatewaySimulatorConfig, clock, log: silent }, '127.0.0.1', 0);
  return sim;
}

async function connect(s: GatewaySimulator, query: string, cookie?: string): Promise<GatewayClient> {
  const c = await GatewayClient.connect(`${s.endpoint.url.replace(/^http/, 'ws')}/gateway?${query}`, cookie === undefined ? {} : { cookie });
  clients.push(c);
  return c;
}

describe('gateway simulator: connecting', () => {
  test('seed: hello at once; a missing or unknown room or participant is accepted then closed 1014', async () => {
    const s = await start({ profile: 'seed' });
    const ok = await connect(s, 'roomId=lobby&participantId=bob');
    assert.equal((await ok.next()).raw, '{"e":0,"d":{"heartbeatInterval":1000}}');
    assert.equal(s.connectionCount('lobby'), 1);
    for (const query of ['roomId=lobby', 'participantId=bob', 'roomId=attic&participantId=bob', 'roomId=games&participantId=bob']) {
      const bad = await connect(s, query);
      assert.equal((await bad.waitClose()).code, 1014, query);
      assert.equal(bad.frames.length, 0, `${query}: no hello`);
    }
  });

  test('later profile: double-wrapped hello; the cookie named after the room must hold the secret', async () => {
    const s = await start({ profile: 'anonroom-latest' });
    assert.equal(s.endpoint.credentials['lobby/alice'], 'alice-cookie');
    assert.equal(s.endpoint.credentials['lobby/bob'], 'bob-secret', 'a default secret per participant');
    const ok = await connect(s, 'roomId=lobby&participantId=alice', 'theme=dark; lobby=alice-cookie');
    assert.equal((await ok.next()).raw, '{"e":0,"d":{"e":0,"d":{"heartbeatInterval":1000}}}');
    for (const cookie of [undefined, 'lobby=wrong', 'games=alice-cookie', 'lobby=bob-secret']) {
      const bad = await connect(s, 'roomId=lobby&participantId=alice', cookie);
      assert.equal((await bad.waitClose()).code, 1014, String(cookie));
    }
  });
});

describe('gateway simulator: heartbeats', () => {
  test('e:1 every interval; a client that did not answer since the previous tick is closed 4001', async () => {
    const clock = new ManualClock();
    const s = await start({ profile: 'anonroom-latest' }, clock);
    const polite = await connect(s, 'roomId=lobby&participantId=bob', 'lobby=bob-secret');
    const mute = await connect(s, 'roomId=lobby&participantId=alice', 'lobby=alice-cookie');
    await Promise.all([polite.next(), mute.next()]);
    await clock.advance(1000);
    await Promise.all([polite.next((f) => f.e === 1), mute.next((f) => f.e === 1)]);
    polite.beat();
    await polite.flush();
    await clock.advance(1000);
    assert.deepEqual(await mute.waitClose(), { code: 4001, reason: 'heartbeat timeout' });
    await polite.next((f) => f.e === 1);
    assert.equal(polite.ws.readyState, polite.ws.OPEN);
    assert.deepEqual(s.received.filter((p) => p.e === 1).map((p) => p.participantId), ['bob']);
  });

  test('non-JSON does not crash the simulator; it is counted and the socket lives on', async () => {
    const s = await start({ profile: 'seed' });
    const c = await connect(s, 'roomId=lobby&participantId=bob');
    await c.next();
    c.sendRaw('{{{');
    c.send(2, {});
    await c.flush();
    assert.equal(s.badFrames, 1);
    assert.deepEqual(s.received, [{ roomId: 'lobby', participantId: 'bob', e: 2, d: {} }]);
    assert.equal(c.ws.readyState, c.ws.OPEN);
  });
});

describe('gateway simulator: room events', () => {
  test('seed: every control writes the document numbering', async () => {
    const clock = new ManualClock();
    const s = await start({ profile: 'seed' }, clock);
    const c = await connect(s, 'roomId=lobby&participantId=bob');
    await c.next();
    s.message('lobby', 'hi', 'alice');
    s.message('lobby', 'Room created');
    s.updateRoom('lobby', { chatLocked: true, discordWebhookLink: 'https://discord.com/api/webhooks/1/x' });
    s.updateParticipant('lobby', 'alice', { admin: true, online: true });
    s.join('lobby', { id: 'dave' });
    s.kick('lobby', 'alice');
    s.closeRoom('lobby');
    const t = clock.now();
    const want = [
      `{"e":3,"d":{"content":"hi","authorId":"alice","roomId":"lobby","sentAt":${t}}}`,
      `{"e":3,"d":{"content":"Room created","roomId":"lobby","sentAt":${t}}}`,
      '{"e":4,"d":{"chatLocked":true,"discordWebhookLink":"https://discord.com/api/webhooks/1/x"}}',
      '{"e":6,"d":{"id":"alice","admin":true,"online":true}}',
      '{"e":5,"d":{"userId":"alice"}}',
      '{"e":7,"d":{}}',
    ];
    for (const frame of want) assert.equal(await c.nextRaw(), frame);
    assert.equal(s.secretOf('lobby', 'dave'), 'dave-secret', 'a seed join adds to the roster without an event');
    assert.equal(c.ws.readyState, c.ws.OPEN, 'room_close leaves sockets open');
    assert.equal((await (await connect(s, 'roomId=lobby&participantId=bob')).waitClose()).code, 1014, 'a closed room takes no one new');
  });

  test('later profile: join is 7, close is 8, a kick is a participant_update plus 4001 for the kicked', async () => {
    const s = await start({ profile: 'anonroom-latest' });
    const bob = await connect(s, 'roomId=lobby&participantId=bob', 'lobby=bob-secret');
    const alice = await connect(s, 'roomId=lobby&participantId=alice', 'lobby=alice-cookie');
    await Promise.all([bob.next(), alice.next()]);
    s.updateRoom('lobby', { discordWebhookLink: null, maxParticipants: 4 });
    s.join('lobby', { id: 'erin', name: 'Erin' });
    s.kick('lobby', 'alice');
    assert.equal(await bob.nextRaw(), '{"e":4,"d":{"maxParticipants":4,"discordWebhook":null}}');
    assert.equal(await bob.nextRaw(), '{"e":7,"d":{"id":"erin","name":"Erin"}}');
    assert.equal(await bob.nextRaw(), '{"e":6,"d":{"id":"alice","online":false,"kicked":true}}');
    assert.deepEqual(await alice.waitClose(), { code: 4001, reason: 'kicked' });
    assert.equal(alice.frames.at(-1)?.raw, '{"e":6,"d":{"id":"alice","online":false,"kicked":true}}', 'the kicked one sees its kick first');
    assert.equal((await (await connect(s, 'roomId=lobby&participantId=alice', 'lobby=alice-cookie')).waitClose()).code, 1014, 'no rejoin');
    s.closeRoom('lobby');
    assert.equal(await bob.nextRaw(), '{"e":8,"d":{}}');
  });

  test('chatter every messageIntervalMs per room, every fifth a system message; dropAll and disconnect', async () => {
    const clock = new ManualClock();
    // A long heartbeat, so the silent test client outlives the chatter it waits for.
    const s = await start({ profile: 'seed', messageIntervalMs: 4000, heartbeatIntervalMs: 60_000 }, clock);
    const c = await connect(s, 'roomId=games&participantId=carol');
    await c.next();
    await clock.advance(5 * 4000);
    const lines = [];
    for (let i = 0; i < 5; i++) lines.push(JSON.parse(await c.nextRaw()).d);
    assert.deepEqual(lines.map((d) => d.authorId), ['carol', 'carol', 'carol', 'carol', undefined]);
    assert.ok(lines.every((d) => d.roomId === 'games' && typeof d.content === 'string'));
    const other = await connect(s, 'roomId=lobby&participantId=bob');
    await other.next();
    s.disconnect('lobby', 4001, 'test');
    assert.equal((await other.waitClose()).code, 4001);
    s.dropAll();
    assert.equal((await c.waitClose()).code, 1006, 'terminated without a close frame');
    await eventually(() => s.connectionCount('games') === 0, 2000, 'sockets gone');
  });
});
