/**
 * DESIGN §7 from the Wings side: a Wings dashboard watching a Semoxy (panel) server gets status,
 * console and meta messages in Wings form; a command the panel cannot take comes back as
 * `daemon error`; what the Wings dialect cannot express is counted as unmapped.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import type { PanelSimulator } from '../../adapters/panel/simulator.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const SERVER = '607c71907be61b381db28144';
const KEY = 'translation-test-key';
let relay: Relay;
let sim: PanelSimulator;
let client: WingsClient;

before(async () => {
  const config = validateConfig({
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    clients: [{ name: 'dash', key: KEY, grants: [{ upstream: 'semoxy', permissions: ['*', 'admin.websocket.errors'] }] }],
    simulators: [{ name: 'psim', protocol: 'panel', consoleIntervalMs: 0 }],
    upstreams: [{ name: 'semoxy', protocol: 'panel', simulator: 'psim', servers: [SERVER] }],
    listeners: [{ dialect: 'wings', upstreams: ['semoxy'], jwtSecret: 'translation-secret' }],
  }, ADAPTERS, 'translation test');
  relay = await Relay.start({ config, defaultMetrics: false });
  sim = relay.simulators.get('psim') as PanelSimulator;
  await eventually(() => relay.supervisor.link('semoxy', 'panel', '_')?.state === 'ready', 5000, 'panel link ready');
  const res = await fetch(`${relay.url}/api/client/servers/${SERVER}/websocket`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 200);
  const { data } = (await res.json()) as { data: { token: string; socket: string } };
  client = await WingsClient.connect(data.socket);
  client.send('auth', [data.token]);
  await client.event('auth success');
});
after(async () => {
  client.close();
  await relay.stop(500);
});

test('panel state changes, console lines and meta messages reach a Wings dashboard in Wings form', async () => {
  sim.setOnline(SERVER, 3);
  assert.deepEqual((await client.next((f) => f.event === 'status' && f.args?.[0] === 'stopping')).args, ['stopping']);
  sim.setOnline(SERVER, 0);
  assert.deepEqual((await client.next((f) => f.event === 'status' && f.args?.[0] === 'offline')).args, ['offline']);
  sim.console(SERVER, 'a line from Semoxy');
  assert.deepEqual((await client.event('console output')).args, ['a line from Semoxy']);
  sim.meta('maintenance at noon');
  assert.deepEqual((await client.event('daemon message')).args, ['maintenance at noon']);
});

test('a command the panel cannot take comes back as daemon error, not silently lost', async () => {
  client.send('send command', ['say hi']);
  const err = await client.event('daemon error');
  assert.match(err.args![0]!, /HTTP/);
});

test('what the Wings dialect cannot express (server.patch) is counted as unmapped', async () => {
  sim.setOnline(SERVER, 1);
  await client.next((f) => f.event === 'status' && f.args?.[0] === 'starting');
  const metrics = await (await fetch(`${relay.url}/metrics`)).text();
  assert.match(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="unmapped"\} [1-9]/);
});
