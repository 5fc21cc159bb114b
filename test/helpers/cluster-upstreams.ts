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
import { untilLinks, type RelayProcess } from './relay-cluster.ts';

export const S1 = '1c1c1c1c-0000-4000-8000-000000000001';
export const S2 = '2c2c2c2c-0000-4000-8000-000000000002';
export const S3 = '3c3c3c3c-0000-4000-8000-000000000003';
/** Two more Wings servers for the tests that spread six links over three relays. */
export const S4 = '4c4c4c4c-0000-4000-8000-000000000004';
export const S5 = '5c5c5c5c-0000-4000-8000-000000000005';
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

/** `servers`: the Wings servers (S1–S3 unless told). */
export async function startUpstreams(jwtSecret: string, servers: readonly string[] = [S1, S2, S3]): Promise<Upstreams> {
  const ctx = { clock: systemClock, log: createLog(process.env.TEST_LOG ? 'debug' : 'silent') };
  const wings = await WingsSimulator.start(
    { ...ctx, config: { apiKey: WINGS_KEY, consoleIntervalMs: 0, statsIntervalMs: 0, servers: servers.map((uuid) => ({ uuid, state: 'running' as const })) } as never },
    '127.0.0.1',
    0,
  );
  const felix = await FelixSimulator.start({ ...ctx, config: { tokens: [FELIX_TOKEN], updateIntervalMs: 0 } as never }, '127.0.0.1', 0);
  return {
    wings,
    felix,
    upstreams: [
      { name: 'up', protocol: 'wings', panelUrl: wings.endpoint.url, apiKey: WINGS_KEY, servers: [...servers] },
      { name: 'felix', protocol: 'felix', url: felix.endpoint.url, token: FELIX_TOKEN },
    ],
    listeners: [
      { name: 'wings', dialect: 'wings', upstreams: ['up'], jwtSecret },
      { name: 'felix', dialect: 'felix', path: '/felix', upstreams: ['felix'] },
    ],
    assertNeverTwoSockets() {
      for (const s of servers) assert.ok(wings.peakConnections(s) <= 1, `wings server ${s} saw ${wings.peakConnections(s)} sockets at once`);
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

/**
 * Checks that events flow: with one relay owning `server` and ready, a batch of numbered lines
 * reaches every dashboard once and in order. Lines the upstream sends while its link changes
 * hands reach nobody (the old socket is gone, the new one not yet open), so a batch during which
 * a relay logged a state change of that link is sent again, up to three times; otherwise a
 * missing line fails.
 */
export async function flows(sim: WingsSimulator, server: string, relays: readonly RelayProcess[], clients: readonly WingsClient[], tag: string, report: (msg: string) => void = () => {}): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const alive = relays.filter((r) => r.alive);
    await untilLinks(alive, 'up', server, (ls) => ls.filter((l) => l?.ownership === 'owned' && l.state === 'ready').length === 1, 30_000, `${tag}: an owner of ${server}, ready`);
    await primed(sim, server, clients, 20_000);
    const start = Date.now();
    const from = clients.map((c) => c.frames.length);
    const lines = Array.from({ length: 20 }, (_, i) => `${tag} #${attempt} ${i + 1}`);
    for (const line of lines) sim.console(server, line);
    const all = await until(() => clients.every((c, i) => consoleLines(c, `${tag} #${attempt} `, from[i]).length >= lines.length), 10_000, `${tag}: every line everywhere`).then(
      () => true,
      () => false,
    );
    const moved = alive.some((r) => r.logs.some((l) => l.msg === 'upstream link state' && l.id === server && Date.parse(l.time) >= start - 50));
    if (!all && moved && attempt < 3) {
      report(`${tag}: the link changed hands during batch ${attempt}; sending another`);
      continue;
    }
    await new Promise((r) => setTimeout(r, 200));
    clients.forEach((c, i) => assert.deepEqual(consoleLines(c, `${tag} #${attempt} `, from[i]), lines, `${tag}: dashboard ${i + 1}`));
    return;
  }
}
