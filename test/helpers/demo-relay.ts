/**
 * The demo as `npm start` runs it: `node --import tsx src/main.ts` with the repository's own
 * bridge.config.json, except that it listens on 127.0.0.1 and a free port (a copy of the config
 * with `http.port` 0 in a temporary directory), so a test never collides with a running demo.
 * The bound URL is read from the relay's `relay listening` log line (JSON, on stdout or stderr).
 * The process is SIGKILLed by PID on `stop()` and when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface DemoRelay {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The demo config as the repository has it. */
  readonly config: DemoConfig;
  /** The last lines the process wrote, for failure messages. */
  tail(): string;
  stop(): void;
}

export interface DemoConfig {
  clients: { key: string }[];
  upstreams: { name: string; protocol: string; servers?: string[]; rooms?: unknown[] }[];
  listeners: { dialect: string; path: string }[];
  [key: string]: unknown;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** Starts the demo relay; resolves with its URL once it logged that it listens. */
export async function startDemoRelay(timeoutMs = 20_000): Promise<DemoRelay> {
  const config = JSON.parse(readFileSync(join(ROOT, 'bridge.config.json'), 'utf8')) as DemoConfig & { http: Record<string, unknown> };
  const dir = mkdtempSync(join(tmpdir(), 'bridge-demo-'));
  const file = join(dir, 'bridge.config.json');
  const { $schema: _schema, ...rest } = config as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...rest, http: { ...config.http, host: '127.0.0.1', port: 0 } }));
  const env = { ...process.env };
  delete env.BRIDGE_CONFIG;
  // The pid file goes with the config: a SIGKILLed relay would leave one in $TMPDIR otherwise.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file, '--pid-file', join(dir, 'bridge.pid')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const lines: string[] = [];
  const stop = () => {
    if (live.delete(child)) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the demo relay did not log "relay listening" within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)), timeoutMs);
      const onLine = (line: string) => {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        let parsed: { msg?: unknown; url?: unknown };
        try {
          parsed = JSON.parse(line) as typeof parsed;
        } catch {
          return;
        }
        if (parsed.msg === 'relay listening' && typeof parsed.url === 'string') {
          clearTimeout(timer);
          resolve(parsed.url);
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the demo relay exited (${code ?? signal}) before listening:\n${lines.slice(-20).join('\n')}`));
      });
    });
    return { url, config, tail: () => lines.slice(-20).join('\n'), stop };
  } catch (err) {
    stop();
    throw err;
  }
}
