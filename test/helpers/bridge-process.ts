/**
 * A relay as a real process (`node --import tsx src/main.ts --config FILE …`) for tests of the
 * CLI-level behaviour: --workers, signals, exits. Its stderr (JSON log lines of the process and of
 * any workers it forks, which inherit it) is parsed line by line; a test waits for log lines.
 * Everything it started is SIGKILLed by PID on `kill()` and when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string };

export interface BridgeProcess {
  readonly child: ChildProcess;
  /** The config file it runs with (a test may rewrite it and send SIGHUP). */
  readonly file: string;
  /** Its pid file (in the temporary directory, unless started with `pidFile: 'default'`). */
  readonly pidFile: string | null;
  /** Every stderr line so far, parsed (a line that is not JSON is `{ msg: line }`). */
  readonly logs: LogLine[];
  /** Resolves when the process has exited, with when (Date.now()). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** The first log line (already seen or still to come) that matches; throws after `timeoutMs`. */
  waitLog(match: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine>;
  /** PIDs of the workers it forked, from its `worker started` lines (restarts included). */
  workerPids(): number[];
  /** The last `worker started` PID of worker `index`. */
  workerPid(index: number): number | undefined;
  /** The stderr tail, for failure messages. */
  tail(): string;
  /** SIGKILLs the process and every worker it reported, removes the config. Idempotent. */
  kill(): void;
}

const live = new Set<BridgeProcess>();
process.on('exit', () => {
  for (const b of live) b.kill();
});

/**
 * Writes `config` to a temporary file and starts `bridge --config FILE ...args`. Its pid file goes
 * in the same temporary directory (removed by `kill()`), unless `pidFile: 'default'` lets the relay
 * use its default place ($TMPDIR/bridge-<hash>.pid: the test then stops it with a signal).
 */
export function startBridgeProcess(config: unknown, args: string[] = [], opts: { pidFile?: 'temp' | 'default' } = {}): BridgeProcess {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-proc-'));
  const file = join(dir, 'bridge.config.json');
  writeFileSync(file, JSON.stringify(config));
  const env = { ...process.env };
  delete env.BRIDGE_CONFIG;
  delete env.BRIDGE_LOG_LEVEL;
  const pidFile = opts.pidFile === 'default' ? null : join(dir, 'bridge.pid');
  const pidArgs = pidFile ? ['--pid-file', pidFile] : [];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file, ...pidArgs, ...args], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const logs: LogLine[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stderr! }).on('line', (line) => {
    raw.push(line);
    let parsed: LogLine;
    try {
      parsed = JSON.parse(line) as LogLine;
    } catch {
      parsed = { msg: line };
    }
    logs.push(parsed);
    for (const wake of waiters) wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const started = () => logs.filter((l) => l.msg === 'worker started' && typeof l.pid === 'number');
  const handle: BridgeProcess = {
    child,
    file,
    pidFile,
    logs,
    exited,
    waitLog(match, timeoutMs, what) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = logs.find(match);
          if (!hit) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no log line "${what}" within ${timeoutMs} ms; stderr tail:\n${raw.slice(-30).join('\n')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    workerPids: () => started().map((l) => l.pid as number),
    workerPid: (index) => started().filter((l) => l.worker === index).at(-1)?.pid as number | undefined,
    tail: () => raw.slice(-30).join('\n'),
    kill() {
      if (!live.delete(handle)) return;
      for (const pid of [child.pid, ...handle.workerPids()]) {
        try {
          if (pid !== undefined) process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  live.add(handle);
  return handle;
}

/** True while a process with this PID exists (a zombie not yet reaped counts as gone for `ps`, not here). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** GET over a connection of its own (no keep-alive), so node:cluster hands each request to the next worker. */
export function getFresh(url: string, timeoutMs = 5000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
