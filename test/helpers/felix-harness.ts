/**
 * The Felix dialect on the generic relay harness: a Felix simulator as upstream `felix` and a
 * `/felix` listener. Every timer runs on the ManualClock the test passes.
 */
import type { ManualClock } from '../../src/clock.ts';
import type { Relay } from '../../src/relay.ts';
import type { FelixSimulator } from '../../adapters/felix/simulator.ts';
import { quietSimulator } from '../../bench/quiet-simulators.ts';
import { FelixClient, waitFor, type ConnectOptions } from './felix-client.ts';
import { readyOrStop, startRelay, type Overrides, type Section, type StartOptions } from './relay-harness.ts';

/** The key of a dashboard granted everything on the `felix` upstream. */
export const DASH_KEY = 'felix_test_dashboard_key';
/** The key of a dashboard granted guild g1 and user u1 only. */
export const LIMITED_KEY = 'felix_test_limited_key';
/** A valid key without any grant. */
export const STRANGER_KEY = 'felix_test_stranger_key';
/** The token the simulator accepts. */
export const SIM_TOKEN = 'felix_test_sim_token';

/** `bus` and `natsUrl` as in the generic harness; time is this ManualClock. */
export interface FelixHarnessOptions extends Partial<Pick<StartOptions, 'bus' | 'natsUrl'>>, Omit<Overrides, 'limits'> {
  clock: ManualClock;
  /** More upstreams (e.g. one with a wrong token); the listener serves only `felix`. */
  extraUpstreams?: Section[];
}

export interface FelixHarness {
  relay: Relay;
  sim: FelixSimulator;
  clock: ManualClock;
  /** ws:// URL of the relay's felix listener. */
  url: string;
  /** A dashboard connection through the relay (the key defaults to DASH_KEY). */
  connect(key?: string, options?: ConnectOptions): Promise<FelixClient>;
  /** The state of an upstream's one link. */
  linkState(upstream?: string): string | undefined;
  /** The relay's /metrics text. */
  metrics(): Promise<string>;
  /**
   * Lets interest changes through: each client's frames so far are handled (a round trip), then
   * the clock passes one coalescing window, so a change made within the last one reaches Felix.
   */
  interestSettled(...clients: FelixClient[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startFelixRelay(o: FelixHarnessOptions): Promise<FelixHarness> {
  const r = await startRelay(
    {
      node: { id: 'felix-test-node' },
      clients: [
        { name: 'dash', key: DASH_KEY, grants: [{ upstream: 'felix' }] },
        { name: 'limited', key: LIMITED_KEY, grants: [{ upstream: 'felix', resources: ['g1', 'u1'] }] },
        { name: 'stranger', key: STRANGER_KEY, grants: [] },
      ],
      simulators: [quietSimulator('felix', 'sim', { tokens: [SIM_TOKEN], ...o.sim })],
      upstreams: [{ name: 'felix', protocol: 'felix', simulator: 'sim', ...o.upstream }, ...(o.extraUpstreams ?? [])],
      listeners: [{ name: 'felix', dialect: 'felix', path: '/felix', upstreams: ['felix'], ...o.listener }],
      limits: { backoffInitialMs: 100, backoffMaxMs: 1000 },
    },
    { ...o, bus: o.bus ?? 'memory' },
  );
  const { relay } = r;
  const sim = relay.simulators.get('sim') as FelixSimulator;
  const url = r.ws('/felix');
  const h: FelixHarness = {
    relay,
    sim,
    clock: o.clock,
    url,
    connect: (key = DASH_KEY, options = {}) => FelixClient.connect(url, key, options),
    linkState: (upstream = 'felix') => relay.supervisor.link(upstream, 'bot', '_')?.state,
    metrics: r.metrics,
    async interestSettled(...clients) {
      for (const c of clients) await c.roundTrip();
      await o.clock.advance(relay.config.limits.interestCoalesceMs);
    },
    stop: r.stop,
  };
  return readyOrStop(h, async () => {
    await waitFor(() => h.linkState() === 'ready', 'felix link ready');
    // The link's first 20002 is sent on open; tests that count them start after it arrived.
    await waitFor(() => listenUpdates(sim).length > 0, 'the first 20002 at the simulator');
  });
}

/** The value of one sample of a metric family in /metrics text (0 when absent). */
export function metricValue(text: string, family: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${family}{`)) continue;
    const inner = line.slice(family.length + 1, line.indexOf('}'));
    const have = inner.split(',');
    if (want.every((w) => have.includes(w))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return 0;
}

/** The `20002` frames the simulator received, newest last. */
export function listenUpdates(sim: FelixSimulator): { users: string[]; guilds: string[] }[] {
  return sim.received.filter((f) => f.code === 20002).map((f) => f.data as { users: string[]; guilds: string[] });
}
