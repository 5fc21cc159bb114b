/**
 * Orchestrator side of process handling: every child the bench starts is tracked here and killed
 * when the bench exits for any reason (normal end, SIGINT/SIGTERM/SIGHUP, uncaught error); every
 * temp dir is removed. Node children also carry process-hook.mjs, which exits them when the IPC
 * channel drops, so even a SIGKILLed bench leaves only nats-server behind at worst.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/**
 * V8 flags of every Node child: `gc()` for memory readings, and no bytecode flushing, which
 * otherwise drops the bytecode of start-up code a few GCs later and moves the heap by megabytes
 * between two readings, with nothing to do with connections.
 */
export const NODE_MEASURE_FLAGS = ['--expose-gc', '--no-flush-bytecode'];

/**
 * Environment of every Node child (relay and baseline alike), as the container image sets it
 * (deploy/Dockerfile). glibc gives each thread that mallocs its own arena; the relay verifies
 * JWTs with WebCrypto, which runs on libuv's thread pool, and without a cap each pool thread's
 * arena keeps the high-water mark of a burst of handshakes resident (about 1 KB per connection
 * in this bench).
 */
export const NODE_SERVER_ENV = { MALLOC_ARENA_MAX: '2' };

/** Process hooks for Node children that do not import child-hook.ts themselves (the relay). */
export const HOOK = './bench/process-hook.mjs';
const CLK_TCK = 100;

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
/** Programs started under a guard (their own pids, not the guard's). */
const guarded = new Set<number>();

