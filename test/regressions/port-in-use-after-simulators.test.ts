/**
 * Issue 12: with the port already in use, `bridge` started every simulator, opened the upstream
 * links, and only then died at listen() with a raw stack trace. Now the port is bound first, and a
 * port in use (or a simulator's) ends the process with exit 1 and one line naming the port and how
 * to change it, before anything else has started; that holds for `--workers N` as well.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../helpers/nats-server.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bridge-port-in-use-'));
let held: Server;
let busy: number;
let free: number;

before(async () => {
  [busy, free] = (await freePorts(2)) as [number, number];
  held = createServer();
  await new Promise<void>((resolve) => held.listen(busy, '127.0.0.1', resolve));
});
after(() => {
  held.close();
  rmSync(dir, { recursive: true, force: true });
});

function run(config: Record<string, unknown>, args: string[] = []): Promise<{ code: number | null; stderr: string; file: string }> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      clients: [{ name: 'c', key: 'port-test-key', grants: [{ upstream: 'u' }] }],
      simulators: [{ name: 'sim', protocol: 'wings', host: '127.0.0.1', port: free }],
      upstreams: [{ name: 'u', protocol: 'wings', simulator: 'sim', servers: ['s1'] }],
      listeners: [{ dialect: 'wings', upstreams: ['u'], jwtSecret: 'port-test-jwt' }],
      log: { level: 'info' },
      ...config,
    }),
  );
  const env = { ...process.env };
  delete env.BRIDGE_CONFIG;
  delete env.BRIDGE_LOG_LEVEL;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', file, ...args], { cwd: ROOT, env, timeout: 90_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr, file });
    });
  });
}

test('http.port in use: one line with the port and the fix, exit 1, nothing started or logged before it', async () => {
  const r = await run({ http: { host: '127.0.0.1', port: busy } });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, `bridge: port ${busy} is already in use on 127.0.0.1; stop the other process or run with --port N (or http.port in ${r.file})\n`);
});

test('--port in use: the fix names the flag', async () => {
  const r = await run({ http: { host: '127.0.0.1', port: 0 } }, ['--port', String(busy)]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, `bridge: port ${busy} is already in use on 127.0.0.1; stop the other process or run with another --port N\n`);
});

test('--workers 2: the primary finds the port in use before it starts a simulator or a worker', async () => {
  // No NATS server is needed: nothing gets far enough to connect.
  const r = await run({ http: { host: '127.0.0.1', port: busy }, bus: { kind: 'nats', servers: ['nats://127.0.0.1:1'] } }, ['--workers', '2']);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, `bridge: port ${busy} is already in use on 127.0.0.1; stop the other process or run with --port N (or http.port in ${r.file})\n`);
});

test("a simulator's port in use: one line naming the simulator and its key, no stack", async () => {
  const r = await run({
    http: { host: '127.0.0.1', port: 0 },
    simulators: [{ name: 'sim', protocol: 'wings', host: '127.0.0.1', port: busy }],
  });
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.at(-1), `bridge: port ${busy} (simulator "sim") is already in use on 127.0.0.1; stop the other process or set simulators[0].port in ${r.file} (0 = any free port)`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!lines.some((l) => l.includes('relay listening')), 'the relay never served');
});
