/**
 * Issue 9, defect 3 (the simulator part): the built-in Felix simulator, which the demo runs for
 * as long as `npm start` lives, kept every frame it received in an unbounded array; so did the
 * other four. Each now keeps the newest RECORD_LIMIT (1 000) records.
 *
 * Each simulator is fed 1 200 frames it records, over a real socket, and must hold at most 1 000,
 * the newest last.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ManualClock } from '../../src/clock.ts';
import type { Log, Simulator } from '../../src/adapter-kit.ts';
import { CloudEventsSimulator, type CloudEventsSimulatorConfig } from '../../adapters/cloudevents/simulator.ts';
import { FelixSimulator, type FelixSimulatorConfig } from '../../adapters/felix/simulator.ts';
import { GatewaySimulator, type GatewaySimulatorConfig } from '../../adapters/gateway/simulator.ts';
import { PanelSimulator, type PanelSimulatorConfig } from '../../adapters/panel/simulator.ts';
import { WingsSimulator, type WingsSimulatorConfig } from '../../adapters/wings/simulator.ts';
import { eventually } from '../helpers/wings-client.ts';

const LIMIT = 1000;
const SENT = 1200;
const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
const ctx = <C>(config: Partial<C>) => ({ config: config as C, clock: new ManualClock(), log: silent });

let sim: Simulator | undefined;
let ws: WebSocket | undefined;
afterEach(async () => {
  ws?.terminate();
  await sim?.close();
  sim = ws = undefined;
});

/** Opens a socket, sends `frame(i)` SENT times, and waits until `count()` stops short of growing past SENT. */
async function flood(url: string, headers: Record<string, string>, frame: (i: number) => string, received: () => unknown[]): Promise<void> {
  ws = new WebSocket(url, { headers, perMessageDeflate: false });
  await new Promise((resolve, reject) => ws!.once('open', resolve).once('error', reject));
  for (let i = 0; i < SENT; i++) ws.send(frame(i));
  // The newest frame is recorded last: once it is there, every frame was seen.
  await eventually(() => JSON.stringify(received().at(-1) ?? null).includes(`n${SENT - 1}`), 4000, 'the last frame recorded');
  assert.ok(received().length <= LIMIT, `${received().length} records kept`);
}

const wsUrl = (s: Simulator, path: string) => `${s.endpoint.url.replace(/^http/, 'ws')}${path}`;

test('felix simulator: bounded records', async () => {
  const s = await FelixSimulator.start(ctx<FelixSimulatorConfig>({ tokens: ['t'], updateIntervalMs: 0 }), '127.0.0.1', 0);
  sim = s;
  await flood(wsUrl(s, '/'), { authorization: 't' }, (i) => JSON.stringify({ code: 20002, data: { users: [`n${i}`], guilds: [] } }), () => s.received);
});

test('wings simulator: bounded records', async () => {
  const uuid = '11111111-2222-4333-8444-555555555555';
  const s = await WingsSimulator.start(ctx<WingsSimulatorConfig>({ apiKey: 'k', nodeToken: 'n', servers: [{ uuid, state: 'offline' }], consoleIntervalMs: 0, statsIntervalMs: 0 } as never), '127.0.0.1', 0);
  sim = s;
  await flood(wsUrl(s, `/api/servers/${uuid}/ws`), { origin: s.endpoint.url }, (i) => JSON.stringify({ event: 'send command', args: [`n${i}`] }), () => s.received);
});

test('panel simulator: bounded records', async () => {
  const s = await PanelSimulator.start(ctx<PanelSimulatorConfig>({ consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ id: '607c71907be61b381db28144', name: 'S', onlineStatus: 0 }] } as never), '127.0.0.1', 0);
  sim = s;
  const res = await fetch(`${s.endpoint.url}/account/ticket`, { headers: { authorization: `Bearer ${s.endpoint.credentials.session}` } });
  const ticket = ((await res.json()) as { data: { token: string } }).data.token;
  await flood(wsUrl(s, `/server/events?ticket=${ticket}`), {}, (i) => JSON.stringify({ action: 'HELLO', data: { n: `n${i}` } }), () => s.received);
});

test('gateway simulator: bounded records', async () => {
  const s = await GatewaySimulator.start(ctx<GatewaySimulatorConfig>({ messageIntervalMs: 0, heartbeatIntervalMs: 60_000, rooms: [{ id: 'lobby', participants: [{ id: 'bob' }] }] } as never), '127.0.0.1', 0);
  sim = s;
  await flood(wsUrl(s, '/gateway?roomId=lobby&participantId=bob'), {}, (i) => JSON.stringify({ e: 1, d: { n: `n${i}` } }), () => s.received);
});

test('cloudevents simulator: bounded records', async () => {
  const s = await CloudEventsSimulator.start(ctx<CloudEventsSimulatorConfig>({ apiKey: 'k', upstream: 'far', servers: ['s-1'], intervalMs: 0, pingIntervalMs: 0 }), '127.0.0.1', 0);
  sim = s;
  await flood(wsUrl(s, '/cloudevents'), { authorization: 'Bearer k' }, (i) => JSON.stringify({ op: 'subscribe', subject: `far.server.n${i}.console` }), () => s.received);
});