function killAll(): void {
  for (const pid of guarded) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  guarded.clear();
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping every child\n`);
    killAll();
    process.exit(130);
  });
}

export function tempDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bench-${tag}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Tears a stack down: stops every process it started (each given `graceMs`), then removes its directory. */
export async function stopStack(started: readonly Child[], dir: string, graceMs: number): Promise<void> {
  await Promise.all(started.map((c) => c.stop(graceMs)));
  removeTempDir(dir);
}

/** A free TCP port on 127.0.0.1 (for nats-server, which needs explicit ports). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Last lines of stderr, for error messages. */
  tail(): string;
  /** Resolves with the first stderr line matching `re` (rejects on exit or timeout). */
  waitLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

interface StartOptions {
  ipc?: boolean;
  /** Give the child a stdin pipe (the guard's lifeline). */
  stdin?: boolean;
  env?: Record<string, string>;
}

export function start(cmd: string, args: string[], opts: StartOptions = {}): Child {
  const proc = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'ignore', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  children.add(proc);
  let lines: string[] = [];
  let partial = '';
  const watchers: { re: RegExp; done: (line: string) => void }[] = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of [...watchers]) if (w.re.test(line)) w.done(line);
    }
    if (lines.length > 200) lines = lines.slice(-50);
  });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  proc.once('exit', () => children.delete(proc));
  if (proc.pid === undefined) throw new Error(`could not start ${cmd}`);
  return {
    proc,
    pid: proc.pid,
    tail: () => [...lines, partial].slice(-15).join('\n'),
    waitLine(re, timeoutMs) {
      // A line that already arrived counts: the caller may start waiting late.
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const w = { re, done: (line: string) => finish(null, line) };
        const timer = setTimeout(() => finish(new Error(`timeout waiting for ${re} from ${cmd}`)), timeoutMs);
        const onExit = () => finish(new Error(`${cmd} exited while waiting for ${re}`));
        function finish(err: Error | null, line = ''): void {
          clearTimeout(timer);
          proc.off('exit', onExit);
          watchers.splice(watchers.indexOf(w), 1);
          if (err) rej(new Error(`${err.message}\n--- stderr tail ---\n${lines.slice(-15).join('\n')}`));
          else res(line);
        }
        watchers.push(w);
        proc.once('exit', onExit);
      });
    },
    async stop(graceMs = 2000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * nats-server cannot notice that the bench died, so it runs under a two-line `sh` guard that
 * blocks reading a pipe from the bench: when the pipe closes (stop(), or the bench is killed,
 * even with SIGKILL) the guard kills the program and removes `dir`. `pid` is the program's own.
 */
const GUARD = 'trap "" INT; "$0" "$@" & n=$!; echo "bench-guard-pid $n" >&2; read _; kill $n 2>/dev/null; wait $n; rm -rf "$BENCH_GUARD_DIR"';

export async function startGuarded(cmd: string, args: string[], dir: string): Promise<Child> {
  const guard = start('/bin/sh', ['-c', GUARD, cmd, ...args], { stdin: true, env: { BENCH_GUARD_DIR: dir } });
  const pid = Number((await guard.waitLine(/^bench-guard-pid \d+$/, 10_000)).split(' ')[1]);
  guarded.add(pid);
  const gone = new Promise<void>((res) => guard.proc.once('exit', () => res()));
  return {
    ...guard,
    pid,
    async stop(graceMs = 2000) {
      guard.proc.stdin?.end();
      const t = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        guard.proc.kill('SIGKILL');
      }, graceMs);
      await gone;
      clearTimeout(t);
      guarded.delete(pid);
    },
  };
}

/**
 * Where the processes of a run go on this machine's CPUs: the load generator alone on the last
 * one, everything else (the server under test, its nats-server, the publisher) on the others.
 * Null on a machine with one CPU.
 */
export function cpuLayout(): { loadgen: string; rest: string } | null {
  const n = availableParallelism();
  if (n < 2) return null;
  return { loadgen: String(n - 1), rest: n === 2 ? '0' : `0-${n - 2}` };
}

/** Pins every thread of `pid` to `cpus` (a taskset list); threads it starts later inherit it. */
export function pinTo(pid: number, cpus: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
}

/** A Node child running a bench TypeScript file through tsx, with the IPC channel and the hook. */
export function startNode(script: string, args: string[] = []): Child {
  return start(process.execPath, [...NODE_MEASURE_FLAGS, '--import', 'tsx', script, ...args], { ipc: true, env: NODE_SERVER_ENV });
}

/** Request/reply over a child's IPC channel (see child-hook.ts `serve`). */
export class Ipc {
  readonly #proc: ChildProcess;
  readonly #pending = new Map<number, { res: (v: any) => void; rej: (e: Error) => void }>();
  readonly #announced: Promise<unknown>;
  #next = 1;

  constructor(child: Child) {
    this.#proc = child.proc;
    this.#announced = new Promise((res, rej) => {
      this.#proc.on('message', (m: { event?: string }) => {
        if (m.event === 'ready') res(m);
      });
      this.#proc.once('exit', () => rej(new Error(`child exited before it was ready\n${child.tail()}`)));
    });
    this.#announced.catch(() => {});
    this.#proc.on('message', (raw: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      if (raw.id === undefined) return;
      const p = this.#pending.get(raw.id);
      if (!p) return;
      this.#pending.delete(raw.id);
      if (raw.ok) p.res(raw.result);
      else p.rej(new Error(raw.error ?? 'child error'));
    });
    this.#proc.once('exit', (code, sig) => {
      for (const p of this.#pending.values()) p.rej(new Error(`child exited (${code ?? sig}) with a request pending\n${child.tail()}`));
      this.#pending.clear();
    });
  }

  /** The child's `{event:"ready"}` announcement (listened for from construction on). */
  ready<T = Record<string, unknown>>(timeoutMs = 30_000): Promise<T> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error('child did not announce ready')), timeoutMs);
      this.#announced.then((m) => {
        clearTimeout(timer);
        res(m as T);
      }, rej);
    });
  }

  call<T = any>(op: string, args?: unknown): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((res, rej) => {
      this.#pending.set(id, { res, rej });
      this.#proc.send({ id, op, args });
    });
  }

  /** Fire-and-forget: handled in order with the calls, no reply. */
  send(op: string, args?: unknown): void {
    this.#proc.send({ op, args });
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds the whole machine has been busy (all cores; /proc/stat, idle and iowait excluded). */
export function machineBusySeconds(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    return (user + nice + system + irq + softirq + steal) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size in bytes (VmRSS), NaN when the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
