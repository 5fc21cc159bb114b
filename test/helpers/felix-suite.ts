/**
 * Felix simulator → relay → Felix dashboards, over real sockets, on a given bus, with every timer
 * on a ManualClock. The same cases run on the memory bus (test/e2e) and on a real nats-server
 * (test/nats).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { DASH_KEY, LIMITED_KEY, STRANGER_KEY, listenUpdates, metricValue, startFelixRelay, type FelixHarness } from './felix-harness.ts';
import { FelixClient, waitFor } from './felix-client.ts';
import { describeOnBus, type BusKind } from './relay-harness.ts';

const has = (list: readonly string[] | undefined, ...ids: string[]) => ids.every((id) => list?.includes(id) ?? false);
const lacks = (list: readonly string[] | undefined, ...ids: string[]) => ids.every((id) => !(list?.includes(id) ?? false));

/** `natsUrl` gives the test file's own nats-server when `bus` is 'nats' (read once its `before` ran). */
export function runFelixE2E(bus: BusKind, natsUrl?: () => string): void {
  let h: FelixHarness;
  const start = async (o: { bus: BusKind; natsUrl?: string }) =>
    (h = await startFelixRelay({
      ...o,
      clock: new ManualClock(),
      // g2 is always listened to upstream, so its updates reach the bus whoever listens.
      upstream: { guilds: ['g2'] },
      extraUpstreams: [{ name: 'felix-bad', protocol: 'felix', simulator: 'sim', token: 'wrong-token' }],
    }));
  describeOnBus('felix end to end', bus, natsUrl, start, ({ keep }) => {
    const open = async (key = DASH_KEY) => keep(await h.connect(key));
    /** The newest 20002 the upstream socket sent to the simulator. */
    const lastListen = () => listenUpdates(h.sim).at(-1);

    test('a missing, wrong, Bearer-wrapped or ungranted key is refused with 403 before the upgrade', async () => {
      const before = metricValue(await h.metrics(), 'bridge_auth_failures_total', { dialect: 'felix', direction: 'downstream', reason: 'auth' });
      assert.equal(await FelixClient.refusal(h.url, undefined), 403);
      assert.equal(await FelixClient.refusal(h.url, 'wrong-key'), 403);
      assert.equal(await FelixClient.refusal(h.url, `Bearer ${DASH_KEY}`), 403, 'the key is raw, as Felix wants its token');
      assert.equal(await FelixClient.refusal(h.url, STRANGER_KEY), 403, 'a key without a grant on the listener\'s upstreams');
      const after = metricValue(await h.metrics(), 'bridge_auth_failures_total', { dialect: 'felix', direction: 'downstream', reason: 'auth' });
      assert.equal(after - before, 4);
      const c = await open(DASH_KEY);
      assert.equal(c.open, true);
    });

    test('20001 before any bot.health gets a zeroed 10001 received now', async () => {
      const c = await open();
      c.send(20001);
      const ack = await c.code(10001);
      assert.equal(ack.raw, `{"code":10001,"name":"Heartbeat ACK","data":{"receivedAt":${h.clock.now()},"shards":[],"guildsCount":0,"memoryUsage":"0.00","uptime":0}}`);
    });

    test('20001 → 10001 built from the last bot.health', async () => {
      await h.clock.advance(1000); // the link's first heartbeat; the simulator's ack becomes bot.health
      const subject = h.relay.subjects.event('felix', 'bot.health', '_');
      const health = await waitFor(() => h.relay.bus.last(subject), 'bot.health on the bus');
      const sim = h.sim.received.filter((f) => f.code === 20001);
      assert.ok(sim.length >= 1, 'the link sent 20001 upstream');
      const c = await open();
      c.send(20001);
      const ack = await c.code(10001);
      assert.equal(ack.name, 'Heartbeat ACK');
      const data = health.data as { receivedAt: number; guildsCount: number; memoryUsageMb: number; uptimeMs: number; shards: { ping?: unknown }[] };
      assert.deepEqual(ack.data, { receivedAt: data.receivedAt, shards: data.shards, guildsCount: 1312, memoryUsage: data.memoryUsageMb.toFixed(2), uptime: data.uptimeMs });
      assert.match(ack.data.memoryUsage, /^\d+\.\d{2}$/);
      assert.ok(ack.data.shards.length === 2 && ack.data.shards.every((s) => typeof s.ping === 'number'), 'shards carry ping');
    });

    test('a dashboard listening to guild g1 gets 10002 for g1 and not for g2; users likewise', async () => {
      const a = await open();
      const b = await open();
      a.listen(['u1'], ['g1']);
      b.listen([], ['g2']);
      await waitFor(() => has(h.sim.listening().guilds, 'g1') && has(h.sim.listening().users, 'u1'), 'g1 and u1 asked for upstream');
      h.sim.updateGuild('g2', { n: 1 });
      h.sim.updateGuild('g1', { n: 2 });
      h.sim.updateUser('u1', { points: 3 });
      const g2 = await b.code(10002);
      assert.deepEqual(g2.data, { guildID: 'g2', guildData: { n: 1 } }, 'g2 did reach the relay');
      const g1 = await a.code(10002);
      assert.equal(g1.raw, '{"code":10002,"name":"GDB Update","data":{"guildID":"g1","guildData":{"n":2}}}');
      const u1 = await a.code(10003);
      assert.equal(u1.raw, '{"code":10003,"name":"UDB Update","data":{"userID":"u1","userData":{"points":3}}}');
      await a.roundTrip();
      assert.equal(a.frames.filter((f) => f.code === 10002 && f.data?.guildID === 'g2').length, 0, 'no g2 for a g1 dashboard');
    });

    test('the listener union: Felix is asked for every dashboard\'s ids plus the configured ones, and forgets a leaver\'s', async () => {
      const a = await open();
      const b = await open();
      a.listen(['ua'], ['ga']);
      b.listen(['ub'], ['gb']);
      // Interest reaches Felix coalesced: at most one 20002 per window, so the test lets windows pass.
      await h.interestSettled(a, b);
      await waitFor(() => has(lastListen()?.guilds, 'ga', 'gb', 'g2') && has(lastListen()?.users, 'ua', 'ub'), 'a 20002 with both dashboards\' ids and g2');
      b.close();
      await b.waitClose();
      await h.interestSettled(a);
      await waitFor(() => lacks(lastListen()?.guilds, 'gb') && lacks(lastListen()?.users, 'ub'), 'a 20002 without the closed dashboard\'s ids');
      assert.ok(has(lastListen()?.guilds, 'ga', 'g2') && has(lastListen()?.users, 'ua'), 'the others stay');
      a.listen([], []);
      await h.interestSettled(a);
      await waitFor(() => lacks(lastListen()?.guilds, 'ga') && lacks(lastListen()?.users, 'ua'), 'a 20002 without the shrunk dashboard\'s ids');
      assert.ok(has(lastListen()?.guilds, 'g2'), 'configured guilds are always asked for');
      assert.deepEqual(h.sim.listening().guilds, [...new Set(lastListen()!.guilds)].sort(), 'Felix applied the last list');
    });

    test('grants: a dashboard limited to g1 and u1 is neither subscribed to nor asking for other ids', async () => {
      const limited = await open(LIMITED_KEY);
      const full = await open(DASH_KEY);
      full.listen([], ['g9']);
      await h.interestSettled(full);
      await waitFor(() => has(h.sim.listening().guilds, 'g9'), 'g9 asked for by the full dashboard');
      full.listen([], []);
      limited.listen(['u1', 'u9'], ['g1', 'g9', 'g8']);
      await h.interestSettled(full, limited);
      await waitFor(() => has(lastListen()?.guilds, 'g1') && lacks(lastListen()?.guilds, 'g9'), 'g1 without g9');
      assert.ok(lacks(lastListen()?.guilds, 'g8') && lacks(lastListen()?.users, 'u9'), 'ungranted ids are not asked for');
      full.listen([], ['g9']);
      await h.interestSettled(full);
      await waitFor(() => has(h.sim.listening().guilds, 'g9'), 'g9 asked for again');
      h.sim.updateGuild('g9', { secret: true });
      h.sim.updateGuild('g1', { visible: true });
      assert.equal((await full.code(10002)).data.guildID, 'g9');
      assert.equal((await limited.code(10002)).data.guildID, 'g1', 'the first update the limited dashboard sees is g1');
    });

    test('bad frames, unknown codes and half 20002s are ignored and counted; the socket stays open', async () => {
      const labels = (reason: string) => ({ dialect: 'felix', direction: 'downstream', reason });
      const before = await h.metrics();
      const c = await open();
      c.sendRaw('this is not json');
      c.sendRaw('{"code":0}');
      c.send(20002, { users: ['u1'] });
      c.send(20005, { baguette: 'baguette, indeed.' });
      const skipped = await c.roundTrip();
      assert.deepEqual(skipped, [], 'no reply to any of them');
      const after = await h.metrics();
      const delta = (reason: string) => metricValue(after, 'bridge_events_dropped_total', labels(reason)) - metricValue(before, 'bridge_events_dropped_total', labels(reason));
      assert.equal(delta('bad_frame'), 3);
      assert.equal(delta('unknown_event'), 1);
    });

    test('a wrong upstream token: 403 counted as an auth failure and retried with backoff, the relay keeps serving', async () => {
      const failures = async () => metricValue(await h.metrics(), 'bridge_auth_failures_total', { dialect: 'felix', direction: 'upstream', reason: 'forbidden' });
      await waitFor(() => h.linkState('felix-bad') === 'backoff', 'the bad link in backoff');
      assert.match(h.relay.supervisor.link('felix-bad', 'bot', '_')!.reason, /HTTP 403/);
      const first = await failures();
      assert.ok(first >= 1);
      await h.clock.advance(1000); // the backoff ceiling: the next attempt is due
      await waitFor(async () => (await failures()) > first, 'a retry, refused again');
      assert.equal(h.linkState('felix'), 'ready', 'the good link is untouched');
      assert.equal(h.sim.connectionCount(), 1, 'refused before the upgrade: no socket at the simulator');
      const c = await open();
      await c.roundTrip();
    });
  });
}
