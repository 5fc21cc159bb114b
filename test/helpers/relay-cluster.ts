/**
 * Relays as real processes, for the cluster tests: each is `node --import tsx src/main.ts --config
 * <temp file>` with its own node id, attached to the NATS URLs it is given, its JSON log lines
 * captured; a test can SIGTERM or `kill -9` it by PID and read its /readyz. The upstreams
 * (simulators) run in the test process and outlive the relays, so they can count sockets over a
 * whole test. Every relay still running when the test process exits is SIGKILLed by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { assignOwners } from '../../src/cluster/balance.ts';
import { Subjects } from '../../src/subjects.ts';
import type { LinkStatus } from '../../src/upstream/supervisor.ts';
import { WingsClient } from './wings-client.ts';

export const ADMIN_KEY = 'ptlc_cluster_admin_key';
export const JWT_SECRET = 'cluster-test-jwt-secret';
/** Admin on every upstream, real daemon error texts included. */
export const ADMIN_CLIENT = { name: 'admin', key: ADMIN_KEY, grants: [{ upstream: '*', permissions: ['*', 'admin.websocket.errors'] }] };

export type LogLine = Record<string, unknown> & { msg: string; time: string };

export interface RelayConfig {
  id: string;
  natsUrls: string[];
  prefix: string;
  leaseTtlMs: number;
  /** `cluster.interestTtlMs`; default the relay's. */
  interestTtlMs?: number;
  /** `bus.replicas`; default 3 (the tests run a 3-node NATS cluster). */
  replicas?: number;
  upstreams: unknown[];
  listeners: unknown[];
  clients?: unknown[];
  /** The `auth` section (principal sources besides `clients`). */
  auth?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  shutdownGraceMs?: number;
  /** Merged into the `bus` section, e.g. NATS credentials (`user`, `password`). */
  bus?: Record<string, unknown>;
}

const live = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        process.kill(c.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  });
}

