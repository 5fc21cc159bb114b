/**
 * The four systems under test, each started from nothing and torn down completely per run:
 * - relay-mem:  publisher(WingsSimulator) → relay child (wings adapter → memory bus → wings dialect) → clients
 * - relay-nats: the same with the relay on its own nats-server (JetStream, temp store dir)
 * - baseline:   publisher → baseline-server.ts (per-client ws.send) → clients
 * - peer:       publisher (nats over TCP) → nats-server's WebSocket listener → NATS-over-WS clients
 * The relay runs as the container image runs it, from the compiled build (`node dist/src/main.js
 * --config FILE`, built by run.ts with `npm run build`'s tsconfig), plus the bench's GC/exit hook,
 * with a generated config whose upstream is the publisher's simulator. `--relay-from src` runs
 * `node --import tsx src/main.ts` instead: the same code, but tsx compiles with esbuild's
 * keepNames, which gives every closure an own `name` property (~0.25 KB each), so memory per
 * connection is higher from source than from the build.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, HOOK, Ipc, NODE_MEASURE_FLAGS, NODE_SERVER_ENV, removeTempDir, start, startGuarded, startNode, tempDir, type Child } from './procs.ts';
import { SERVER_UUID, SIM_API_KEY, type OpenRequest } from './wire.ts';

export const SCENARIOS = ['relay-mem', 'relay-nats', 'baseline', 'peer'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The compiled relay entry point (tsconfig.build.json → dist/). */
export const RELAY_BUILD_MAIN = 'dist/src/main.js';
export const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
const CLIENT_KEY = 'ptlc_bench_dashboard_key';
const SUBJECT = 'bench.fanout';
/** Far above what the closed loop can leave in flight per client, so no client that reads is cut. */
const WRITE_QUEUE_BYTES = 16 * 1024 * 1024;

export interface Stack {
  readonly name: ScenarioName;
  /** The process whose CPU and RSS are "the server's". */
  readonly serverPid: number;
  /** nats-server behind the relay (relay-nats), reported separately. */
  readonly busPid: number | null;
  /** The server's `process.memoryUsage()`, after two full GCs when `gc` (Node servers only). */
  readonly memory: ((gc: boolean) => Promise<NodeJS.MemoryUsage & { youngBytes: number }>) | null;
  readonly pub: Ipc;
  readonly pubPid: number;
  /** How clients connect (everything but the count). */
  readonly target: Omit<OpenRequest, 'count'>;
  /** Last stderr lines of the server (kept in the result when it closed clients or stalled). */
  logTail(): string;
  stop(): Promise<void>;
}

interface Publisher {
  child: Child;
  ipc: Ipc;
  info: Record<string, string>;
}

/** Spawns the publisher process; `setup` may wait for the server it publishes to. */
async function startPublisher(setup: Record<string, unknown> | Promise<Record<string, unknown>>): Promise<Publisher> {
  const child = startNode('bench/sim-process.ts');
  const ipc = new Ipc(child);
  try {
    await ipc.ready();
    const info = await ipc.call<Record<string, string>>('setup', await setup);
    return { child, ipc, info };
  } catch (err) {
    await child.stop(500);
    throw err;
  }
}

/** A nats-server of its own (temp store dir, free ports), under the bench's exit guard. */
export async function startNats(dir: string, opts: { jetstream: boolean; websocket: boolean }): Promise<{ child: Child; url: string; wsUrl: string }> {
  const port = await freePort();
  const wsPort = opts.websocket ? await freePort() : 0;
  const conf = [
    `listen: "127.0.0.1:${port}"`,
    'server_name: bench',
    opts.jetstream ? `jetstream { store_dir: "${join(dir, 'js')}", max_memory_store: 268435456, max_file_store: 1073741824 }` : '',
    opts.websocket ? `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true }` : '',
  ].join('\n');
  const file = join(dir, 'nats-server.conf');
  writeFileSync(file, `${conf}\n`);
  const child = await startGuarded(NATS_SERVER, ['-c', file], dir);
  await child.waitLine(/Server is ready/, 15_000);
  return { child, url: `nats://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${wsPort}` };
}

function relayConfig(simUrl: string, bus: Record<string, unknown>): Record<string, unknown> {
  return {
    node: { id: 'bench' },
    http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 1000 },
    bus,
    clients: [{ name: 'bench', key: CLIENT_KEY, grants: [{ upstream: 'sim', resources: [SERVER_UUID], permissions: ['*'] }] }],
    upstreams: [{ name: 'sim', protocol: 'wings', panelUrl: simUrl, apiKey: SIM_API_KEY, servers: [SERVER_UUID] }],
    listeners: [
      { name: 'wings', dialect: 'wings', upstreams: ['sim'], jwtSecret: 'bench-relay-signing-secret', allowedOrigins: ['*'], tokenTtlSeconds: 86_400 },
    ],
    // A short first backoff only matters while the simulator is still starting. Every bench
    // client connects from 127.0.0.1 in one burst: the per-address admission limits, made for
    // the open internet, are lifted so the bench measures the data path, not admission.
    limits: {
      writeQueueBytes: WRITE_QUEUE_BYTES,
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
      maxConnections: 100_000,
      maxConnectionsPerAddress: 100_000,
      connectRatePerAddress: { burst: 100_000, refillMs: 1 },
    },
    log: { level: 'info' },
  };
}

