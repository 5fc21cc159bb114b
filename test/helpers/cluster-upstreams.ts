/**
 * The upstreams of the cluster tests, run in the test process so they outlive every relay: a
 * Wings daemon+panel (three servers) and a Felix bot, both counting the most sockets each resource
 * ever had open at once. Also the helpers the cluster tests share about dashboards.
 */
import assert from 'node:assert/strict';
import { systemClock } from '../../src/clock.ts';
import { createLog } from '../../src/log.ts';
import { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { FelixSimulator } from '../../adapters/felix/simulator.ts';
import type { WingsClient } from './wings-client.ts';

export const S1 = '1c1c1c1c-0000-4000-8000-000000000001';
export const S2 = '2c2c2c2c-0000-4000-8000-000000000002';
export const S3 = '3c3c3c3c-0000-4000-8000-000000000003';
const WINGS_KEY = 'ptlc_cluster_sim_key';
const FELIX_TOKEN = 'cluster-felix-token';

export interface Upstreams {
  wings: WingsSimulator;
  felix: FelixSimulator;
  /** The `upstreams` and `listeners` of every relay's config. */
  upstreams: unknown[];
  listeners: unknown[];
  /** Fails unless every resource had at most one socket open at any moment so far. */
  assertNeverTwoSockets(): void;
  close(): Promise<void>;
}

export async function startUpstreams(jwtSecret: string): Promise<Upstreams> {
  const ctx = { clock: systemClock, log: createLog(process.env.TEST_LOG ? 'debug' : 'silent') };
  const wings = await WingsSimulator.start(
    { ...ctx, config: { apiKey: WINGS_KEY, consoleIntervalMs: 0, statsIntervalMs: 0, servers: [S1, S2, S3].map((uuid) => ({ uuid, state: 'running' as const })) } as never },
    '127.0.0.1',
    0,
  );
  const felix = await FelixSimulator.start({ ...ctx, config: { tokens: [FELIX_TOKEN], updateIntervalMs: 0 } as never }, '127.0.0.1', 0);
  return {
    wings,
    felix,
    upstreams: [
      { name: 'up', protocol: 'wings', panelUrl: wings.endpoint.url, apiKey: WINGS_KEY, servers: [S1, S2, S3] },
      { name: 'felix', protocol: 'felix', url: felix.endpoint.url, token: FELIX_TOKEN },
    ],
    listeners: [
      { name: 'wings', dialect: 'wings', upstreams: ['up'], jwtSecret },
      { name: 'felix', dialect: 'felix', path: '/felix', upstreams: ['felix'] },
    ],
    assertNeverTwoSockets() {
      for (const s of [S1, S2, S3]) assert.ok(wings.peakConnections(s) <= 1, `wings server ${s} saw ${wings.peakConnections(s)} sockets at once`);
      assert.ok(felix.peakConnections() <= 1, `the felix bot saw ${felix.peakConnections()} sockets at once`);
    },
    async close() {
      await wings.close();
      await felix.close();
    },
  };
}

/**
 * Sends numbered probe lines until every dashboard has received one, so that each one's bus
 * subscription is known to reach it (subscriptions cross NATS routes asynchronously).
 */
export async function primed(sim: WingsSimulator, server: string, clients: readonly WingsClient[], timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const got = new Set<WingsClient>();
  for (let k = 0; got.size < clients.length; k++) {
    if (Date.now() > deadline) throw new Error(`only ${got.size} of ${clients.length} dashboards got a probe`);
    sim.console(server, `probe ${k}`);
    await new Promise((r) => setTimeout(r, 100));
    for (const c of clients) if (c.frames.some((f) => f.event === 'console output' && f.args?.[0]?.startsWith('probe '))) got.add(c);
  }
}

/** The console lines a dashboard received that start with `prefix`, in order. */
export function consoleLines(c: WingsClient, prefix: string, from = 0): string[] {
  return c.frames.slice(from).filter((f) => f.event === 'console output' && f.args?.[0]?.startsWith(prefix)).map((f) => f.args![0]!);
}

/** Polls until `check` holds (10 ms steps). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
