/**
 * The relay under soak: the compiled build (`node dist/src/main.js`, as the image runs it) with
 * the bench's process hook (GC + memoryUsage over IPC, exit when the soak dies), a generated
 * config with all five listeners in front of the four built-in simulators (their demo chatter
 * off, so an idle relay is idle), on the memory bus or on a nats-server of its own (JetStream,
 * temp store, free port). Everything it reads is outside the relay: /proc/<pid>/{fd,stat,status},
 * the hook's IPC answer and `/metrics`.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, HOOK, Ipc, NODE_MEASURE_FLAGS, NODE_SERVER_ENV, removeTempDir, rssBytes, start, tempDir, type Child } from '../procs.ts';
import { quietSimulator } from '../quiet-simulators.ts';
import { RELAY_BUILD_MAIN, startNats } from '../scenarios.ts';

export const LISTENERS = ['wings', 'felix', 'cloudevents', 'panel', 'gateway'] as const;
export type ListenerName = (typeof LISTENERS)[number];
export type BusKind = 'memory' | 'nats';

export const CLIENT_KEY = 'ptlc_soak_dashboard_key';
export const WINGS_SERVER = 'd3aac109-e5a0-4331-b03e-3454f7e136dc';
export const PANEL_SERVER = '607c71907be61b381db28144';
export const ROOM = 'lobby';
export const FELIX_GUILD = '100000000000000001';

export interface StackOptions {
  bus: BusKind;
  /** limits.authDeadlineMs, and the Wings listener's own (its default is Wings' 30 s). */
  authDeadlineMs: number;
  /** Where the relay writes heap snapshots on SIGUSR2 (`--heapsnapshot-signal`); none without. */
  snapshotDir?: string;
}

export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

export interface SoakRelay {
  readonly pid: number;
  readonly natsPid: number | null;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly authDeadlineMs: number;
  /** `process.memoryUsage()` of the relay, after two full GCs when `gc`. */
  memory(gc: boolean): Promise<Memory>;
  /** Bytes used per V8 heap space (after two full GCs when `gc`): where heap growth lives. */
  spaces(gc: boolean): Promise<{ space: string; used: number }[]>;
  /** Open file descriptors of the relay (/proc/<pid>/fd). */
  fds(): number;
  /** CPU seconds the relay has used (/proc/<pid>/stat utime+stime). */
  cpu(): number;
  rss(): number;
  /** Has the relay write a heap snapshot into `snapshotDir` (resolves once the file is complete). */
  heapSnapshot(): Promise<string | null>;
  /** The `/metrics` text. */
  metrics(): Promise<string>;
  tail(): string;
  stop(): Promise<void>;
}

const LOCAL_PORT_0 = { host: '127.0.0.1', port: 0 };

/** The soak relay's config (also used in process by test/regressions/wings-session-leak.test.ts). */
export function relayConfig(bus: Record<string, unknown>, authDeadlineMs: number): Record<string, unknown> {
  return {
    node: { id: 'soak' },
    http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 },
    bus,
    clients: [{ name: 'soak', key: CLIENT_KEY, grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }] }],
    simulators: [
      quietSimulator('wings', 'wings-sim', LOCAL_PORT_0),
      quietSimulator('felix', 'felix-sim', LOCAL_PORT_0),
      quietSimulator('panel', 'panel-sim', LOCAL_PORT_0),
      quietSimulator('gateway', 'gateway-sim', LOCAL_PORT_0),
    ],
    upstreams: [
      { name: 'w', protocol: 'wings', simulator: 'wings-sim', servers: [WINGS_SERVER] },
      { name: 'f', protocol: 'felix', simulator: 'felix-sim' },
      { name: 'p', protocol: 'panel', simulator: 'panel-sim', servers: [PANEL_SERVER] },
      { name: 'g', protocol: 'gateway', simulator: 'gateway-sim', rooms: [{ roomId: ROOM, participantId: 'relay' }] },
    ],
    listeners: [
      { name: 'wings', dialect: 'wings', path: '/api/servers/:server/ws', upstreams: ['w'], jwtSecret: 'soak-relay-signing-secret-0123456789', allowedOrigins: ['*'], authDeadlineMs },
      { name: 'felix', dialect: 'felix', path: '/felix', upstreams: ['f'] },
      { name: 'cloudevents', dialect: 'cloudevents', path: '/cloudevents', upstreams: ['w', 'f', 'p', 'g'] },
      { name: 'panel', dialect: 'panel', path: '/server/events', upstreams: ['p'] },
      { name: 'gateway', dialect: 'gateway', path: '/gateway', upstreams: ['g'] },
    ],
    // Every soak client comes from 127.0.0.1: the per-address admission limits (made for the open
    // internet) are lifted so the checks measure sessions, not admission. The per-session limits
    // (inbound rate and queue, auth failures per socket) stay at their defaults: the flood check
    // is about them.
    limits: {
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
      maxConnections: 100_000,
      maxConnectionsPerAddress: 100_000,
      connectRatePerAddress: { burst: 100_000, refillMs: 1 },
      authFailuresPerAddress: { burst: 100_000, refillMs: 1 },
      authDeadlineMs,
    },
    log: { level: 'info' },
  };
}

