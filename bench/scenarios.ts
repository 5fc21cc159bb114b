/**
 * The four systems under test, each started from nothing and torn down completely per run:
 * - relay-mem:  publisher(WingsSimulator) → relay child (wings adapter → memory bus → wings dialect) → clients
 * - relay-nats: the same with the relay on its own nats-server (JetStream, temp store dir)
 * - baseline:   publisher → baseline-server.ts (per-client ws.send) → clients
 * - peer:       publisher (nats over TCP) → nats-server's WebSocket listener → NATS-over-WS clients
 * - cluster:    the same publisher → 3 relays on a 3-node NATS cluster (cluster-stack.ts), clients
 *               spread over the relays
 * The relay runs as the container image runs it, from the compiled build (`node dist/src/main.js
 * --config FILE`, built by run.ts with `npm run build`'s tsconfig), plus the bench's GC/exit hook,
 * with a generated config whose upstream is the publisher's simulator. `--relay-from src` runs
 * `node --import tsx src/main.ts` instead: the same code, but tsx compiles with esbuild's
 * keepNames, which gives every closure an own `name` property (~0.25 KB each), so memory per
 * connection is higher from source than from the build.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, HOOK, Ipc, NODE_MEASURE_FLAGS, NODE_SERVER_ENV, removeTempDir, stopStack, start, startGuarded, startNode, tempDir, type Child } from './procs.ts';
import { LINK_READY_LINE, SERVER_UUID, SIM_API_KEY, type OpenRequest } from './wire.ts';
import { startClusterStack } from './cluster-stack.ts';

export const SCENARIOS = ['relay-mem', 'relay-nats', 'baseline', 'peer', 'cluster'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** The compiled relay entry point (tsconfig.build.json → dist/). */
export const RELAY_BUILD_MAIN = 'dist/src/main.js';
export const NATS_SERVER = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
export const CLIENT_KEY = 'ptlc_bench_dashboard_key';
const SUBJECT = 'bench.fanout';
/** Far above what the closed loop can leave in flight per client, so no client that reads is cut. */
const WRITE_QUEUE_BYTES = 16 * 1024 * 1024;

/** How clients connect (everything but the count). */
export type Target = Omit<OpenRequest, 'count'>;

export interface Stack {
  readonly name: ScenarioName;
  /** The processes whose CPU and RSS, summed, are "the server's" (the relays of a cluster). */
  readonly serverPids: number[];
  /** nats-server(s) behind the relay(s), reported separately; empty when there is none. */
  readonly busPids: number[];
  /** The server's `process.memoryUsage()` (summed over `serverPids`), after two full GCs when `gc` (Node servers only). */
  readonly memory: ((gc: boolean) => Promise<NodeJS.MemoryUsage & { youngBytes: number }>) | null;
  readonly pub: Ipc;
  readonly pubPid: number;
  /** The IPC channel of the one relay (relay-mem, relay-nats): its timing samples, memory probes. */
  readonly relayIpc?: Ipc;
  /** The IPC channel of a single Node server process (relay or baseline), for memory probes. */
  readonly serverIpc?: Ipc;
  /** Where clients connect; C clients are spread evenly over these. */
  readonly targets: Target[];
  /** Last stderr lines of the server (kept in the result when it closed clients or stalled). */
  logTail(): string;
  stop(): Promise<void>;
}

export interface Publisher {
  child: Child;
  ipc: Ipc;
  info: Record<string, string>;
}

