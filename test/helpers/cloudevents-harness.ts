/**
 * Relays with the CloudEvents adapter, on port 0, from configs built the way a user writes them
 * (through the config loader), on the memory bus or on NATS. The adapter is added to the core's
 * list here rather than in src/registry.ts.
 *
 * - relay A: the Wings simulator as upstream `up` (servers S1 running, S2 offline), a CloudEvents
 *   listener on /cloudevents and a second one on /cloudevents-capped with `maxSubscriptions: 2`;
 * - relay B: a `cloudevents` upstream `a` pointed at relay A's listener (relay chaining), and its
 *   own CloudEvents listener.
 */
import { randomBytes } from 'node:crypto';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import type { Clock } from '../../src/clock.ts';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { requireNatsUrl } from './nats-server.ts';
import { eventually } from './wings-client.ts';

export const ALL_ADAPTERS = ADAPTERS;

export const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
export const S2 = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
/** Every server of `up`, every permission (install output included). */
export const ADMIN_KEY = 'ce_test_admin_key';
/** Only S1 of `up`, without the install permission. */
export const VIEWER_KEY = 'ce_test_viewer_key';
/** `upstream: "*"`, every resource. */
export const STAR_KEY = 'ce_test_star_key';
/** `upstream: "*"`, S1 only. */
export const STAR_S1_KEY = 'ce_test_star_s1_key';
/** Relay B's key at relay A: `up`, every resource. */
export const CHAIN_KEY = 'ce_test_chain_key';
/** Relay B's own client. */
export const B_KEY = 'ce_test_b_key';

export interface RelayHandle {
  relay: Relay;
  prefix: string;
  /** ws:// URL of a path on this relay. */
  ws(path?: string): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  bus: 'memory' | 'nats';
  /** The nats-server for `bus: 'nats'` (the test file starts its own). */
  natsUrl?: string;
  clock?: Clock;
  node?: string;
}

/** Starts a relay from a config without `node`, `http`, `bus`, `log` (filled in here). */
export async function startRelay(raw: Record<string, unknown>, o: StartOptions): Promise<RelayHandle> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const config = validateConfig(
    {
      node: { id: o.node ?? 'ce-node' },
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
      bus: o.bus === 'nats' ? { kind: 'nats', prefix, servers: [requireNatsUrl(o.natsUrl)], storage: 'memory' } : { kind: 'memory', prefix },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      limits: { backoffInitialMs: 50, backoffMaxMs: 500 },
      ...raw,
    },
    ALL_ADAPTERS,
    'cloudevents test config',
  );
  const relay = await Relay.start({ config, adapters: ALL_ADAPTERS, defaultMetrics: false, ...(o.clock ? { clock: o.clock } : {}) });
  const base = relay.url.replace(/^http/, 'ws');
  return {
    relay,
    prefix,
    ws: (path = '/cloudevents') => `${base}${path}`,
    async stop() {
      await relay.stop(500);
      if (o.bus !== 'nats') return;
      // Streams are per prefix; a second connection removes them after this relay drained.
      const { NatsBus } = await import('../../src/bus/nats.ts');
      const cleaner = new NatsBus({ servers: [requireNatsUrl(o.natsUrl)], prefix, storage: 'memory' });
      await cleaner.start();
      await cleaner.deleteStreams();
      await cleaner.drain();
    },
  };
}

/** Relay A: Wings simulator upstream `up` and two CloudEvents listeners. Links ready on return. */
export async function startRelayA(o: StartOptions): Promise<RelayHandle & { sim: WingsSimulator }> {
  const h = await startRelay(
    {
      clients: [
        { name: 'admin', key: ADMIN_KEY, grants: [{ upstream: 'up', permissions: ['*', 'admin.websocket.install'] }] },
        { name: 'viewer', key: VIEWER_KEY, grants: [{ upstream: 'up', resources: [S1], permissions: ['websocket.connect'] }] },
        { name: 'star', key: STAR_KEY, grants: [{ upstream: '*' }] },
        { name: 'star-s1', key: STAR_S1_KEY, grants: [{ upstream: '*', resources: [S1] }] },
        { name: 'relay-b', key: CHAIN_KEY, grants: [{ upstream: 'up' }] },
      ],
      simulators: [
        { name: 'sim', protocol: 'wings', consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'offline' }] },
      ],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1, S2] }],
      listeners: [
        { name: 'ce', dialect: 'cloudevents', upstreams: ['up'] },
        { name: 'ce-capped', dialect: 'cloudevents', path: '/cloudevents-capped', upstreams: ['up'], maxSubscriptions: 2 },
      ],
    },
    { ...o, node: o.node ?? 'relay-a' },
  );
  // A relay left running would keep the test process alive after a failure.
  await eventually(() => [S1, S2].every((s) => h.relay.supervisor.link('up', 'server', s)?.state === 'ready'), 5000, 'wings links ready').catch(async (err) => Promise.reject(await h.stop().then(() => err)));
  return { ...h, sim: h.relay.simulators.get('sim') as WingsSimulator };
}

/** Relay B: upstream `a` chained to `aUrl` (relay A's /cloudevents), one listener. Not waited for. */
export function startRelayB(aUrl: string, subjects: string[], o: StartOptions): Promise<RelayHandle> {
  return startRelay(
    {
      clients: [{ name: 'b-client', key: B_KEY, grants: [{ upstream: 'a' }] }],
      upstreams: [{ name: 'a', protocol: 'cloudevents', url: aUrl, key: CHAIN_KEY, subjects }],
      listeners: [{ name: 'ce', dialect: 'cloudevents', upstreams: ['a'] }],
    },
    { ...o, node: o.node ?? 'relay-b' },
  );
}

/** The state of a relay's chain link (`upstream/_` of upstream `name`). */
export function chainState(relay: Relay, name = 'a'): string | undefined {
  return relay.supervisor.link(name, 'upstream', '_')?.state;
}
