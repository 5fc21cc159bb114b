/**
 * The Felix link's life over real sockets, with a ManualClock driving every heartbeat, ping and
 * backoff: a hung bot is detected by its missing acks, a dropped socket comes back with the
 * dashboards' listen list, demo updates flow, and the listener's id limit holds.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { DEMO_GUILDS, DEMO_USERS } from '../../adapters/felix/simulator.ts';
import { listenUpdates, metricValue, startFelixRelay, type FelixHarness, type FelixHarnessOptions } from '../helpers/felix-harness.ts';
import { waitFor, type FelixClient } from '../helpers/felix-client.ts';

let h: FelixHarness | undefined;
const clients: FelixClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.stop();
  h = undefined;
});

async function start(o: Omit<FelixHarnessOptions, 'clock'> = {}): Promise<FelixHarness> {
  h = await startFelixRelay({ clock: new ManualClock(), ...o });
  return h;
}

async function open(): Promise<FelixClient> {
  const c = await h!.connect();
  clients.push(c);
  return c;
}

/** Advances the clock one heartbeat at a time, so each 20001 can be answered before the next. */
async function beats(n: number, ms = 1000): Promise<void> {
  for (let i = 0; i < n; i++) await h!.clock.advance(ms);
}

describe('felix upstream link lifecycle', () => {
  test('a hung bot (no ack for ackTimeoutMs) is dropped with 4101, counted, and reconnected', async () => {
    const h = await start({ upstream: { ackTimeoutMs: 5000 } });
    await beats(3);
    assert.equal(h.linkState(), 'ready', 'answered heartbeats keep the link');
    h.sim.stall(true);
    await beats(5);
    await waitFor(() => h.linkState() === 'backoff', 'the link gave up on the silent socket');
    assert.match(h.relay.supervisor.link('felix', 'bot', '_')!.reason, /4101 heartbeat timeout/);
    const metrics = await h.metrics();
    assert.equal(metricValue(metrics, 'bridge_heartbeat_timeouts_total', { dialect: 'felix', direction: 'upstream' }), 1);
    h.sim.stall(false);
    await beats(1);
    await waitFor(() => h.linkState() === 'ready' && h.sim.connectionCount() === 1, 'ready again on a new socket');
    await beats(10);
    assert.equal(h.linkState(), 'ready', 'acks flow again');
  });

  test('after a dropped socket the link reconnects and asks again for what dashboards listen to', async () => {
    const h = await start({ upstream: { users: ['u-config'] } });
    const c = await open();
    c.listen([], ['g1']);
    await waitFor(() => h.sim.listening().guilds.includes('g1'), 'g1 asked for');
    h.sim.dropAll();
    await waitFor(() => h.linkState() === 'backoff', 'backoff after the drop');
    assert.equal(h.sim.connectionCount(), 0);
    await h.clock.advance(1000);
    await waitFor(() => h.linkState() === 'ready' && h.sim.connectionCount() === 1, 'reconnected');
    await waitFor(() => h.sim.listening().guilds.includes('g1'), 'the new socket asked for g1 at once');
    assert.deepEqual(h.sim.listening().users, ['u-config']);
    h.sim.updateGuild('g1', { after: 'reconnect' });
    assert.deepEqual((await c.code(10002)).data, { guildID: 'g1', guildData: { after: 'reconnect' } }, 'the dashboard session survived');
  });

  test('an unchanged union is not sent again', async () => {
    const h = await start({ upstream: { guilds: ['g1'] } });
    const sent = listenUpdates(h.sim).length;
    const c = await open();
    c.listen([], ['g1']); // already configured: the union does not change
    await h.interestSettled(c);
    c.listen([], ['g7']);
    await waitFor(() => listenUpdates(h.sim).length === sent + 1, 'one 20002 for g7');
    assert.deepEqual(listenUpdates(h.sim).at(-1), { users: [], guilds: ['g1', 'g7'] });
  });

  test('the felix link takes no commands', async () => {
    const h = await start();
    const reply = await h.relay.supervisor.link('felix', 'bot', '_')!.command({
      type: 'server.command',
      upstream: 'felix',
      resource: 'bot',
      id: '_',
      data: { line: 'x' },
    });
    assert.equal(reply.ok, false);
    assert.equal(!reply.ok && reply.code, 'BRIDGE_ERR_UNSUPPORTED_DATA');
  });
});

describe('felix through the relay', () => {
  test('the simulator\'s periodic demo updates reach a dashboard listening to those ids only', async () => {
    const h = await start({ sim: { updateIntervalMs: 3000 } });
    const c = await open();
    c.listen([DEMO_USERS[1]], [DEMO_GUILDS[0]]);
    await waitFor(() => h.sim.listening().guilds.includes(DEMO_GUILDS[0]), 'demo guild asked for');
    await h.clock.advance(3000);
    const guild = await c.code(10002);
    const user = await c.code(10003);
    assert.equal(guild.data.guildID, DEMO_GUILDS[0]);
    assert.equal(guild.data.guildData.revision, 1);
    assert.equal(user.data.userID, DEMO_USERS[1]);
    await c.roundTrip();
    const ids = c.frames.filter((f) => f.code === 10002 || f.code === 10003).map((f) => f.data.guildID ?? f.data.userID);
    assert.deepEqual(ids, [DEMO_GUILDS[0], DEMO_USERS[1]], 'nothing about ids it does not listen to');
  });

  test('a 20002 listing more than maxIds ids is ignored and counted as too_large', async () => {
    const h = await start({ listener: { maxIds: 3 } });
    const c = await open();
    c.listen(['u1', 'u2'], ['g1', 'g2']);
    await c.roundTrip();
    const metrics = await h.metrics();
    assert.equal(metricValue(metrics, 'bridge_events_dropped_total', { dialect: 'felix', direction: 'downstream', reason: 'too_large' }), 1);
    assert.deepEqual(h.sim.listening().guilds, [], 'nothing was asked for');
    c.listen(['u1'], ['g1', 'g2']);
    await waitFor(() => h.sim.listening().guilds.length === 2, 'three ids are within the limit');
  });

  test('the ping interval is the listener\'s: a silent dashboard goes at the second tick', async () => {
    const h = await start({ listener: { pingIntervalMs: 5000 } });
    const quiet = await h.connect(undefined, { autoPong: false });
    clients.push(quiet);
    await h.clock.advance(5000);
    assert.equal(quiet.open, true);
    await h.clock.advance(5000);
    assert.equal((await quiet.waitClose()).code, 1006);
  });
});