/** Spawns the publisher process; `setup` may wait for the server it publishes to. */
export async function startPublisher(setup: Record<string, unknown> | Promise<Record<string, unknown>>): Promise<Publisher> {
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

/**
 * The Wings publisher on a port picked up front, so relays and the simulator start side by side:
 * a link's first attempts may find nothing listening and retry after a short backoff. Its child
 * joins `started` once it runs; `publisher()` waits for it and checks it listens at `simUrl`.
 */
export async function startWingsPublisher(started: Child[]): Promise<{ simUrl: string; publisher(): Promise<Publisher> }> {
  const simPort = await freePort();
  const simUrl = `http://127.0.0.1:${simPort}`;
  const pubP = startPublisher({ mode: 'wings', port: simPort });
  pubP.then((p) => started.push(p.child), () => undefined);
  return {
    simUrl,
    async publisher() {
      const pub = await pubP;
      if (pub.info.url !== simUrl) throw new Error(`simulator listens at ${pub.info.url}, expected ${simUrl}`);
      return pub;
    },
  };
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

export function relayConfig(simUrl: string, bus: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    node: { id: 'bench' },
    ...extra,
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

/**
 * Starts one relay child with the given config file, as the image runs it (or from source with
 * `--relay-from src`). `--profile DIR` (run.ts) writes a V8 CPU profile of it into DIR at its exit.
 */
export function startRelayProcess(file: string): Child {
  const profile = process.env.BENCH_RELAY_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_RELAY_PROFILE] : [];
  const entry = process.env.BENCH_RELAY_FROM === 'src' ? ['--import', 'tsx', 'src/main.ts'] : [RELAY_BUILD_MAIN];
  return start(process.execPath, [...NODE_MEASURE_FLAGS, ...profile, '--import', HOOK, ...entry, '--config', file], { ipc: true, env: NODE_SERVER_ENV });
}

/** How long a relay may take to stop: writing a CPU profile at exit takes a while, do not SIGKILL it. */
export const RELAY_STOP_MS = process.env.BENCH_RELAY_PROFILE ? 20_000 : 1500;

/** A Wings token and socket URL from a relay's panel-compatible token endpoint. */
export async function wingsTarget(relayUrl: string): Promise<Target> {
  const res = await fetch(`${relayUrl}/api/client/servers/${SERVER_UUID}/websocket`, { headers: { authorization: `Bearer ${CLIENT_KEY}` } });
  if (res.status !== 200) throw new Error(`relay token endpoint answered ${res.status}: ${await res.text()}`);
  const { data } = (await res.json()) as { data: { token: string; socket: string } };
  return { mode: 'wings', url: data.socket, token: data.token };
}

async function startRelay(name: 'relay-mem' | 'relay-nats'): Promise<Stack> {
  const dir = tempDir(name);
  const started: Child[] = [];
  try {
    const { simUrl, publisher } = await startWingsPublisher(started);
    const nats = name === 'relay-nats' ? await startNats(dir, { jetstream: true, websocket: false }) : null;
    if (nats) started.push(nats.child);
    const bus = nats ? { kind: 'nats', prefix: 'bench', servers: [nats.url] } : { kind: 'memory', prefix: 'bench' };
    const file = join(dir, 'bridge.config.json');
    writeFileSync(file, JSON.stringify(relayConfig(simUrl, bus), null, 2));
    const relay = startRelayProcess(file);
    started.push(relay);
    const relayIpc = new Ipc(relay);
    const linkReady = relay.waitLine(LINK_READY_LINE, 30_000);
    linkReady.catch(() => undefined);
    const listening = JSON.parse(await relay.waitLine(/"msg":"relay listening"/, 30_000)) as { url: string };
    const pub = await publisher();
    await linkReady;
    const target = await wingsTarget(listening.url);
    return {
      name,
      serverPids: [relay.pid],
      busPids: nats ? [nats.child.pid] : [],
      memory: (gc) => relayIpc.call('__memory', { gc }),
      relayIpc,
      serverIpc: relayIpc,
      pub: pub.ipc,
      pubPid: pub.child.pid,
      targets: [target],
      logTail: () => relay.tail(),
      stop: () => stopStack(started, dir, RELAY_STOP_MS),
    };
  } catch (err) {
    await stopStack(started, dir, 500);
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
      serverPids: [server.pid],
      busPids: [],
      memory: (gc) => ipc.call('__memory', { gc }),
      serverIpc: ipc,
      pub: pub.ipc,
      pubPid: pub.child.pid,
      targets: [{ mode: 'plain', url: `ws://127.0.0.1:${port}/` }],
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
      serverPids: [nats.child.pid],
      busPids: [],
      memory: null,
      pub: pub.ipc,
      pubPid: pub.child.pid,
      targets: [{ mode: 'nats-ws', url: nats.wsUrl, subject: SUBJECT }],
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
    case 'cluster':
      return startClusterStack();
  }
}