export class RelayProcess {
  readonly id: string;
  readonly logs: LogLine[] = [];
  /** Settles when the process exited; `at` is Date.now() then. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  url = '';
  readonly #child: ChildProcess;
  readonly #dir: string;
  #waiters: (() => void)[] = [];

  private constructor(id: string, child: ChildProcess, dir: string) {
    this.id = id;
    this.#child = child;
    this.#dir = dir;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    const onLine = (line: string) => {
      let parsed: LogLine;
      try {
        parsed = JSON.parse(line) as LogLine;
      } catch {
        parsed = { msg: line, time: new Date().toISOString() };
      }
      this.logs.push(parsed);
      for (const w of this.#waiters.splice(0)) w();
    };
    createInterface({ input: child.stderr! }).on('line', onLine);
    createInterface({ input: child.stdout! }).on('line', onLine);
    child.once('exit', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Writes the config, spawns the relay and resolves once it listens. */
  static async start(c: RelayConfig): Promise<RelayProcess> {
    const dir = mkdtempSync(join(tmpdir(), `relay-${c.id}-`));
    const file = join(dir, 'bridge.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        node: { id: c.id },
        http: { host: '127.0.0.1', port: 0, shutdownGraceMs: c.shutdownGraceMs ?? 3000 },
        bus: { kind: 'nats', prefix: c.prefix, servers: c.natsUrls, storage: 'memory', replicas: c.replicas ?? 3, ...c.bus },
        cluster: { leaseTtlMs: c.leaseTtlMs, ...(c.interestTtlMs ? { interestTtlMs: c.interestTtlMs } : {}) },
        // RELAY_LOG=debug shows the lease steps in failure output (`tail()`).
        log: { level: process.env.RELAY_LOG ?? 'info' },
        clients: c.clients ?? [ADMIN_CLIENT],
        ...(c.auth ? { auth: c.auth } : {}),
        upstreams: c.upstreams,
        listeners: c.listeners,
        limits: { backoffInitialMs: 100, backoffMaxMs: 1000, ...c.limits },
      }),
    );
    // The pid file goes with the config: a killed relay would leave one in $TMPDIR otherwise.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file, '--pid-file', join(dir, 'bridge.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    const relay = new RelayProcess(c.id, child, dir);
    const listening = await relay.waitLog((l) => l.msg === 'relay listening', 30_000, 'relay listening');
    relay.url = String(listening.url);
    return relay;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** The first log line (already written, or to come) that matches. */
  async waitLog(pred: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(pred);
      if (found) return found;
      if (!this.alive) throw new Error(`relay ${this.id} exited while waiting for ${what}:\n${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`relay ${this.id}: timed out waiting for ${what}:\n${this.tail()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The last log lines, for failure messages. */
  tail(n = 30): string {
    return this.logs.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  async readyz(): Promise<{ status: number; body: { upstreams: Record<string, LinkStatus[]> } & Record<string, unknown> }> {
    // Bounded: a relay that stopped answering must fail a poll, not hang the test.
    const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.json()) as never };
  }

  /** One link's status in /readyz; undefined when the relay does not answer. */
  async link(upstream: string, id: string): Promise<LinkStatus | undefined> {
    try {
      return (await this.readyz()).body.upstreams[upstream]?.find((l) => l.id === id);
    } catch {
      return undefined;
    }
  }

  sigterm(): void {
    if (this.alive) process.kill(this.#child.pid!, 'SIGTERM');
  }

  kill9(): void {
    if (this.alive) process.kill(this.#child.pid!, 'SIGKILL');
  }

  /** Teardown: SIGKILL if still running, then remove the config. */
  async stop(): Promise<void> {
    this.kill9();
    await this.exited;
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** A Wings dashboard on this relay, authenticated with a token from its panel-compatible endpoint. */
  async wings(server: string): Promise<WingsClient> {
    const res = await fetch(`${this.url}/api/client/servers/${server}/websocket`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    if (res.status !== 200) throw new Error(`relay ${this.id}: token endpoint answered ${res.status}`);
    const { data } = (await res.json()) as { data: { token: string; socket: string } };
    const client = await WingsClient.connect(data.socket);
    client.send('auth', [data.token]);
    await client.event('auth success', 10_000);
    return client;
  }
}

/** Polls every relay's /readyz until `pred` holds for one link on all of them (or `timeoutMs`). */
export async function untilLinks(relays: readonly RelayProcess[], upstream: string, id: string, pred: (links: (LinkStatus | undefined)[]) => boolean, timeoutMs: number, what: string): Promise<(LinkStatus | undefined)[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const links = await Promise.all(relays.map((r) => (r.alive ? r.link(upstream, id) : Promise.resolve(undefined))));
    if (pred(links)) return links;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(links)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The relays whose /readyz say they own the link. */
export async function owners(relays: readonly RelayProcess[], upstream: string, id: string): Promise<RelayProcess[]> {
  const links = await Promise.all(relays.map((r) => (r.alive ? r.link(upstream, id) : Promise.resolve(undefined))));
  return relays.filter((_, i) => links[i]?.ownership === 'owned');
}

/** When a relay logged that it took a link (ms since the epoch, from its log line), if it did. */
export function tookAt(relay: RelayProcess, id: string, after = 0): number | undefined {
  const line = relay.logs.find((l) => l.msg === 'link ownership' && l.id === id && l.ownership === 'owned' && Date.parse(l.time) >= after);
  return line ? Date.parse(line.time) : undefined;
}

/** One link as `untilSpread` reports it: who owns it (a relay id, or a foreign holder's node id). */
export interface SpreadLink {
  upstream: string;
  id: string;
  owner: string;
}

/**
 * Polls every live relay's /readyz until the links are where the balance function puts them over
 * the live relays' ids: each link owned and ready on its preferred relay, the others standing by
 * and naming it. Links held by a node that is not one of `relays` (a test's own lease holder) only
 * need all relays to stand by for it. Resolves with every link and its owner.
 */
export async function untilSpread(relays: readonly RelayProcess[], prefix: string, timeoutMs: number): Promise<SpreadLink[]> {
  const subjects = new Subjects(prefix);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const alive = relays.filter((r) => r.alive);
    const views = await Promise.all(alive.map((r) => r.readyz().then((x) => x.body.upstreams, () => undefined)));
    if (views.every((v) => v !== undefined)) {
      const links = Object.entries(views[0]!).flatMap(([upstream, ls]) => ls.map((l) => ({ upstream, resource: l.resource, id: l.id, key: subjects.leaseKey(upstream, l.resource, l.id) })));
      const ids = alive.map((r) => r.id);
      const preferred = assignOwners(links.map((l) => l.key), ids);
      const out: SpreadLink[] = [];
      let settled = true;
      for (const link of links) {
        const states = views.map((v) => v![link.upstream]?.find((l) => l.id === link.id));
        const holder = states.find((l) => l?.owner)?.owner ?? null;
        const foreign = holder !== null && !ids.includes(holder);
        const owner = foreign ? holder : preferred.get(link.key)!;
        const ok = states.every((l, i) => (ids[i] === owner ? l?.ownership === 'owned' && l.state === 'ready' : l?.ownership === 'standby' && l.owner === owner));
        if (!ok) settled = false;
        out.push({ upstream: link.upstream, id: link.id, owner });
      }
      if (settled) return out;
      last = JSON.stringify(views.map((v, i) => [ids[i], Object.values(v!).flat().map((l) => `${l.id.slice(0, 4)}:${l.ownership}/${l.state}/${l.owner}`)]));
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the links to spread over ${alive.map((r) => r.id).join(', ')}: ${last}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every relay's log lines about one link (ownership, state, hand-over), merged by time: for failure messages. */
export function linkHistory(relays: readonly RelayProcess[], id: string): string {
  return relays
    .flatMap((r) => r.logs.filter((l) => l.id === id || (typeof l.lease === 'string' && l.lease.endsWith(id))).map((l) => ({ t: l.time, line: `${l.time} ${r.id} ${l.msg} ${String(l.ownership ?? l.state ?? '')} ${String(l.owner ?? '')}` })))
    .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))
    .map((x) => x.line)
    .join('\n');
}
