/**
 * A relay config with four dialects in front of two simulated upstreams (a Wings daemon `up` with
 * two servers, a Felix bot `bot`) and three clients with different grants, as raw JSON: the tests
 * of config reload and of log lines start it in process (`startMultiRelay`) or as a real process
 * (test/helpers/bridge-process.ts), change it, and reload.
 */
import { validateConfig } from '../../src/config/load.ts';
import type { BridgeConfig } from '../../src/config/schema.ts';
import type { Clock } from '../../src/clock.ts';
import type { Log } from '../../src/contracts.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';

export const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
export const S2 = '5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d';
export const GUILD = '328842643746324481';
export const JWT_SECRET = 'reload-test-jwt-secret';
/** Keys of the three clients: `ops` sees everything, `one` server S1 and the guild, `two` server S2. */
export const KEYS = { ops: 'ptlc_reload_ops_key_0001', one: 'ptlc_reload_one_key_0001', two: 'ptlc_reload_two_key_0001' } as const;

export type RawConfig = Record<string, any>;

export function multiConfig(): RawConfig {
  return {
    node: { id: 'reload-node' },
    http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
    bus: { kind: 'memory' },
    log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
    clients: [
      { name: 'ops', key: KEYS.ops, grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }] },
      {
        name: 'one',
        key: KEYS.one,
        grants: [
          { upstream: 'up', resources: [S1], permissions: ['websocket.connect', 'control.console'] },
          { upstream: 'bot', resources: [GUILD], permissions: [] },
        ],
      },
      { name: 'two', key: KEYS.two, grants: [{ upstream: 'up', resources: [S2], permissions: ['websocket.connect'] }] },
    ],
    simulators: [
      { name: 'wings-sim', protocol: 'wings', consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'running' }] },
      { name: 'felix-sim', protocol: 'felix' },
    ],
    upstreams: [
      { name: 'up', protocol: 'wings', simulator: 'wings-sim', servers: [S1, S2] },
      { name: 'bot', protocol: 'felix', simulator: 'felix-sim' },
    ],
    listeners: [
      { name: 'wings', dialect: 'wings', upstreams: ['up'], jwtSecret: JWT_SECRET, allowedOrigins: ['*'] },
      { name: 'felix', dialect: 'felix', upstreams: ['bot'] },
      { name: 'cloudevents', dialect: 'cloudevents', upstreams: ['up', 'bot'] },
      { name: 'panel', dialect: 'panel', upstreams: ['up'] },
    ],
    limits: { backoffInitialMs: 50, backoffMaxMs: 1000 },
  };
}

export function loadMulti(raw: RawConfig): BridgeConfig {
  return validateConfig(raw, ADAPTERS, 'test config');
}

export function startMultiRelay(raw: RawConfig, o: { log?: Log; clock?: Clock } = {}): Promise<Relay> {
  return Relay.start({ config: loadMulti(raw), defaultMetrics: false, ...(o.log ? { log: o.log } : {}), ...(o.clock ? { clock: o.clock } : {}) });
}

/** A Wings token for `server` from the relay's token endpoint, as `key`'s client. */
export async function wingsToken(relay: Relay, key: string, server = S1): Promise<string> {
  const res = await fetch(`${relay.url}/api/client/servers/${server}/websocket`, { headers: { authorization: `Bearer ${key}` } });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
  return ((await res.json()) as { data: { token: string } }).data.token;
}

/** A count of `bridge_config_reloads_total{result}`. */
export async function reloads(relay: Relay, result: string): Promise<number> {
  const m = await relay.metrics.configReloads.get();
  return m.values.find((v) => v.labels.result === result)?.value ?? 0;
}
