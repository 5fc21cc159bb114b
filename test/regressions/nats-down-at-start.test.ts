/**
 * Defect 6 of issue 9: with NATS unreachable the relay exited 1 (CONNECTION_REFUSED), so a NATS
 * maintenance window became a crash loop. Now it starts, serves /healthz, answers /readyz 503
 * naming the bus and its last error, keeps trying, and once a nats-server appears on that port
 * everything works as if it had been there: the dashboard that connected meanwhile gets events,
 * the link has started, and its `upstream.state` is retained in the stream made on connect.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import type { FelixSimulator } from '../../adapters/felix/simulator.ts';
import { FelixClient, waitFor } from '../helpers/felix-client.ts';
import { freePorts, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';

const KEY = 'nats-down-dashboard-key';
const SECRET_TOKEN = 'nats-down-secret-bus-token';

let relay: Relay | undefined;
let nats: NatsServerHandle | undefined;
let dashboard: FelixClient | undefined;
after(async () => {
  dashboard?.close();
  await relay?.stop(500);
  await nats?.stop();
});

async function get(path: string): Promise<{ status: number; body: any; text: string }> {
  const res = await fetch(`${relay!.url}${path}`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text), text };
}

test('the relay starts without NATS, says why it is not ready, and works once NATS is up', async () => {
  const [port] = await freePorts(1);
  const config = validateConfig(
    {
      node: { id: 'nats-down-node' },
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 },
      // A token the server does not need: it must not show in /readyz.
      bus: { kind: 'nats', prefix: 'natsdown', servers: [`nats://127.0.0.1:${port}`], storage: 'memory', token: SECRET_TOKEN },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      clients: [{ name: 'dash', key: KEY, grants: [{ upstream: 'felix' }] }],
      simulators: [{ name: 'sim', protocol: 'felix', tokens: ['sim-token'], updateIntervalMs: 0 }],
      upstreams: [{ name: 'felix', protocol: 'felix', simulator: 'sim' }],
      listeners: [{ name: 'felix', dialect: 'felix', path: '/felix', upstreams: ['felix'] }],
    },
    ADAPTERS,
    'nats-down test config',
  );
  relay = await Relay.start({ config, defaultMetrics: false });

  assert.equal((await get('/healthz')).status, 200);
  const down = await get('/readyz');
  assert.equal(down.status, 503);
  assert.equal(down.body.bus.state, 'connecting');
  assert.match(down.body.reason, /^bus connecting: .*CONNECTION_REFUSED/);
  assert.match(down.body.bus.lastError, /CONNECTION_REFUSED/);
  assert.ok(!down.text.includes(SECRET_TOKEN), 'no credential in /readyz');
  assert.deepEqual(relay.supervisor.status().felix!.map((l) => l.state), ['idle'], 'links wait for the bus');

  // A dashboard that arrives while NATS is down: its subscription is made once the bus connects.
  dashboard = await FelixClient.connect(`${relay.url.replace(/^http/, 'ws')}/felix`, KEY);
  dashboard.listen([], ['g1']);
  await dashboard.roundTrip();

  nats = await startNatsServer({ port });
  await waitFor(async () => (await get('/readyz')).status === 200, 'ready once NATS is up', 15_000);
  const up = await get('/readyz');
  assert.equal(up.body.bus.state, 'connected');
  assert.equal(up.body.reason, undefined);
  assert.equal(up.body.bus.lastError, undefined);

  const sim = relay.simulators.get('sim') as FelixSimulator;
  await waitFor(() => relay!.supervisor.link('felix', 'bot', '_')?.state === 'ready', 'the felix link started and is ready');
  await waitFor(() => sim.listening().guilds.includes('g1'), 'the dashboard interest reached the bot');
  sim.updateGuild('g1', { after: 'nats came up' });
  const update = await dashboard.code(10002);
  assert.deepEqual(update.data, { guildID: 'g1', guildData: { after: 'nats came up' } });

  // The link's state went through the bus into the last-value stream ensured on connect.
  const state = await relay.bus.last(relay.subjects.event('felix', 'upstream.state', '_'));
  assert.equal((state?.data as { state?: string } | undefined)?.state, 'ready');
});
