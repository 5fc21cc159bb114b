/**
 * A relay for the authentication tests: real simulators (Wings with its panel endpoint, a Semoxy
 * panel, Felix) as upstreams, and one listener of every dialect that carries a credential (wings,
 * felix, cloudevents, panel), each accepting the principal sources the test names; on the generic
 * relay harness.
 */
import type { Relay } from '../../src/relay.ts';
import type { Log, SimulatorEndpoint } from '../../src/contracts.ts';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import type { PanelSimulator } from '../../adapters/panel/simulator.ts';
import { quietSimulator } from '../../bench/quiet-simulators.ts';
import { startRelay, type Section, type StartOptions } from './relay-harness.ts';
import { S1, S2 } from './wings-harness.ts';

/** The Wings servers of the Wings harness: S1 running, S2 offline. */
export { S1, S2 } from './wings-harness.ts';
export const P1 = '607c71907be61b381db28144';
export const P2 = '614635a7e671a3df0a12154b';
export const STATIC_KEY = 'static-ops-key-0123456789';
export const RELAY_SESSION = 'semoxy-relay-own-session';
export const USER_SESSIONS = ['semoxy-user-alice', 'semoxy-user-bob'] as const;
export const RELAY_JWT_SECRET = 'auth-test-relay-signing-secret';
export const FELIX_TOKEN = 'felix-upstream-token';

type Source = 'static' | 'jwt' | 'hook' | 'panel';

/** `bus`, `natsUrl`, `prefix`, `clock` and `log` as in the generic harness (relay-harness.ts). */
export interface AuthRelayOptions extends Partial<Pick<StartOptions, 'bus' | 'natsUrl' | 'prefix' | 'clock' | 'log'>> {
  /** The `auth` section. */
  auth: Record<string, unknown>;
  /** Every listener's `auth` list (default: every source the `auth` section sets up, after `static`). */
  sources?: Source[];
  nodeId?: string;
  /** Simulators of another relay to use (a second node of a cluster): this relay starts none. */
  simulators?: ReadonlyMap<string, SimulatorEndpoint>;
  limits?: Section;
}

/** A log that keeps every line, to check what was (and was not) written. */
export function captureLog(): Log & { lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface AuthRelay {
  relay: Relay;
  wings: WingsSimulator;
  semoxy: PanelSimulator;
  /** The endpoints of this relay's simulators (for a second node). */
  endpoints: ReadonlyMap<string, SimulatorEndpoint>;
  ws(path: string): string;
  /** GET the relay's Wings token endpoint with `Authorization: Bearer <credential>`. */
  wingsToken(credential: string, server?: string): Promise<{ status: number; body: any }>;
  /** GET the relay's Semoxy ticket endpoint with `Authorization: Bearer <credential>`. */
  ticket(credential: string): Promise<{ status: number; body: any }>;
  metric(source: string, result: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startAuthRelay(o: AuthRelayOptions): Promise<AuthRelay> {
  const sources: Source[] = o.sources ?? ['static', ...(['jwt', 'hook', 'panel'] as const).filter((s) => o.auth[s] !== undefined)];
  const r = await startRelay(
    {
      clients: [{ name: 'ops', key: STATIC_KEY, grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }] }],
      auth: o.auth,
      simulators: [
        quietSimulator('wings', 'wings-sim', { startupMs: 50, stopMs: 50, servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'offline' }] }),
        quietSimulator('panel', 'semoxy-sim', { sessions: [RELAY_SESSION, ...USER_SESSIONS] }),
        quietSimulator('felix', 'felix-sim', { tokens: [FELIX_TOKEN] }),
      ],
      upstreams: [
        { name: 'wings', protocol: 'wings', simulator: 'wings-sim', servers: [S1, S2] },
        { name: 'semoxy', protocol: 'panel', simulator: 'semoxy-sim', servers: [P1, P2] },
        { name: 'bot', protocol: 'felix', simulator: 'felix-sim' },
      ],
      listeners: [
        { name: 'wings', dialect: 'wings', upstreams: ['wings'], jwtSecret: RELAY_JWT_SECRET, auth: sources },
        { name: 'felix', dialect: 'felix', upstreams: ['bot'], auth: sources },
        { name: 'cloudevents', dialect: 'cloudevents', upstreams: ['wings', 'semoxy', 'bot'], auth: sources },
        { name: 'panel', dialect: 'panel', path: '/server/events', upstreams: ['semoxy'], auth: sources },
      ],
      limits: { backoffInitialMs: 50, backoffMaxMs: 1000, authFailuresPerAddress: { burst: 1000, refillMs: 10 }, ...o.limits },
    },
    { ...o, bus: o.bus ?? 'memory', node: o.nodeId ?? 'auth-node', simulatorEndpoints: o.simulators },
  );
  const { relay } = r;
  const endpoints = new Map([...relay.simulators].map(([name, sim]) => [name, sim.endpoint]));
  const get = async (path: string, credential: string) => {
    const res = await fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${credential}`, accept: 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    relay,
    wings: relay.simulators.get('wings-sim') as WingsSimulator,
    semoxy: relay.simulators.get('semoxy-sim') as PanelSimulator,
    endpoints: o.simulators ?? endpoints,
    ws: (path) => r.ws(path),
    wingsToken: (credential, server = S1) => get(`/api/client/servers/${server}/websocket`, credential),
    ticket: (credential) => get('/account/ticket', credential),
    async metric(source, result) {
      const m = await relay.metrics.authSourceResults.get();
      return m.values.find((v) => v.labels.source === source && v.labels.result === result)?.value ?? 0;
    },
    stop: r.stop,
  };
}
