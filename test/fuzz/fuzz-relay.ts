/**
 * The relay the fuzzer attacks: a real process (`src/main.ts` through test/helpers/bridge-process.ts,
 * so an exit is seen, not hidden by a test runner) with all five listeners and the HTTP endpoints,
 * on the memory bus or on a real nats-server. Felix, Semoxy and anonroom simulators run inside it;
 * the Wings simulator runs here, in the test process, so the test can drive a numbered console
 * stream on a server no fuzz case holds a token for, and three healthy watcher dashboards (Wings,
 * CloudEvents, panel v2) follow it: any line one of them misses or sees twice is a failure.
 */
import WebSocket from 'ws';
import { systemClock } from '../../src/clock.ts';
import type { Log } from '../../src/contracts.ts';
import { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { getFresh, startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { freePorts, startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import type { GenEnv } from './arbitraries.ts';
import { JWT_SECRET, KEYS, PANEL_SERVERS, S1, S2, SW, SecretBook, UPSTREAM, signHs256 } from './secrets.ts';

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `limits.maxPayloadBytes` of the fuzz relay: small, so an oversized frame costs little to send. */
export const MAX_PAYLOAD = 8192;

/**
 * Admission limits raised well above what one source address of the fuzzer needs (every case comes
 * from an address of its own), so cases reach the sessions; the limits property drives one
 * address past each of them.
 */
export const FUZZ_LIMITS = {
  maxPayloadBytes: MAX_PAYLOAD,
  maxConnections: 4000,
  maxConnectionsPerAddress: 24,
  connectRatePerAddress: { burst: 40, refillMs: 25 },
  authFailuresPerAddress: { burst: 30, refillMs: 100 },
  authFailuresPerSocket: 5,
  inboundRate: { burst: 400, refillMs: 1 },
  inboundQueueFrames: 256,
  commandRate: { burst: 100, refillMs: 5 },
  historyRate: { burst: 50, refillMs: 5 },
  interestRate: { burst: 100, refillMs: 5 },
  interestCoalesceMs: 20,
  backoffInitialMs: 50,
  backoffMaxMs: 1000,
} as const;

function relayConfig(port: number, wingsUrl: string, bus: Record<string, unknown>): Record<string, unknown> {
  const all = [{ upstream: '*', resources: ['*'], permissions: ['*', 'admin.websocket.errors', 'admin.websocket.install'] }];
  return {
    node: { id: 'fuzz-node' },
    http: { host: '127.0.0.1', port, shutdownGraceMs: 2000, allowedHosts: ['127.0.0.1', 'localhost'], trustedProxies: ['127.99.0.0/16'] },
    bus,
    log: { level: 'debug' },
    clients: [
      { name: 'fuzz', key: KEYS.fuzz, grants: all },
      { name: 'narrow', key: KEYS.narrow, grants: [{ upstream: 'up', resources: [S1], permissions: ['websocket.connect'] }] },
      { name: 'watch', key: KEYS.watch, grants: [{ upstream: 'up', resources: [SW], permissions: ['*'] }] },
    ],
    simulators: [
      { name: 'felix-sim', protocol: 'felix', tokens: [UPSTREAM.felixToken], updateIntervalMs: 300 },
      { name: 'panel-sim', protocol: 'panel', sessions: [UPSTREAM.panelSession], consoleIntervalMs: 300, statsIntervalMs: 500, startupMs: 50, stopMs: 50 },
      { name: 'gateway-sim', protocol: 'gateway', messageIntervalMs: 300 },
    ],
    upstreams: [
      { name: 'up', protocol: 'wings', panelUrl: wingsUrl, apiKey: UPSTREAM.wingsApiKey, servers: [S1, S2, SW] },
      { name: 'bot', protocol: 'felix', simulator: 'felix-sim' },
      { name: 'panel', protocol: 'panel', simulator: 'panel-sim', servers: [...PANEL_SERVERS] },
      { name: 'rooms', protocol: 'gateway', simulator: 'gateway-sim', rooms: [{ roomId: 'lobby', participantId: 'relay' }, { roomId: 'games', participantId: 'relay' }] },
    ],
    listeners: [
      { name: 'wings', dialect: 'wings', upstreams: ['up', 'panel'], jwtSecret: JWT_SECRET, allowedOrigins: ['*'] },
      { name: 'felix', dialect: 'felix', upstreams: ['bot'], maxIds: 64 },
      { name: 'gateway', dialect: 'gateway', upstreams: ['rooms'] },
      { name: 'panel', dialect: 'panel', upstreams: ['panel', 'up'] },
      { name: 'cloudevents', dialect: 'cloudevents', upstreams: ['up', 'bot', 'panel', 'rooms'], maxSubscriptions: 16 },
    ],
    limits: FUZZ_LIMITS,
  };
}

/** A healthy dashboard following the numbered console lines of {@link SW}. */
export class Watcher {
  readonly name: string;
  readonly ws: WebSocket;
  /** The next sequence number expected (0: not following yet). */
  next = 0;
  readonly problems: string[] = [];
  closed: string | null = null;

  constructor(name: string, ws: WebSocket, hello: () => void) {
    this.name = name;
    this.ws = ws;
    ws.on('open', hello);
    ws.on('message', (data) => this.#onMessage(String(data)));
    ws.on('close', (code, reason) => (this.closed = `closed ${code} ${String(reason)}`));
    ws.on('error', (err) => (this.closed ??= `error ${err.message}`));
  }

  #onMessage(text: string): void {
    const m = /fuzz-seq (\d+)/.exec(text);
    if (!m) return;
    const n = Number(m[1]);
    if (n === 0) return;
    if (this.next === 0) return void (this.next = n + 1);
    if (n === this.next) this.next += 1;
    else if (n > this.next) {
      this.problems.push(`${this.name} missed ${this.next}..${n - 1}`);
      this.next = n + 1;
    } else this.problems.push(`${this.name} saw ${n} again (expected ${this.next})`);
  }

  send(o: unknown): void {
    this.ws.send(JSON.stringify(o));
  }
}

export interface FuzzRelay {
  readonly bus: 'memory' | 'nats';
  readonly port: number;
  readonly proc: BridgeProcess;
  readonly sim: WingsSimulator;
  readonly book: SecretBook;
  readonly env: GenEnv;
  readonly watchers: readonly Watcher[];
  /** The last sequence number the simulator wrote. */
  readonly seq: number;
  /** A loopback address no case used before (`block` 0: cases, 1: the limits property). */
  nextAddress(block?: 0 | 1): string;
  stop(): Promise<void>;
}

/** Starts the Wings simulator, nats-server (for `nats`) and the relay process; connects the watchers. */
export async function startFuzzRelay(bus: 'memory' | 'nats'): Promise<FuzzRelay> {
  const book = new SecretBook();
  const sim = await WingsSimulator.start(
    {
      config: {
        apiKey: UPSTREAM.wingsApiKey,
        nodeToken: UPSTREAM.wingsNodeToken,
        servers: [{ uuid: S1, state: 'running' }, { uuid: S2, state: 'offline' }, { uuid: SW, state: 'running' }],
        consoleIntervalMs: 400,
        statsIntervalMs: 700,
        startupMs: 50,
        stopMs: 50,
        tokenTtlSeconds: 600,
        tokenCheckIntervalMs: 30_000,
        allowedOrigins: [],
      },
      clock: systemClock,
      log: silent,
    },
    '127.0.0.1',
    0,
  );
  let nats: NatsServerHandle | null = null;
  let proc: BridgeProcess | null = null;
  let pump: NodeJS.Timeout | null = null;
  const watchers: Watcher[] = [];
  const stop = async () => {
    if (pump) clearInterval(pump);
    for (const w of watchers) w.ws.terminate();
    proc?.kill();
    await sim.close();
    await nats?.stop();
  };
  try {
    const prefix = `fz${bus}`;
    if (bus === 'nats') nats = await startNatsServer();
    const [port] = await freePorts(1);
    const busConfig = nats ? { kind: 'nats', prefix, servers: [nats.url], storage: 'memory' } : { kind: 'memory', prefix };
    proc = startBridgeProcess(relayConfig(port!, sim.endpoint.url, busConfig));
    const exited = proc.exited.then((e) => {
      throw new Error(`the relay exited (${e.code ?? e.signal}) before listening:\n${proc!.tail()}`);
    });
    await Promise.race([proc.waitLog((l) => l.msg === 'relay listening', 40_000, 'relay listening'), exited]);
    exited.catch(() => {});
    const base = `127.0.0.1:${port}`;
    const nowS = Math.floor(Date.now() / 1000);

    // Watchers: one per dialect that can see a Wings console line, each from 127.0.0.1.
    const wsUrl = `ws://${base}`;
    const wingsJwt = signHs256(JWT_SECRET, { server_uuid: SW, permissions: ['*'], iat: nowS - 5, exp: nowS + 3000 });
    book.add(wingsJwt);
    const wings: Watcher = new Watcher('wings watcher', new WebSocket(`${wsUrl}/api/servers/${SW}/ws`), () => wings.send({ event: 'auth', args: [wingsJwt] }));
    const ce: Watcher = new Watcher('cloudevents watcher', new WebSocket(`${wsUrl}/cloudevents`, { headers: { authorization: `Bearer ${KEYS.watch}` } }), () =>
      ce.send({ op: 'subscribe', subject: `up.server.${SW}.console` }),
    );
    const panel: Watcher = new Watcher('panel v2 watcher', new WebSocket(`${wsUrl}/server/events`), () => {
      panel.send({ action: 'AUTHENTICATE', data: { sessionId: KEYS.watch } });
      panel.send({ action: 'ENABLE_INTENT', data: { intent: `console.${SW}` } });
    });
    watchers.push(wings, ce, panel);

    // The stream starts once every watcher follows it: until then, probes.
    let seq = 0;
    const deadline = Date.now() + 30_000;
    while (watchers.some((w) => w.next === 0)) {
      if (Date.now() > deadline) throw new Error(`watchers never saw the stream: ${watchers.map((w) => `${w.name}: ${w.next} ${w.closed ?? ''}`).join('; ')}\n${proc.tail()}`);
      seq += 1;
      sim.console(SW, `fuzz-seq ${seq}`);
      await sleep(50);
    }
    pump = setInterval(() => {
      seq += 1;
      sim.console(SW, `fuzz-seq ${seq}`);
    }, 15);

    const counters = [0, 0];
    const bases = bus === 'memory' ? [20, 21] : [30, 31];
    const p = proc;
    return {
      bus,
      port: port!,
      proc: p,
      sim,
      book,
      env: { hostPort: base, nowS, maxPayload: MAX_PAYLOAD, book },
      watchers,
      get seq() {
        return seq;
      },
      nextAddress(block = 0) {
        const n = counters[block]!++;
        const low = `${Math.floor(n / 254) % 254}.${(n % 254) + 1}`;
        // Every eighth case comes through a trusted proxy: its X-Forwarded-For (if any) names the client.
        if (block === 0 && n % 8 === 7) return `127.99.${low}`;
        return `127.${bases[block]! + Math.floor(n / 64516)}.${low}`;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** GET over a fresh connection: the answer's status and body, or the error's message as status 0. */
export async function probe(port: number, path: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  try {
    return await getFresh(`http://127.0.0.1:${port}${path}`, timeoutMs);
  } catch (err) {
    return { status: 0, body: (err as Error).message };
  }
}
