/**
 * The gateway dialect on the generic relay harness: two gateway simulators as upstreams, one per
 * numbering, and two gateway listeners, one per numbering, each serving both upstreams (the
 * migration shim in both directions). Every adapter timer runs on the ManualClock the test passes.
 */
import type { ManualClock } from '../../src/clock.ts';
import type { Relay } from '../../src/relay.ts';
import type { GatewaySimulator } from '../../adapters/gateway/simulator.ts';
import { quietSimulator } from '../../bench/quiet-simulators.ts';
import { GatewayClient } from './gateway-client.ts';
import { startRelay, type Overrides, type RelayHandle, type Section, type StartOptions } from './relay-harness.ts';

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

/** `bus` and `natsUrl` as in the generic harness; time is this ManualClock. */
export interface GatewayHarnessOptions extends Partial<Pick<StartOptions, 'bus' | 'natsUrl'>> {
  clock: ManualClock;
  /** Merged over the seed site's simulator, upstream and listener. */
  seed?: Omit<Overrides, 'limits'>;
  /** Merged over the later site's simulator, upstream and listener. */
  latest?: Omit<Overrides, 'limits'>;
  limits?: Section;
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
  /** Waits until every listed link (upstream, resource, id) is ready. */
  linksReady: RelayHandle['linksReady'];
  stop(): Promise<void>;
}

export async function startGatewayHarness(o: GatewayHarnessOptions): Promise<GatewayHarness> {
  const r = await startRelay(
    {
      node: { id: 'gateway-test-node' },
      simulators: [
        quietSimulator('gateway', 'seed-site', { profile: 'seed', rooms: SEED_ROOMS, ...o.seed?.sim }),
        quietSimulator('gateway', 'latest-site', { profile: 'anonroom-latest', rooms: LATEST_ROOMS, ...o.latest?.sim }),
      ],
      upstreams: [
        { name: SEED_UP, protocol: 'gateway', simulator: 'seed-site', rooms: [{ roomId: 'lobby', participantId: 'relay' }, { roomId: 'games', participantId: 'relay' }], ...o.seed?.upstream },
        {
          name: LATEST_UP,
          protocol: 'gateway',
          simulator: 'latest-site',
          profile: 'anonroom-latest',
          // hall names its secret in the config; attic's comes from the simulator's credentials.
          rooms: [{ roomId: 'hall', participantId: 'relay', secret: 'relay-cookie' }, { roomId: 'attic', participantId: 'relay' }],
          ...o.latest?.upstream,
        },
      ],
      listeners: [
        { name: 'gw', dialect: 'gateway', upstreams: [SEED_UP, LATEST_UP], ...o.seed?.listener },
        { name: 'gw-latest', dialect: 'gateway', path: LATEST_PATH, profile: 'anonroom-latest', upstreams: [SEED_UP, LATEST_UP], ...o.latest?.listener },
      ],
      limits: { backoffInitialMs: 100, backoffMaxMs: 1000, ...o.limits },
    },
    { ...o, bus: o.bus ?? 'memory' },
  );
  const { relay } = r;
  const clients: GatewayClient[] = [];
  const url = (roomId: string, participantId: string, path = SEED_PATH) => r.ws(`${path}?${new URLSearchParams({ roomId, participantId }).toString()}`);
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
    linksReady: r.linksReady,
    url,
    connect,
    async open(roomId, participantId, path) {
      const c = await connect(roomId, participantId, path);
      await c.next((f) => f.e === 0);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await r.stop();
    },
  };
}

/** Waits until the listed links (default: all four) are ready. */
export async function gatewayLinksReady(h: GatewayHarness, links: [string, string][] = [[SEED_UP, 'lobby'], [SEED_UP, 'games'], [LATEST_UP, 'hall'], [LATEST_UP, 'attic']]): Promise<void> {
  await h.linksReady(links.map(([up, room]) => [up, 'room', room] as const), 'gateway links ready');
}
