/**
 * The Semoxy simulator on its own, against raw sockets on port 0 with a ManualClock: it must be the
 * panel REAL-BEHAVIOUR.md describes (exact bodies and texts, reusable 7200 s tickets, v2 handshake
 * errors and intents, the 20 s keep-alive), or the end-to-end tests prove nothing.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { Log } from '../../src/adapter-kit.ts';
import { PanelSimulator, type PanelSimulatorConfig } from '../../adapters/panel/simulator.ts';
import { HTTP_BODIES, PanelClient, USE_HTTP, closeAll, packet } from '../helpers/panel-client.ts';

const S = '607c71907be61b381db28144';
const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
let sim: PanelSimulator | undefined;
const clients: PanelClient[] = [];
afterEach(async () => {
  await closeAll(clients);
  await sim?.close();
  sim = undefined;
});

async function start(config: Partial<PanelSimulatorConfig> = {}, clock = new ManualClock()) {
  sim = await PanelSimulator.start({ config: { consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ id: S, name: 'Survival', onlineStatus: 0 }], ...config } as PanelSimulatorConfig, clock, log: silent }, '127.0.0.1', 0);
  const ws = sim.endpoint.url.replace(/^http/, 'ws');
  const open = async (query = '', autoPong = true) => {
    const c = await PanelClient.connect(`${ws}/server/events${query}`, { autoPong });
    clients.push(c);
    return c;
  };
  const ticket = async (auth?: string) => {
    const res = await fetch(`${sim!.endpoint.url}/account/ticket`, auth ? { headers: { authorization: auth } } : {});
    return { status: res.status, body: (await res.json()) as any };
  };
  return { sim, clock, ws, open, ticket };
}

describe('panel simulator, ticket era (v1)', () => {
  test('tickets: Bearer/Token session, Semoxy\'s 401 bodies, reusable for 7200 s', async () => {
    const { sim, clock, ws, open, ticket } = await start();
    assert.deepEqual(await ticket(), { status: 401, body: HTTP_BODIES.notLoggedIn });
    assert.deepEqual(await ticket('Bearer wrong'), { status: 401, body: HTTP_BODIES.notLoggedIn });
    const ok = await ticket(`Token ${sim.endpoint.credentials.session}`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body.success, 'ticket created');
    assert.equal(sim.ticketsIssued, 1);
    const q = `?ticket=${encodeURIComponent(ok.body.data.token)}`;
    await open(q);
    await open(q);
    assert.equal(sim.connectionCount(), 2, 'the original ticket is reusable');
    const refused = async (query: string) => {
      const r = await PanelClient.refusal(`${ws}/server/events${query}`);
      return [r.status, r.body];
    };
    assert.deepEqual(await refused('?ticket='), [401, HTTP_BODIES.noTicket]);
    assert.deepEqual(await refused('?ticket=nope'), [401, HTTP_BODIES.invalid]);
    await closeAll(clients);
    await clock.advance(7_200_000);
    assert.deepEqual(await refused(q), [401, HTTP_BODIES.expired]);
    assert.deepEqual(await refused(q), [401, HTTP_BODIES.invalid]);
  });

  test('v1 socket: every frame gets the use-http META_MESSAGE; a start clears consoles first; no stats', async () => {
    const { sim, clock, open, ticket } = await start({ version: 'v1', startupMs: 1500 });
    const t = (await ticket(`Bearer ${sim.endpoint.credentials.session}`)).body.data.token as string;
    const c = await open(`?ticket=${t}`);
    c.sendRaw('{broken');
    assert.deepEqual(packet(await c.next()), USE_HTTP);
    assert.deepEqual(sim.received.map((r) => [r.version, r.action]), [['v1', null]]);
    sim.stats(S, 1, 1);
    sim.setOnline(S, 1);
    assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: S, patch: { consoleOut: [] } } });
    assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: S, patch: { onlineStatus: 1 } } });
    await clock.advance(1499);
    assert.equal(sim.onlineStatus(S), 1);
    await clock.advance(1);
    // Semoxy reads the "Done" line, sets status 2, then broadcasts the line.
    assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: S, patch: { onlineStatus: 2 } } });
    const done = await c.next();
    assert.equal(done.action, 'CONSOLE_LINE');
    assert.match(done.data.message, /Done \(1\.500s\)! For help, type "help"$/);
  });

  test('a v1-only panel refuses a socket without a ticket; a v2-only panel has no ticket route', async () => {
    const v1 = await start({ version: 'v1' });
    const r = await PanelClient.refusal(`${v1.ws}/server/events`);
    assert.deepEqual([r.status, r.body], [401, HTTP_BODIES.noTicket]);
    await v1.sim.close();
    const v2 = await start({ version: 'v2' });
    assert.equal((await v2.ticket(`Bearer ${v2.sim.endpoint.credentials.session}`)).status, 404);
  });
});

describe('panel simulator, AUTHENTICATE era (v2)', () => {
  test('nothing before AUTHENTICATE; bad and expired sessions; anything else first; malformed packets', async () => {
    const { sim, open } = await start({ sessions: ['good', 'old'] });
    const bad = await open();
    bad.send('AUTHENTICATE', { sessionId: 'nope' });
    assert.deepEqual(packet(await bad.next()), { action: 'AUTH_ERROR', data: { message: 'invalid session' } });
    assert.equal((await bad.closed).code, 1000, 'Semoxy closes with a bare ws.close()');
    sim.expireSession('old');
    const old = await open();
    old.send('AUTHENTICATE', { sessionId: 'old' });
    assert.deepEqual(packet(await old.next()), { action: 'AUTH_ERROR', data: { message: 'session expired' } });
    const early = await open();
    sim.meta('not for unauthenticated sockets');
    early.send('ENABLE_INTENT', { intent: 'console.*' });
    assert.deepEqual(packet(await early.next()), { action: 'AUTH_ERROR', data: { message: 'you are not authenticated' } });
    const garbled = await open();
    garbled.send('AUTHENTICATE', { session: 'good' });
    assert.deepEqual(packet(await garbled.next()), { action: 'META_MESSAGE', data: { message: 'malformed packet' } });
    await garbled.closed;
  });

  test('intents gate CONSOLE_MESSAGE and STAT_UPDATE; a start is a SERVER_START event then the state change', async () => {
    const { sim, open } = await start({ sessions: ['good'] });
    const c = await open();
    c.send('AUTHENTICATE', { sessionId: 'good' });
    assert.deepEqual(packet(await c.next()), { action: 'AUTH_SUCCESS', data: {} });
    c.send('FLY', {});
    assert.deepEqual(packet(await c.next()), { action: 'META_MESSAGE', data: { message: 'unsupported action: FLY' } });
    sim.console(S, 'gated');
    sim.stats(S, 10, 1);
    sim.setOnline(S, 1);
    const event = await c.next();
    assert.deepEqual([event.action, event.data.serverId, event.data.eventData], ['SERVER_START', S, {}]);
    assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: S, patch: { onlineStatus: 1 } } });
    c.send('ENABLE_INTENT', { intent: `console.${S}` });
    assert.deepEqual(packet(await c.next()), { action: 'INTENT_ENABLED', data: { intent: `console.${S}` } });
    c.send('ENABLE_INTENT', { intent: 'stat.*' });
    await c.action('INTENT_ENABLED');
    sim.console(S, 'shown');
    const line = await c.next();
    assert.deepEqual([line.action, line.data.serverId, line.data.eventData], ['CONSOLE_MESSAGE', S, { message: 'shown' }]);
    assert.match(line.data.id, /^[0-9a-f]{24}$/);
    sim.stats(S, 10, 1);
    assert.deepEqual(packet(await c.next()), { action: 'STAT_UPDATE', data: { serverId: S, ramUsage: 10, cpuUsage: 1 } });
    assert.deepEqual(sim.received.map((r) => r.action), ['AUTHENTICATE', 'FLY', 'ENABLE_INTENT', 'ENABLE_INTENT']);
  });
});

describe('panel simulator, keep-alive', () => {
  test('a ping every 20 s; a ping still unanswered at the next one closes with 1011', async () => {
    const { sim, clock, open } = await start({ version: 'v2', sessions: ['good'] });
    const alive = await open();
    const silent = await open('', false);
    await clock.advance(20_000);
    await alive.waitPings(1);
    await silent.waitPings(1);
    // A pong leaves before a later frame; the answer to that frame proves the pong was read.
    alive.send('AUTHENTICATE', { sessionId: 'good' });
    await alive.action('AUTH_SUCCESS');
    assert.equal(sim.pongsReceived, 1);
    await clock.advance(20_000);
    assert.deepEqual(await silent.closed, { code: 1011, reason: 'keepalive ping timeout' });
    await alive.waitPings(2);
    assert.equal(alive.ws.readyState, alive.ws.OPEN);
  });
});
