/**
 * Issue 11: two relays on one NATS both opened the same Wings socket, each published every event,
 * and a dashboard received every console line twice (and `send logs` returned interleaved copies).
 * Now the relay that holds a link's lease is the only one that opens it: one socket, each line once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../src/clock.ts';
import { validateConfig } from '../../src/config/load.ts';
import { createLog } from '../../src/log.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { useNatsServer } from '../helpers/nats-server.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const S1 = '7d7d7d7d-0000-4000-8000-000000000007';
const KEY = 'ptlc_two_relays_key';
// Inside a suite: top-level `before` hooks do not wait for each other.
describe('two relays, one NATS', () => {
  const nats = useNatsServer();
  let sim: WingsSimulator;
  const relays: Relay[] = [];
  const clients: WingsClient[] = [];

  before(async () => {
    sim = await WingsSimulator.start({ clock: systemClock, log: createLog('silent'), config: { apiKey: 'sim-key', consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ uuid: S1, state: 'running' }] } as never }, '127.0.0.1', 0);
    const prefix = `two${randomBytes(3).toString('hex')}`;
    for (const id of ['relay-a', 'relay-b']) {
      const config = validateConfig(
        {
          node: { id },
          http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 },
          bus: { kind: 'nats', prefix, servers: [nats.url], storage: 'memory' },
          log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
          clients: [{ name: 'admin', key: KEY, grants: [{ upstream: 'up' }] }],
          upstreams: [{ name: 'up', protocol: 'wings', panelUrl: sim.endpoint.url, apiKey: 'sim-key', servers: [S1] }],
          listeners: [{ dialect: 'wings', upstreams: ['up'], jwtSecret: 'two-relays-secret' }],
        },
        ADAPTERS,
        `${id} config`,
      );
      relays.push(await Relay.start({ config, defaultMetrics: false }));
    }
  });

  after(async () => {
    for (const c of clients) c.terminate();
    await Promise.all(relays.map((r) => r.stop(500)));
    await sim?.close();
  });

  test('two relays on one NATS: one upstream socket, and a dashboard gets each console line once', async () => {
    await eventually(() => relays.some((r) => r.supervisor.link('up', 'server', S1)?.state === 'ready'), 10_000, 'a link ready');
    // Give the other relay every chance to open its own.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(sim.connectionCount(S1), 1, 'one socket to the Wings server');

    const res = await fetch(`${relays[1]!.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${KEY}` } });
    const { data } = (await res.json()) as { data: { token: string; socket: string } };
    const c = await WingsClient.connect(data.socket);
    clients.push(c);
    c.send('auth', [data.token]);
    await c.event('auth success');
    await eventually(() => {
      sim.console(S1, 'probe');
      return c.frames.some((f) => f.args?.[0] === 'probe');
    }, 5000, 'the dashboard hears the server');
    for (let i = 1; i <= 5; i++) sim.console(S1, `once ${i}`);
    await eventually(() => c.frames.some((f) => f.args?.[0] === 'once 5'), 5000, 'the last line');
    await new Promise((r) => setTimeout(r, 300));
    const lines = c.frames.filter((f) => f.event === 'console output' && f.args?.[0]?.startsWith('once ')).map((f) => f.args![0]);
    assert.deepEqual(lines, ['once 1', 'once 2', 'once 3', 'once 4', 'once 5']);
  });
});
