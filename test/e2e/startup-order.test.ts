/**
 * The start order of Relay.start: the port is bound first and, until every listener is mounted,
 * answers /healthz (and the other probes) and refuses every other request and upgrade with 503
 * `relay starting`; the start log says in plain words what the relay does while NATS is down.
 *
 * To hold the relay inside its start, its NATS "server" is a TCP listener that accepts and never
 * says anything: the bus's first connection attempt waits on it until the test closes it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { validateConfig } from '../../src/config/load.ts';
import { createLog } from '../../src/log.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { freePorts } from '../helpers/nats-server.ts';
import { rawUpgrade } from '../helpers/raw-http.ts';

const S1 = '2f4e6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a7b';
const relays: Relay[] = [];
const servers: Server[] = [];
after(async () => {
  for (const s of servers) s.close();
  await Promise.all(relays.map((r) => r.stop(500)));
});

/** A TCP server that accepts and stays silent: a NATS client's connect waits on it. */
async function muteServer(port: number): Promise<{ sockets: Set<Socket>; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { sockets, server };
}

function config(httpPort: number, natsPort: number) {
  return validateConfig(
    {
      node: { id: 'startup-order' },
      http: { host: '127.0.0.1', port: httpPort, shutdownGraceMs: 1000 },
      bus: { kind: 'nats', servers: [`nats://127.0.0.1:${natsPort}`], prefix: 'startuporder', storage: 'memory' },
      clients: [{ name: 'c', key: 'startup-order-key', grants: [{ upstream: 'up' }] }],
      simulators: [{ name: 'sim', protocol: 'wings', servers: [{ uuid: S1 }], consoleIntervalMs: 0, statsIntervalMs: 0 }],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1] }],
      listeners: [{ dialect: 'wings', upstreams: ['up'], jwtSecret: 'startup-order-jwt' }],
    },
    ADAPTERS,
    'startup-order test config',
  );
}

async function waitUntil(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

test('the port is bound before the bus, the simulators and the listeners: it answers probes and refuses the rest with 503', async () => {
  const [httpPort, natsPort] = (await freePorts(2)) as [number, number];
  const mute = await muteServer(natsPort);
  const lines: string[] = [];
  const starting = Relay.start({ config: config(httpPort, natsPort), defaultMetrics: false, log: createLog('info', {}, (l) => lines.push(l)) });
  starting.then((r) => relays.push(r), () => {});
  const base = `http://127.0.0.1:${httpPort}`;
  await waitUntil(async () => (await fetch(`${base}/healthz`)).status === 200, 'the port answers /healthz');
  await waitUntil(async () => mute.sockets.size > 0, 'the bus is trying to connect');

  assert.equal((await fetch(`${base}/readyz`)).status, 503);
  const token = await fetch(`${base}/api/client/servers/${S1}/websocket`, { headers: { authorization: 'Bearer startup-order-key' } });
  assert.equal(token.status, 503);
  assert.deepEqual(await token.json(), { error: 'relay starting', code: 'BRIDGE_ERR_STARTING' });
  const upgrade = await rawUpgrade(httpPort, `/api/servers/${S1}/ws`);
  upgrade.socket.destroy();
  assert.equal(upgrade.res.status, 503);
  assert.match(upgrade.res.body, /relay starting/);
  assert.ok(!lines.some((l) => l.includes('simulator started')), 'no simulator has started yet');

  // NATS "goes away": the first attempt fails, the relay finishes starting and keeps trying.
  for (const s of mute.sockets) s.destroy();
  mute.server.close();
  const relay = await starting;
  const ok = await fetch(`${base}/api/client/servers/${S1}/websocket`, { headers: { authorization: 'Bearer startup-order-key' } });
  assert.equal(ok.status, 200, 'every route is served once started');

  const warning = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.level === 'warn' && l.msg.startsWith('NATS'));
  assert.ok(warning, `a start warning about NATS; lines:\n${lines.join('')}`);
  assert.match(warning.msg, new RegExp(`^NATS \\(nats://127\\.0\\.0\\.1:${natsPort}\\) is not reachable yet \\(.+\\): the relay keeps trying every 5 s at most, answers /readyz with 503 meanwhile, and starts the upstream links once it connects; dashboards may connect now$`));
  assert.equal(relay.port, httpPort);
});
