/**
 * A real relay on port 0 with two gateway simulators as upstreams, one per numbering, and two
 * gateway listeners, one per numbering, each serving both upstreams (the migration shim in both
 * directions). Built through the config loader the way a user writes the config, with the gateway
 * adapter added to the registry's list rather than edited into it. Every adapter timer runs on
 * the ManualClock the test passes.
 */
import { randomBytes } from 'node:crypto';
import type { ManualClock } from '../../src/clock.ts';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import type { GatewaySimulator } from '../../adapters/gateway/simulator.ts';
import { GatewayClient } from './gateway-client.ts';
import { requireNatsUrl } from './nats-server.ts';
import { eventually } from './wings-client.ts';

export const ADAPTERS_WITH_GATEWAY = ADAPTERS;

/** The seed site: rooms lobby and games. The relay is participant `relay` everywhere. */
export const SEED_ROOMS = [
  { id: 'lobby', participants: [{ id: 'relay' }, { id: 'alice', name: 'Alice' }, { id: 'bob', name: 'Bob' }] },
  { id: 'games', participants: [{ id: 'relay' }, { id: 'carol' }] },
];
/** The later site: rooms hall and attic; cookie auth, so every participant has a secret. */
export const LATEST_ROOMS = [
  { id: 'hall', participants: [{ id: 'relay', secret: 'relay-cookie' }, { id: 'dave', name: 'Dave' }, { id: 'erin' }] },
  { id: 'attic', participants: [{ id: 'relay' }] },
];
/** Upstream and listener names and paths. */
export const SEED_UP = 'seed-rooms';
export const LATEST_UP = 'latest-rooms';
export const SEED_PATH = '/gateway';
export const LATEST_PATH = '/gateway-latest';

export interface GatewayHarnessOptions {
  clock: ManualClock;
  bus?: 'memory' | 'nats';
  /** The nats-server for `bus: 'nats'` (the test file starts its own). */
  natsUrl?: string;
  seedSim?: Record<string, unknown>;
  latestSim?: Record<string, unknown>;
  seedUpstream?: Record<string, unknown>;
  latestUpstream?: Record<string, unknown>;
  seedListener?: Record<string, unknown>;
  latestListener?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

export interface GatewayHarness {
  relay: Relay;
  clock: ManualClock;
  seedSim: GatewaySimulator;
  latestSim: GatewaySimulator;
  /** ws:// URL of the relay's gateway for a room and participant. */
  url(roomId: string, participantId: string, path?: string): string;
  /** Opens a dashboard socket (closed by `stop`). */
  connect(roomId: string, participantId: string, path?: string): Promise<GatewayClient>;
  /** Opens a dashboard socket and waits for its hello. */
  open(roomId: string, participantId: string, path?: string): Promise<GatewayClient>;
  stop(): Promise<void>;
}

export async function startGatewayHarness(o: GatewayHarnessOptions): Promise<GatewayHarness> {
  const prefix = `g${randomBytes(4).toString('hex')}`;
  const config = validateConfig(
    {
      node: { id: 'gateway-test-node' },
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
      bus: o.bus === 'nats' ? { kind: 'nats', prefix, servers: [requireNatsUrl(o.natsUrl)], storage: 'memory' } : { kind: 'memory', prefix },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      simulators: [
        { name: 'seed-site', protocol: 'gateway', profile: 'seed', messageIntervalMs: 0, rooms: SEED_ROOMS, ...o.seedSim },
        { name: 'latest-site', protocol: 'gateway', profile: 'anonroom-latest', messageIntervalMs: 0, rooms: LATEST_ROOMS, ...o.latestSim },
      ],
      upstreams: [
        { name: SEED_UP, protocol: 'gateway', simulator: 'seed-site', rooms: [{ roomId: 'lobby', participantId: 'relay' }, { roomId: 'games', participantId: 'relay' }], ...o.seedUpstream },
        {
          name: LATEST_UP,
          protocol: 'gateway',
          simulator: 'latest-site',
          profile: 'anonroom-latest',
          // hall names its secret in the config; attic's comes from the simulator's credentials.
          rooms: [{ roomId: 'hall', participantId: 'relay', secret: 'relay-cookie' }, { roomId: 'attic', participantId: 'relay' }],
          ...o.latestUpstream,
        },
      ],
      listeners: [
        { name: 'gw', dialect: 'gateway', upstreams: [SEED_UP, LATEST_UP], ...o.seedListener },
        { name: 'gw-latest', dialect: 'gateway', path: LATEST_PATH, profile: 'anonroom-latest', upstreams: [SEED_UP, LATEST_UP], ...o.latestListener },
      ],
      limits: { backoffInitialMs: 100, backoffMaxMs: 1000, ...o.limits },
    },
    ADAPTERS_WITH_GATEWAY,
    'gateway test config',
  );
  const relay = await Relay.start({ config, adapters: ADAPTERS_WITH_GATEWAY, defaultMetrics: false, clock: o.clock });
  const wsBase = relay.url.replace(/^http/, 'ws');
  const clients: GatewayClient[] = [];
  const url = (roomId: string, participantId: string, path = SEED_PATH) =>
    `${wsBase}${path}?${new URLSearchParams({ roomId, participantId }).toString()}`;
  const connect = async (roomId: string, participantId: string, path?: string) => {
    const c = await GatewayClient.connect(url(roomId, participantId, path));
    clients.push(c);
    return c;
  };
  return {
    relay,
    clock: o.clock,
    seedSim: relay.simulators.get('seed-site') as GatewaySimulator,
    latestSim: relay.simulators.get('latest-site') as GatewaySimulator,
    url,
    connect,
    async open(roomId, participantId, path) {
      const c = await connect(roomId, participantId, path);
      await c.next((f) => f.e === 0);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await relay.stop(500);
      if (o.bus !== 'nats') return;
      // Streams are per prefix; a second connection removes them once this relay has drained.
      const { NatsBus } = await import('../../src/bus/nats.ts');
      const cleaner = new NatsBus({ servers: [requireNatsUrl(o.natsUrl)], prefix, storage: 'memory' });
      await cleaner.start();
      await cleaner.deleteStreams();
      await cleaner.drain();
    },
  };
}

/** Waits until the listed links (default: all four) are ready. */
export async function gatewayLinksReady(h: GatewayHarness, links: [string, string][] = [[SEED_UP, 'lobby'], [SEED_UP, 'games'], [LATEST_UP, 'hall'], [LATEST_UP, 'attic']]): Promise<void> {
  await eventually(() => links.every(([up, room]) => h.relay.supervisor.link(up, 'room', room)?.state === 'ready'), 5000, 'gateway links ready');
}
