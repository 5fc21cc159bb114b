/**
 * Starts a real relay on port 0 with a real Wings simulator as its upstream, from a config built
 * the way a user writes one (through the config loader), on the memory bus or on NATS.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.ts';
import type { Log } from '../../src/contracts.ts';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { requireNatsUrl } from './nats-server.ts';
import { eventually } from './wings-client.ts';

export const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
export const S2 = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
export const ADMIN_KEY = 'ptlc_test_admin_key';
export const VIEWER_KEY = 'ptlc_test_viewer_key';
export const JWT_SECRET = 'test-relay-jwt-secret';

export interface HarnessOptions {
  bus?: 'memory' | 'nats';
  /** The nats-server for `bus: 'nats'` (the test file starts its own). */
  natsUrl?: string;
  clock?: Clock;
  random?: () => number;
  sim?: Record<string, unknown>;
  listener?: Record<string, unknown>;
  upstream?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  /** The relay's log (default: silent unless TEST_LOG). */
  log?: Log;
  /** Merged into the `http` section (e.g. allowedHosts, trustedProxies). */
  http?: Record<string, unknown>;
  prefix?: string;
}

export interface Harness {
  relay: Relay;
  sim: WingsSimulator;
  /** ws:// URL of a server's socket on the relay. */
  socketUrl(server?: string): string;
  /** Fetches a token from the relay's panel-compatible endpoint. */
  token(server?: string, key?: string): Promise<{ status: number; body: any; contentType: string | null }>;
  stop(): Promise<void>;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const prefix = o.prefix ?? `t${randomBytes(4).toString('hex')}`;
  const config = validateConfig(
    {
      node: { id: 'test-node' },
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000, ...o.http },
      bus: o.bus === 'nats'
        ? { kind: 'nats', prefix, servers: [requireNatsUrl(o.natsUrl)], storage: 'memory' }
        : { kind: 'memory', prefix },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      clients: [
        { name: 'admin', key: ADMIN_KEY, grants: [{ upstream: 'up', permissions: ['*', 'admin.websocket.errors', 'admin.websocket.install'] }] },
        { name: 'viewer', key: VIEWER_KEY, grants: [{ upstream: 'up', resources: [S1], permissions: ['websocket.connect'] }] },
      ],
      simulators: [
        {
          name: 'sim',
          protocol: 'wings',
          consoleIntervalMs: 0,
          statsIntervalMs: 0,
          startupMs: 100,
          stopMs: 100,
          servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'offline' }],
          ...o.sim,
        },
      ],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1, S2], ...o.upstream }],
      listeners: [{ name: 'wings', dialect: 'wings', upstreams: ['up'], jwtSecret: JWT_SECRET, ...o.listener }],
      limits: { backoffInitialMs: 50, backoffMaxMs: 1000, ...o.limits },
    },
    ADAPTERS,
    'test config',
  );
  const relay = await Relay.start({
    config,
    defaultMetrics: false,
    ...(o.log ? { log: o.log } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
  const sim = relay.simulators.get('sim') as WingsSimulator;
  const wsBase = relay.url.replace(/^http/, 'ws');
  return {
    relay,
    sim,
    socketUrl: (server = S1) => `${wsBase}/api/servers/${server}/ws`,
    async token(server = S1, key = ADMIN_KEY) {
      const res = await fetch(`${relay.url}/api/client/servers/${server}/websocket`, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' } });
      return { status: res.status, body: await res.json(), contentType: res.headers.get('content-type') };
    },
    async stop() {
      await relay.stop(500);
      if (o.bus === 'nats') {
        const bus = relay.bus as unknown as { deleteStreams?: () => Promise<void> };
        // Streams are per prefix; a second connection removes them after this relay drained.
        const { NatsBus } = await import('../../src/bus/nats.ts');
        const cleaner = new NatsBus({ servers: [requireNatsUrl(o.natsUrl)], prefix, storage: 'memory' });
        await cleaner.start();
        await cleaner.deleteStreams();
        await cleaner.drain();
        void bus;
      }
    },
  };
}

/** Waits until every link of the harness's upstream is ready. */
export async function linksReady(h: Harness, servers: string[] = [S1, S2]): Promise<void> {
  await eventually(() => servers.every((s) => h.relay.supervisor.link('up', 'server', s)?.state === 'ready'), 5000, 'links ready');
}
