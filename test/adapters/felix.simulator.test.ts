/**
 * The Felix simulator against real sockets on port 0, with a ManualClock driving every timer. "No
 * reply" is proven with a barrier: `20001` is answered at once and in order, so when the next frame
 * is its `10001`, nothing was sent before it.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { Log } from '../../src/adapter-kit.ts';
import { DEMO_GUILDS, DEMO_USERS, FelixSimulator, type FelixSimulatorConfig } from '../../adapters/felix/simulator.ts';
import { FelixClient, waitFor } from '../helpers/felix-client.ts';

const TOKEN = 'felix_sim_test_token';
const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

let sim: FelixSimulator | undefined;
const clients: FelixClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sim?.close();
  sim = undefined;
});

async function start(config: Partial<FelixSimulatorConfig> = {}): Promise<{ sim: FelixSimulator; clock: ManualClock; url: string }> {
  const clock = new ManualClock();
  // A partial config: the simulator fills in the defaults, as it does for the core's.
  const partial = { tokens: [TOKEN], updateIntervalMs: 0, ...config } as FelixSimulatorConfig;
  sim = await FelixSimulator.start({ config: partial, clock, log: silent }, '127.0.0.1', 0);
  return { sim, clock, url: sim.endpoint.url.replace(/^http/, 'ws') };
}

async function open(url: string, options: { autoPong?: boolean } = {}): Promise<FelixClient> {
  const c = await FelixClient.connect(url, TOKEN, options);
  clients.push(c);
  return c;
}

test('Authorization must equal a configured token exactly, else 403 before the upgrade; any path', async () => {
  const { sim, url } = await start();
  assert.deepEqual(sim.endpoint.credentials, { token: TOKEN });
  assert.equal(await FelixClient.refusal(url, undefined), 403);
  assert.equal(await FelixClient.refusal(url, 'nope'), 403);
  assert.equal(await FelixClient.refusal(url, `Bearer ${TOKEN}`), 403);
  assert.equal(await FelixClient.refusal(url, `${TOKEN}x`), 403);
  for (const path of ['', '/', '/ws', '/api/v1/socket']) await open(`${url}${path}`);
  assert.equal(sim.connectionCount(), 4);
});

test('20001 → 10001 at once: name, receivedAt now, memoryUsage as MB string, shards with ping', async () => {
  const { sim, clock, url } = await start({ shards: 3, guildsCount: 7 });
  const c = await open(url);
  await clock.advance(12_345);
  c.send(20001);
  const ack = await c.code(10001);
  assert.equal(ack.name, 'Heartbeat ACK');
  assert.ok(ack.raw.startsWith('{"code":10001,"name":"Heartbeat ACK","data":{'), 'code, name, data in Felix\'s order');
  assert.equal(ack.data.receivedAt, clock.now());
  assert.equal(ack.data.guildsCount, 7);
  assert.equal(ack.data.uptime, 12_345);
  assert.equal(typeof ack.data.memoryUsage, 'string');
  assert.match(ack.data.memoryUsage, /^\d+\.\d{2}$/);
  assert.deepEqual(ack.data.shards.map((s: { id: number }) => s.id), [0, 1, 2]);
  assert.ok(ack.data.shards.every((s: { ping?: unknown; latency?: unknown }) => typeof s.ping === 'number' && s.latency === undefined));
  assert.deepEqual(sim.received.map((f) => f.code), [20001]);
});

test('20002 replaces the lists only when both are arrays; updates go only to sockets listening', async () => {
  const { sim, url } = await start();
  const a = await open(url);
  const b = await open(url);
  a.listen(['u1'], ['g1', 'g2']);
  b.listen([], ['g2']);
  await a.roundTrip();
  await b.roundTrip();
  a.send(20002, { guilds: ['g9'] }); // users missing: not applied
  a.send(20002, { users: null, guilds: ['g9'] });
  await a.roundTrip();
  const listening = sim.listening();
  assert.deepEqual([listening.users, listening.guilds], [['u1'], ['g1', 'g2']]);
  assert.deepEqual(listening.sockets.map((s) => s.guilds), [['g1', 'g2'], ['g2']]);

  assert.equal(sim.updateGuild('g1', { v: 1 }), 1);
  assert.equal(sim.updateGuild('g2', { v: 2 }), 2);
  assert.equal(sim.updateGuild('g3', { v: 3 }), 0);
  assert.equal(sim.updateUser('u1', { p: 4 }), 1);
  assert.equal((await a.code(10002)).raw, '{"code":10002,"name":"GDB Update","data":{"guildID":"g1","guildData":{"v":1}}}');
  assert.equal((await a.code(10002)).data.guildID, 'g2');
  assert.equal((await a.code(10003)).raw, '{"code":10003,"name":"UDB Update","data":{"userID":"u1","userData":{"p":4}}}');
  assert.deepEqual(await b.roundTrip(), [{ code: 10002, name: 'GDB Update', data: { guildID: 'g2', guildData: { v: 2 } }, raw: '{"code":10002,"name":"GDB Update","data":{"guildID":"g2","guildData":{"v":2}}}' }]);

  a.listen([], []);
  await a.roundTrip();
  assert.equal(sim.updateGuild('g1', { v: 5 }), 0, 'an emptied list stops updates');
});

test('bad frames, falsy and unknown codes get no reply and the socket stays open', async () => {
  const { sim, url } = await start();
  const c = await open(url);
  for (const raw of ['not json', '{}', '{"code":0}', '{"code":null}', '{"code":"20001"}', '{"code":20005,"data":{"baguette":"baguette, indeed."}}']) c.sendRaw(raw);
  assert.deepEqual(await c.roundTrip(), []);
  assert.deepEqual(sim.received.map((f) => f.code), [20005, 20001], 'only frames with a usable code are recorded');
});

test('periodic demo updates, only for listened ids', async () => {
  const { clock, url } = await start({ updateIntervalMs: 3000 });
  const c = await open(url);
  c.listen([], [DEMO_GUILDS[1]]);
  await c.roundTrip();
  await clock.advance(3000);
  assert.equal((await c.code(10002)).data.guildData.revision, 1);
  await clock.advance(3000);
  assert.equal((await c.code(10002)).data.guildData.revision, 2);
  await c.roundTrip();
  const updates = c.frames.filter((f) => f.code === 10002 || f.code === 10003);
  assert.deepEqual(updates.map((f) => f.data.guildID), [DEMO_GUILDS[1], DEMO_GUILDS[1]]);
});

test('updateIntervalMs 0 sends no demo updates', async () => {
  const { clock, url } = await start({ updateIntervalMs: 0 });
  const c = await open(url);
  c.listen([...DEMO_USERS], [...DEMO_GUILDS]);
  await c.roundTrip();
  await clock.advance(30_000);
  assert.deepEqual(await c.roundTrip(), []);
});

test('the ping sweep terminates a socket that did not pong since the previous sweep', async () => {
  const { sim, clock, url } = await start({ pingIntervalMs: 30_000 });
  const quiet = await open(url, { autoPong: false });
  const lively = await open(url);
  await clock.advance(30_000);
  await lively.roundTrip(); // its pong was written before this heartbeat
  assert.equal(quiet.open, true, 'one sweep without a pong is allowed');
  await clock.advance(30_000);
  assert.equal((await quiet.waitClose()).code, 1006);
  await lively.roundTrip();
  assert.equal(sim.connectionCount(), 1);
});

test('dropAll terminates every socket; stall silences acks and updates, not the socket', async () => {
  const { sim, url } = await start();
  const a = await open(url);
  a.listen([], ['g1']);
  await a.roundTrip();
  sim.stall(true);
  a.send(20001);
  await waitFor(() => sim.received.filter((f) => f.code === 20001).length === 2, 'the stalled heartbeat arrived');
  assert.equal(sim.updateGuild('g1', {}), 0);
  sim.stall(false);
  await a.roundTrip();
  assert.deepEqual(a.frames.map((f) => f.code), [10001, 10001], 'the stalled heartbeat got nothing');
  await open(url);
  await waitFor(() => sim.connectionCount() === 2, 'two sockets');
  sim.dropAll();
  assert.equal((await a.waitClose()).code, 1006);
  await waitFor(() => sim.connectionCount() === 0, 'no sockets');
});
