/**
 * Real nats-server processes for tests: each NATS test file starts its own from the binary, on free
 * loopback ports with a temporary store, so `npm test` needs only the binary (Debian's
 * `nats-server` package) and nothing already running. A missing binary is a failure with one line
 * saying how to install it, never a skip: a green run must mean NATS was exercised.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before } from 'node:test';
import { connect } from 'nats';

export interface NatsServerHandle {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** The JetStream store; kept across `shutdown`, `kill9` and `restart`, removed by `stop`. */
  readonly storeDir: string;
  /** The unique `server_name`. */
  readonly name: string;
  /** PID of the current process; undefined while the server is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** SIGTERM by PID (SIGKILL after `timeoutMs`), keeping the store: down until `restart()`. */
  shutdown(timeoutMs?: number): Promise<void>;
  /** SIGKILL by PID, keeping the store: a crash. */
  kill9(): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same ports, store and name. */
  restart(): Promise<void>;
  /** Final: shuts the server down and removes its store. Idempotent. */
  stop(): Promise<void>;
  /** The tail of the server's output, for failure messages. */
  output(): string;
}

export interface NatsServerOptions {
  /** Extra command-line arguments (the cluster helper passes its route flags here). */
  args?: string[];
  /** Client port; a free one when absent. */
  port?: number;
  /** Milliseconds to wait for the server (and JetStream) to answer. */
  readyTimeoutMs?: number;
}

/** The nats-server binary: on PATH, else Debian's /usr/sbin path. Throws one line when missing. */
export function findNatsServer(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error("nats-server not found on PATH or at /usr/sbin/nats-server: install Debian's package (apt-get install nats-server)");
}

/** `count` distinct free loopback ports: all bound at once so none repeats, then released (a small race). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let n = 0; n < count; n++) {
      const srv = createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

// Servers still running when the test process exits, however it exits: SIGKILLed by PID, store removed.
const live = new Map<number, string>();
let exitHookInstalled = false;
function track(pid: number, storeDir: string): void {
  live.set(pid, storeDir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [pid, dir] of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** True once a client can connect to `url` and JetStream answers an account-info request. */
export async function jetStreamAnswers(url: string): Promise<boolean> {
  const nc = await connect({ servers: url, reconnect: false, timeout: 1000 }).catch(() => null);
  if (!nc) return false;
  try {
    const jsm = await nc.jetstreamManager({ timeout: 1000 });
    await jsm.getAccountInfo();
    return true;
  } catch {
    return false;
  } finally {
    await nc.close();
  }
}

/** Polls `probe` every 50 ms until it is true; throws `message()` after `timeoutMs`. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(message());
    await sleep(50);
  }
}

/** Starts a nats-server with JetStream on a free port and a temporary store; resolves once JetStream answers. */
export async function startNatsServer(o: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  const port = o.port ?? (await freePorts(1))[0]!;
  const name = `test-${process.pid}-${randomBytes(3).toString('hex')}`;
  const storeDir = mkdtempSync(join(tmpdir(), 'nats-test-'));
  const readyTimeoutMs = o.readyTimeoutMs ?? 10_000;
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, '--server_name', name, ...(o.args ?? [])];
  let child: ChildProcess | undefined;
  let tail = '';
  let removed = false;

  async function launch(): Promise<void> {
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    // Keep reading: a full pipe would block the server's logging. Only the tail is kept.
    const keep = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-4000));
    c.stdout!.on('data', keep);
    c.stderr!.on('data', keep);
    const spawnFailed = new Promise<never>((_, reject) => c.once('error', reject));
    await Promise.race([spawnFailed, new Promise<void>((resolve) => c.once('spawn', resolve))]);
    track(c.pid!, storeDir);
    c.once('exit', () => live.delete(c.pid!));
    const why = () => `nats-server ${name} on port ${port} did not answer with JetStream within ${readyTimeoutMs} ms:\n${tail}`;
    // "Server is ready" follows JetStream's start and the client listener; one request proves it.
    await until(async () => {
      if (c.exitCode !== null || c.signalCode !== null) throw new Error(`nats-server ${name} exited (${c.exitCode ?? c.signalCode}):\n${tail}`);
      return tail.includes('Server is ready') || (await jetStreamAnswers(`nats://127.0.0.1:${port}`));
    }, readyTimeoutMs, why);
  }

  async function halt(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = exited(c);
    process.kill(c.pid!, signal);
    const timer = setTimeout(() => c.exitCode === null && c.signalCode === null && process.kill(c.pid!, 'SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  try {
    await launch();
  } catch (err) {
    await halt('SIGKILL', 0);
    rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }

  const handle: NatsServerHandle = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    name,
    get pid() {
      return child?.pid;
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    shutdown: (timeoutMs = 5000) => halt('SIGTERM', timeoutMs),
    kill9: () => halt('SIGKILL', 0),
    async restart() {
      if (removed) throw new Error(`nats-server ${name} was stopped for good; start a new one`);
      await halt('SIGTERM', 5000);
      tail = '';
      await launch();
    },
    async stop() {
      await halt('SIGTERM', 5000);
      if (removed) return;
      removed = true;
      rmSync(storeDir, { recursive: true, force: true });
    },
    output: () => tail,
  };
  return handle;
}

/**
 * One nats-server for the calling test file, shared by its tests: started in a `before` and stopped
 * in an `after` registered where this is called (at the top of the file: before and after every
 * suite in it). `url` throws when read before the server started.
 */
export function useNatsServer(o: NatsServerOptions = {}): { readonly url: string; readonly server: NatsServerHandle } {
  let server: NatsServerHandle | undefined;
  before(async () => {
    server = await startNatsServer(o);
  });
  after(() => server?.stop());
  const current = () => server ?? (() => { throw new Error('useNatsServer: read before the before hook started the server'); })();
  return {
    get url() {
      return current().url;
    },
    get server() {
      return current();
    },
  };
}

/** The URL a harness was given for `bus: 'nats'`; there is no default server to fall back on. */
export function requireNatsUrl(natsUrl: string | undefined): string {
  if (!natsUrl) throw new Error("bus 'nats' needs natsUrl: start a server with useNatsServer() or startNatsServer()");
  return natsUrl;
}
