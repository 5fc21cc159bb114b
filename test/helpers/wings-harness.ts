/**
 * The Wings dialect on the generic relay harness: a Wings simulator (S1 running, S2 offline) as
 * upstream `up`, a Wings listener, an admin and a viewer key.
 */
import type { Relay } from '../../src/relay.ts';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { quietSimulator } from '../../bench/quiet-simulators.ts';
import { eventually } from './frame-queue.ts';
import { startRelay, type Overrides, type Section, type StartOptions } from './relay-harness.ts';

export const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
export const S2 = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
export const ADMIN_KEY = 'ptlc_test_admin_key';
export const VIEWER_KEY = 'ptlc_test_viewer_key';
export const JWT_SECRET = 'test-relay-jwt-secret';

export interface HarnessOptions extends Partial<StartOptions>, Overrides {
  /** Merged into the `http` section (e.g. allowedHosts, trustedProxies). */
  http?: Section;
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
  const h = await startRelay(
    {
      http: { ...o.http },
      clients: [
        { name: 'admin', key: ADMIN_KEY, grants: [{ upstream: 'up', permissions: ['*', 'admin.websocket.errors', 'admin.websocket.install'] }] },
        { name: 'viewer', key: VIEWER_KEY, grants: [{ upstream: 'up', resources: [S1], permissions: ['websocket.connect'] }] },
      ],
      simulators: [quietSimulator('wings', 'sim', { startupMs: 100, stopMs: 100, servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'offline' }], ...o.sim })],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1, S2], ...o.upstream }],
      listeners: [{ name: 'wings', dialect: 'wings', upstreams: ['up'], jwtSecret: JWT_SECRET, ...o.listener }],
      limits: { backoffInitialMs: 50, backoffMaxMs: 1000, ...o.limits },
    },
    { ...o, bus: o.bus ?? 'memory' },
  );
  const { relay } = h;
  return {
    relay,
    sim: relay.simulators.get('sim') as WingsSimulator,
    socketUrl: (server = S1) => h.ws(`/api/servers/${server}/ws`),
    async token(server = S1, key = ADMIN_KEY) {
      const res = await fetch(`${relay.url}/api/client/servers/${server}/websocket`, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' } });
      return { status: res.status, body: await res.json(), contentType: res.headers.get('content-type') };
    },
    stop: () => h.stop(),
  };
}

/** Waits until every link of the harness's upstream is ready. */
export async function linksReady(h: Harness, servers: string[] = [S1, S2]): Promise<void> {
  await eventually(() => servers.every((s) => h.relay.supervisor.link('up', 'server', s)?.state === 'ready'), 5000, 'links ready');
}