export async function startSoakRelay(o: StackOptions): Promise<SoakRelay> {
  const dir = tempDir(`soak-${o.bus}`);
  const started: Child[] = [];
  try {
    const nats = o.bus === 'nats' ? await startNats(dir, { jetstream: true, websocket: false }) : null;
    if (nats) started.push(nats.child);
    const bus = nats ? { kind: 'nats', prefix: 'soak', servers: [nats.url] } : { kind: 'memory', prefix: 'soak' };
    const file = join(dir, 'bridge.config.json');
    writeFileSync(file, JSON.stringify(relayConfig(bus, o.authDeadlineMs), null, 2));
    const snap = o.snapshotDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${o.snapshotDir}`] : [];
    const relay = start(process.execPath, [...NODE_MEASURE_FLAGS, ...snap, '--import', HOOK, RELAY_BUILD_MAIN, '--config', file], { ipc: true, env: NODE_SERVER_ENV });
    started.push(relay);
    const ipc = new Ipc(relay);
    const listening = JSON.parse(await relay.waitLine(/"msg":"relay listening"/, 30_000)) as { url: string };
    const url = listening.url.replace('0.0.0.0', '127.0.0.1');
    const readyz = async () => (await fetch(`${url}/readyz`).catch(() => null))?.status === 200;
    const until = Date.now() + 30_000;
    while (!(await readyz())) {
      if (Date.now() > until) throw new Error(`relay not ready after 30 s\n${relay.tail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      pid: relay.pid,
      natsPid: nats?.child.pid ?? null,
      url,
      authDeadlineMs: o.authDeadlineMs,
      memory: (gc) => ipc.call('__memory', { gc }),
      spaces: (gc) => ipc.call('__spaces', { gc }),
      fds: () => fdCount(relay.pid),
      cpu: () => cpuSeconds(relay.pid),
      rss: () => rssBytes(relay.pid),
      heapSnapshot: () => (o.snapshotDir ? heapSnapshot(relay.pid, o.snapshotDir) : Promise.resolve(null)),
      metrics: async () => (await fetch(`${url}/metrics`)).text(),
      tail: () => relay.tail(),
      async stop() {
        await Promise.all(started.map((c) => c.stop(1500)));
        removeTempDir(dir);
      },
    };
  } catch (err) {
    await Promise.all(started.map((c) => c.stop(500)));
    removeTempDir(dir);
    throw err;
  }
}

/** SIGUSR2, then waits for the new .heapsnapshot to stop growing (V8 writes it synchronously, in the relay). */
async function heapSnapshot(pid: number, dir: string): Promise<string> {
  const known = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  let last = -1;
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const file = readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
    if (!file) continue;
    const size = statSync(join(dir, file)).size;
    // Written in one go on the relay's main thread: a size that stopped changing is the whole file.
    if (size === last && size > 0) return join(dir, file);
    last = size;
  }
  throw new Error('no heap snapshot within 300 s');
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return Number.NaN;
  }
}

/** The value of one sample of a Prometheus text exposition (labels matched as a substring). */
export function metricValue(text: string, name: string, labels = ''): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? sum : Number.NaN;
}
