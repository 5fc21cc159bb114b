/**
 * The Semoxy panel dialect on the generic relay harness: the panel simulator as upstream `panel`
 * (and optionally the Wings simulator as a second upstream, for the cross-protocol cases). Time is
 * a ManualClock: nothing the simulators or the relay schedule happens unless a test advances it.
 */
import { ManualClock } from '../../src/clock.ts';
import type { Relay } from '../../src/relay.ts';
import type { PanelSimulator } from '../../adapters/panel/simulator.ts';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { quietSimulator } from '../../bench/quiet-simulators.ts';
import { eventually } from './frame-queue.ts';
import { PanelClient } from './panel-client.ts';
import { readyOrStop, startRelay, type Overrides, type Section, type StartOptions } from './relay-harness.ts';

/** Two Semoxy servers (ObjectIds) and one Wings server. */
export const P1 = '607c71907be61b381db28144';
export const P2 = '614635a7e671a3df0a12154b';
export const W1 = '3f0e2d1c-4b5a-4968-8776-a5b4c3d2e1f0';
/** API keys: the admin sees every server; the viewer only P1. */
export const ADMIN_KEY = 'semoxy_test_admin_key';
export const VIEWER_KEY = 'semoxy_test_viewer_key';

/** `bus` and `natsUrl` as in the generic harness; time is this ManualClock (a new one by default). */
export interface PanelHarnessOptions extends Partial<Pick<StartOptions, 'bus' | 'natsUrl'>>, Overrides {
  clock?: ManualClock;
  /** Handshake of the relay's panel upstream (default v1). */
  upstreamVersion?: 'v1' | 'v2';
  /** Also run a Wings simulator as upstream `wings`, served by the panel listener. */
  wings?: boolean;
  /** More panel listeners (full listener objects). */
  extraListeners?: Section[];
}

export interface PanelHarness {
  relay: Relay;
  clock: ManualClock;
  sim: PanelSimulator;
  wings: WingsSimulator | null;
  /** ws:// URL of a panel listener path (default /server/events), with an optional query. */
  eventsUrl(query?: string, path?: string): string;
  /** GET the relay's ticket endpoint; `scheme` null sends no Authorization header. */
  ticket(key?: string, scheme?: 'Bearer' | 'Token' | null, path?: string): Promise<{ status: number; body: any }>;
  /** A v1 dashboard: a ticket from the relay, then the socket. */
  v1(key?: string, paths?: { ticket: string; events: string }): Promise<PanelClient>;
  /** A v2 dashboard: the socket, AUTHENTICATE, AUTH_SUCCESS, then each intent enabled and acknowledged. */
  v2(key?: string, intents?: readonly string[]): Promise<PanelClient>;
  /** The relay's one panel link. */
  linkState(): string | undefined;
  stop(): Promise<void>;
}

export async function startPanelHarness(o: PanelHarnessOptions = {}): Promise<PanelHarness> {
  const clock = o.clock ?? new ManualClock();
  const wings = o.wings === true;
  const r = await startRelay(
    {
      clients: [
        { name: 'admin', key: ADMIN_KEY, grants: [{ upstream: 'panel' }, ...(wings ? [{ upstream: 'wings' }] : [])] },
        { name: 'viewer', key: VIEWER_KEY, grants: [{ upstream: 'panel', resources: [P1] }] },
      ],
      simulators: [
        quietSimulator('panel', 'psim', {
          startupMs: 0,
          stopMs: 0,
          // The simulator's keep-alive would race a test's big clock jumps; the conformance kit turns it on.
          pingIntervalMs: 0,
          servers: [{ id: P1, name: 'Survival', onlineStatus: 2 }, { id: P2, name: 'Creative', onlineStatus: 0 }],
          ...o.sim,
        }),
        ...(wings ? [quietSimulator('wings', 'wsim', { startupMs: 100, stopMs: 100, servers: [{ uuid: W1, state: 'offline' }] })] : []),
      ],
      upstreams: [
        { name: 'panel', protocol: 'panel', simulator: 'psim', version: o.upstreamVersion ?? 'v1', servers: [P1, P2], ...o.upstream },
        ...(wings ? [{ name: 'wings', protocol: 'wings', simulator: 'wsim', servers: [W1] }] : []),
      ],
      listeners: [{ name: 'panel', dialect: 'panel', upstreams: wings ? ['panel', 'wings'] : ['panel'], ...o.listener }, ...(o.extraListeners ?? [])],
      limits: { backoffInitialMs: 50, backoffMaxMs: 1000, ...o.limits },
    },
    { bus: o.bus ?? 'memory', natsUrl: o.natsUrl, clock },
  );
  const { relay } = r;
  const linkState = () => relay.supervisor.link('panel', 'panel', '_')?.state;
  const h: PanelHarness = {
    relay,
    clock,
    sim: relay.simulators.get('psim') as PanelSimulator,
    wings: wings ? (relay.simulators.get('wsim') as WingsSimulator) : null,
    linkState,
    eventsUrl: (query, path = '/server/events') => r.ws(`${path}${query === undefined ? '' : `?${query}`}`),
    async ticket(key = ADMIN_KEY, scheme = 'Bearer', path = '/account/ticket') {
      const headers: Record<string, string> = scheme === null ? {} : { authorization: `${scheme} ${key}` };
      const res = await fetch(`${relay.url}${path}`, { headers });
      return { status: res.status, body: await res.json() };
    },
    async v1(key = ADMIN_KEY, paths = { ticket: '/account/ticket', events: '/server/events' }) {
      const { status, body } = await h.ticket(key, 'Bearer', paths.ticket);
      if (status !== 200) throw new Error(`ticket refused: ${status} ${JSON.stringify(body)}`);
      return PanelClient.connect(h.eventsUrl(`ticket=${encodeURIComponent(body.data.token)}`, paths.events));
    },
    async v2(key = ADMIN_KEY, intents = []) {
      const c = await PanelClient.connect(h.eventsUrl());
      c.send('AUTHENTICATE', { sessionId: key });
      await c.action('AUTH_SUCCESS');
      for (const intent of intents) {
        c.send('ENABLE_INTENT', { intent });
        await c.next((f) => f.action === 'INTENT_ENABLED' && f.data.intent === intent);
      }
      return c;
    },
    stop: r.stop,
  };
  return readyOrStop(h, async () => {
    await eventually(() => linkState() === 'ready', 5000, 'panel link ready');
    if (wings) await r.linksReady([['wings', 'server', W1]], 'wings link ready');
  });
}
