/**
 * Simulator → relay → gateway dashboard, over real sockets, on a given bus. The same cases run on
 * the memory bus (test/e2e) and on a real nats-server (test/nats). Two simulated sites (one per
 * numbering) and two listeners (one per numbering) cover the migration shim both ways. Frames are
 * compared as exact strings; every adapter timer runs on a ManualClock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { GatewayClient } from './gateway-client.ts';
import { LATEST_PATH, gatewayLinksReady, startGatewayHarness, type GatewayHarness } from './gateway-harness.ts';
import { describeOnBus, type BusKind } from './relay-harness.ts';

/** `natsUrl` gives the test file's own nats-server when `bus` is 'nats' (read once its `before` ran). */
export function runGatewayE2E(bus: BusKind, natsUrl?: () => string): void {
  const clock = new ManualClock();
  let h: GatewayHarness;
  const start = async (o: { bus: BusKind; natsUrl?: string }) => {
    h = await startGatewayHarness({ ...o, clock });
    await gatewayLinksReady(h);
    return h;
  };
  // The harness closes every client it opened when it stops.
  describeOnBus('gateway end to end', bus, natsUrl, start, () => {
    /** A seed and a later-profile dashboard on the same room. */
    const pair = async (room: string, seedAs = 'alice', latestAs = 'dave'): Promise<[GatewayClient, GatewayClient]> =>
      Promise.all([h.open(room, seedAs), h.open(room, latestAs, LATEST_PATH)]);

    test('hello at once: plain on the seed listener, double-wrapped on the later one', async () => {
      const [seed, latest] = await pair('lobby');
      assert.equal(seed.frames[0]!.raw, '{"e":0,"d":{"heartbeatInterval":60000}}');
      assert.equal(latest.frames[0]!.raw, '{"e":0,"d":{"e":0,"d":{"heartbeatInterval":60000}}}');
    });

    test('messages reach both numberings; a system message has no authorId', async () => {
      const [seed, latest] = await pair('lobby');
      h.seedSim.message('lobby', 'hello through the relay', 'alice');
      h.seedSim.message('lobby', 'Bob joined the room');
      const t = clock.now();
      const want = [
        `{"e":3,"d":{"content":"hello through the relay","authorId":"alice","roomId":"lobby","sentAt":${t}}}`,
        `{"e":3,"d":{"content":"Bob joined the room","roomId":"lobby","sentAt":${t}}}`,
      ];
      for (const c of [seed, latest]) for (const frame of want) assert.equal(await c.nextRaw(), frame);
    });

    test('room updates: each dashboard gets the webhook under its own profile\'s name', async () => {
      const [seed, latest] = await pair('lobby');
      h.seedSim.updateRoom('lobby', { chatLocked: true, maxParticipants: 8, discordWebhookLink: 'https://discord.com/api/webhooks/1/a' });
      assert.equal(await seed.nextRaw(), '{"e":4,"d":{"maxParticipants":8,"chatLocked":true,"discordWebhookLink":"https://discord.com/api/webhooks/1/a"}}');
      assert.equal(await latest.nextRaw(), '{"e":4,"d":{"maxParticipants":8,"chatLocked":true,"discordWebhook":"https://discord.com/api/webhooks/1/a"}}');
      const [seedHall, latestHall] = await pair('hall');
      h.latestSim.updateRoom('hall', { roomLocked: true, discordWebhookLink: null });
      assert.equal(await seedHall.nextRaw(), '{"e":4,"d":{"roomLocked":true,"discordWebhookLink":null}}');
      assert.equal(await latestHall.nextRaw(), '{"e":4,"d":{"roomLocked":true,"discordWebhook":null}}');
    });

    test('a seed upstream\'s kick reaches a later dashboard as a participant_update, and closes its own 4001', async () => {
      const [seed, latest] = await pair('lobby');
      const kickedSeed = await h.open('lobby', 'bob');
      const kickedLatest = await h.open('lobby', 'bob', LATEST_PATH);
      h.seedSim.updateParticipant('lobby', 'alice', { admin: true, color: '#ff8800' });
      h.seedSim.kick('lobby', 'bob');
      for (const c of [seed, latest]) assert.equal(await c.nextRaw(), '{"e":6,"d":{"id":"alice","admin":true,"color":"#ff8800"}}');
      assert.equal(await seed.nextRaw(), '{"e":5,"d":{"userId":"bob"}}');
      assert.equal(await latest.nextRaw(), '{"e":6,"d":{"id":"bob","online":false,"kicked":true}}');
      assert.deepEqual(await kickedLatest.waitClose(), { code: 4001, reason: 'room session ended: participant kicked' });
      assert.equal(kickedLatest.frames.at(-1)!.raw, '{"e":6,"d":{"id":"bob","online":false,"kicked":true}}', 'the kick is seen before the close');
      assert.equal(await kickedSeed.nextRaw(), '{"e":6,"d":{"id":"alice","admin":true,"color":"#ff8800"}}');
      assert.equal(await kickedSeed.nextRaw(), '{"e":5,"d":{"userId":"bob"}}');
      assert.equal(kickedSeed.ws.readyState, kickedSeed.ws.OPEN, 'a seed dashboard is not closed');
    });

    test('migration: a later upstream\'s join, kick and close reach a seed dashboard renumbered', async () => {
      const [seed, latest] = await pair('hall', 'dave', 'dave');
      h.latestSim.join('hall', { id: 'frank', name: 'Frank' });
      h.latestSim.message('hall', 'welcome, Frank');
      assert.equal(await latest.nextRaw(), '{"e":7,"d":{"id":"frank","name":"Frank"}}');
      assert.match(await seed.nextRaw(), /^\{"e":3,"d":\{"content":"welcome, Frank"/, 'the seed numbering has no join: the message comes first');
      assert.match(await latest.nextRaw(), /^\{"e":3,/);
      h.latestSim.kick('hall', 'erin');
      assert.equal(await seed.nextRaw(), '{"e":5,"d":{"userId":"erin"}}');
      assert.equal(await latest.nextRaw(), '{"e":6,"d":{"id":"erin","online":false,"kicked":true}}');
      const [seedAttic, latestAttic] = await pair('attic', 'x', 'y');
      h.latestSim.closeRoom('attic');
      assert.equal(await seedAttic.nextRaw(), '{"e":7,"d":{}}');
      assert.equal(await latestAttic.nextRaw(), '{"e":8,"d":{}}');
    });

    test('room close from a seed upstream: 7 for seed dashboards, 8 for later ones; sockets stay open', async () => {
      const [seed, latest] = await pair('games', 'carol', 'carol');
      h.seedSim.closeRoom('games');
      assert.equal(await seed.nextRaw(), '{"e":7,"d":{}}');
      assert.equal(await latest.nextRaw(), '{"e":8,"d":{}}');
      h.seedSim.message('games', 'still here', 'carol');
      for (const c of [seed, latest]) assert.match(await c.nextRaw(), /"content":"still here"/);
    });

    test('a room that is not bridged, or a missing parameter: accepted, then closed 1014', async () => {
      for (const url of [h.url('attic-2', 'alice'), h.url('lobby', 'alice').replace(/&participantId=alice/, ''), h.url('nowhere', 'x', LATEST_PATH)]) {
        const c = await GatewayClient.connect(url);
        const closed = await c.waitClose();
        assert.equal(closed.code, 1014, url);
        assert.equal(c.frames.length, 0, 'no hello');
      }
    });

    test('bad input never crashes the relay: 1007 for non-JSON, 1003 for non-packets and server events', async () => {
      const watcher = await h.open('lobby', 'alice');
      const cases: [string, number][] = [['definitely not json', 1007], ['{"e":"1","d":{}}', 1003], ['[1,2]', 1003], ['{"e":3,"d":{"content":"spoof","sentAt":1}}', 1003], ['{"e":99}', 1003]];
      for (const [text, code] of cases) {
        const c = await h.open('lobby', 'mallory');
        c.sendRaw(text);
        assert.equal((await c.waitClose()).code, code, text);
      }
      h.seedSim.message('lobby', 'after the noise', 'alice');
      assert.match(await watcher.nextRaw(), /"content":"after the noise"/);
      assert.ok(!h.seedSim.received.some((p) => p.e === 3), 'nothing a dashboard sent went upstream');
      const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
      assert.match(metrics, /bridge_events_dropped_total\{dialect="gateway",direction="downstream",reason="bad_frame"\} [3-9]/);
      assert.match(metrics, /bridge_events_dropped_total\{dialect="gateway",direction="downstream",reason="unknown_event"\} [2-9]/);
    });

    test('heartbeats: server e:1 every interval; a silent dashboard is closed 4001, an answering one stays', async () => {
      const mute = await h.open('lobby', 'alice', LATEST_PATH);
      const polite = await h.open('lobby', 'bob');
      await clock.advance(60_000);
      await Promise.all([mute.next((f) => f.e === 1), polite.next((f) => f.e === 1)]);
      polite.beat();
      await polite.flush();
      await clock.advance(60_000);
      assert.deepEqual(await mute.waitClose(), { code: 4001, reason: 'room session ended: heartbeat timeout' });
      await polite.next((f) => f.e === 1);
      assert.equal(polite.ws.readyState, polite.ws.OPEN);
      h.seedSim.message('lobby', 'the links kept their own duty', 'alice');
      assert.match(await polite.nextRaw(), /the links kept their own duty/);
    });

    test('/readyz and /metrics', async () => {
      const ready = await fetch(`${h.relay.url}/readyz`);
      assert.equal(ready.status, 200);
      const detail = (await ready.json()) as { bus: { kind: string }; upstreams: Record<string, { id: string; state: string }[]> };
      assert.equal(detail.bus.kind, bus);
      assert.deepEqual(Object.values(detail.upstreams).flat().map((l) => `${l.id}:${l.state}`).sort(), ['attic:ready', 'games:ready', 'hall:ready', 'lobby:ready']);
      const text = await (await fetch(`${h.relay.url}/metrics`)).text();
      assert.match(text, /bridge_heartbeat_timeouts_total\{dialect="gateway",direction="downstream"\} [1-9]/);
      assert.match(text, /bridge_events_in_total\{protocol="gateway",upstream="seed-rooms"\} [1-9]/);
      assert.match(text, /bridge_upstream_links\{protocol="gateway",upstream="latest-rooms",state="ready"\} 2/);
      assert.match(text, /bridge_auth_failures_total\{dialect="gateway",direction="downstream",reason="unknown_room"\} [1-9]/);
      for (const id of ['lobby', 'hall', 'alice']) assert.ok(!text.includes(`"${id}"`), `no ids in metric labels (${id})`);
    });
  });
}