async function startRelay(name: 'relay-mem' | 'relay-nats'): Promise<Stack> {
  const dir = tempDir(name);
  const started: Child[] = [];
  try {
    // The simulator's port is picked up front so the relay and the simulator start side by side:
    // the link's first attempts may find nothing listening and retry after a short backoff.
    const simPort = await freePort();
    const simUrl = `http://127.0.0.1:${simPort}`;
    const pubP = startPublisher({ mode: 'wings', port: simPort });
    pubP.then((p) => started.push(p.child), () => undefined);
    const nats = name === 'relay-nats' ? await startNats(dir, { jetstream: true, websocket: false }) : null;
    if (nats) started.push(nats.child);
    const bus = nats ? { kind: 'nats', prefix: 'bench', servers: [nats.url] } : { kind: 'memory', prefix: 'bench' };
    const file = join(dir, 'bridge.config.json');
    writeFileSync(file, JSON.stringify(relayConfig(simUrl, bus), null, 2));
    // `--profile DIR` (run.ts) writes a V8 CPU profile of every relay run into DIR at its exit.
    const profile = process.env.BENCH_RELAY_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_RELAY_PROFILE] : [];
    const entry = process.env.BENCH_RELAY_FROM === 'src' ? ['--import', 'tsx', 'src/main.ts'] : [RELAY_BUILD_MAIN];
    const relay = start(process.execPath, [...NODE_MEASURE_FLAGS, ...profile, '--import', HOOK, ...entry, '--config', file], { ipc: true, env: NODE_SERVER_ENV });
    started.push(relay);
    const relayIpc = new Ipc(relay);
    const linkReady = relay.waitLine(/"msg":"upstream link state".*"state":"ready"/, 30_000);
    linkReady.catch(() => undefined);
    const listening = JSON.parse(await relay.waitLine(/"msg":"relay listening"/, 30_000)) as { url: string };
    const pub = await pubP;
    if (pub.info.url !== simUrl) throw new Error(`simulator listens at ${pub.info.url}, expected ${simUrl}`);
    await linkReady;
    const res = await fetch(`${listening.url}/api/client/servers/${SERVER_UUID}/websocket`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
    if (res.status !== 200) throw new Error(`relay token endpoint answered ${res.status}: ${await res.text()}`);
    const { data } = (await res.json()) as { data: { token: string; socket: string } };
    return {
      name,
      serverPid: relay.pid,
      busPid: nats?.child.pid ?? null,
      memory: (gc) => relayIpc.call('__memory', { gc }),
      pub: pub.ipc,
      pubPid: pub.child.pid,
      target: { mode: 'wings', url: data.socket, token: data.token },
      logTail: () => relay.tail(),
      async stop() {
        // Writing a CPU profile at exit takes a while; do not SIGKILL a relay that is writing one.
        await Promise.all(started.map((c) => c.stop(profile.length ? 20_000 : 1500)));
        removeTempDir(dir);
      },
    };
  } catch (err) {
    await Promise.all(started.map((c) => c.stop(500)));
    removeTempDir(dir);
    throw err;
  }
}

async function startBaseline(): Promise<Stack> {
  const server = startNode('bench/baseline-server.ts');
  const ipc = new Ipc(server);
  try {
    const portP = ipc.ready<{ port: number }>().then((r) => r.port);
    const pub = await startPublisher(portP.then((port) => ({ mode: 'plain', url: `ws://127.0.0.1:${port}/pub` })));
    const port = await portP;
    return {
      name: 'baseline',
      serverPid: server.pid,
      busPid: null,
      memory: (gc) => ipc.call('__memory', { gc }),
      pub: pub.ipc,
      pubPid: pub.child.pid,
      target: { mode: 'plain', url: `ws://127.0.0.1:${port}/` },
      logTail: () => server.tail(),
      async stop() {
        await Promise.all([pub.child.stop(), server.stop()]);
      },
    };
  } catch (err) {
    await server.stop(500);
    throw err;
  }
}

async function startPeer(): Promise<Stack> {
  const dir = tempDir('peer');
  const nats = await startNats(dir, { jetstream: false, websocket: true });
  try {
    const pub = await startPublisher({ mode: 'nats', url: nats.url, subject: SUBJECT });
    return {
      name: 'peer',
      serverPid: nats.child.pid,
      busPid: null,
      memory: null,
      pub: pub.ipc,
      pubPid: pub.child.pid,
      target: { mode: 'nats-ws', url: nats.wsUrl, subject: SUBJECT },
      logTail: () => nats.child.tail(),
      async stop() {
        await Promise.all([pub.child.stop(), nats.child.stop()]);
        removeTempDir(dir);
      },
    };
  } catch (err) {
    await nats.child.stop(500);
    removeTempDir(dir);
    throw err;
  }
}

export function startStack(name: ScenarioName): Promise<Stack> {
  switch (name) {
    case 'relay-mem':
    case 'relay-nats':
      return startRelay(name);
    case 'baseline':
      return startBaseline();
    case 'peer':
      return startPeer();
  }
}
