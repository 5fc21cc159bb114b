/**
 * Issue 12: under `npx bridge` (bin/bridge.mjs) one Ctrl-C in a terminal skipped the drain. The
 * terminal sends SIGINT to its whole foreground process group, so the relay got it from the
 * terminal and once more from the launcher, which forwards signals; the relay read that as a
 * second Ctrl-C ("exit at once") and exited 130 with its dashboards cut. Now a repeat within a
 * second is the same signal: one Ctrl-C drains, and a real second one (later) still exits at once.
 *
 * The launcher runs in a process group of its own here, and the test signals the whole group,
 * exactly as a terminal's Ctrl-C does.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePorts, useNatsServer } from '../helpers/nats-server.ts';

const nats = useNatsServer();
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const S1 = 'c7a1e0d2-3b4c-4d5e-8f60-718293a4b5c6';
const GRACE = 8000;
const dir = mkdtempSync(join(tmpdir(), 'bridge-ctrl-c-'));
const groups = new Set<number>();
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

interface Launched {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; at: number }>;
  waitLog(msg: string, timeoutMs: number): Promise<Record<string, unknown>>;
}

/** `node bin/bridge.mjs --config FILE …args` as the leader of a new process group. */
function launch(name: string, extra: Record<string, unknown> = {}, args: string[] = []): Launched {
  const file = join(dir, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      ...extra,
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: GRACE, ...(extra.http as object) },
      clients: [{ name: 'c', key: 'ctrl-c-key', grants: [{ upstream: 'up' }] }],
      simulators: [{ name: 'sim', protocol: 'wings', servers: [{ uuid: S1, state: 'running' }], consoleIntervalMs: 0, statsIntervalMs: 0 }],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1] }],
      listeners: [{ dialect: 'wings', upstreams: ['up'], jwtSecret: 'ctrl-c-jwt-secret' }],
      log: { level: 'info' },
    }),
  );
  const env = { ...process.env };
  delete env.BRIDGE_CONFIG;
  delete env.BRIDGE_LOG_LEVEL;
  const child = spawn(process.execPath, [join(ROOT, 'bin/bridge.mjs'), '--config', file, ...args], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  groups.add(child.pid!);
  const lines: Record<string, unknown>[] = [];
  const wake = new Set<() => void>();
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      lines.push({ msg: line });
    }
    for (const w of wake) w();
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return {
    child,
    lines,
    exited,
    waitLog: (msg, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find((l) => l.msg === msg);
          if (!hit) return;
          clearTimeout(timer);
          wake.delete(check);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          wake.delete(check);
          reject(new Error(`no "${msg}" within ${timeoutMs} ms; lines: ${JSON.stringify(lines.slice(-10))}`));
        }, timeoutMs);
        wake.add(check);
        check();
      }),
  };
}

/** A Wings dashboard socket that completes the handshake, then never reads: the drain has to wait for it. */
async function stuckDashboard(port: number): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const key = randomBytes(16).toString('base64');
  const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  socket.write(`GET /api/servers/${S1}/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const head = await new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('error', reject);
    socket.on('data', function onData(chunk: Buffer) {
      text += chunk.toString('latin1');
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      resolve(text);
    });
  });
  assert.match(head, /^HTTP\/1\.1 101/);
  assert.ok(head.includes(accept));
  socket.pause();
}

async function listening(b: Launched): Promise<number> {
  const line = await b.waitLog('relay listening', 60_000);
  await stuckDashboard(line.port as number);
  return line.port as number;
}

test('one Ctrl-C (SIGINT to the whole process group) drains the relay and exits 0', async () => {
  const b = launch('once');
  await listening(b);
  const sent = Date.now();
  process.kill(-b.child.pid!, 'SIGINT');
  const { code, at } = await b.exited;
  assert.equal(code, 0, `exit ${code}; lines: ${JSON.stringify(b.lines.slice(-8))}`);
  assert.ok(b.lines.some((l) => l.msg === 'relay stopped'), 'the drain ran to its end');
  assert.equal(b.lines.filter((l) => l.msg === 'signal received, draining').length, 1);
  // The stuck dashboard held the drain until the grace's session share: this was no exit at once.
  assert.ok(at - sent >= GRACE / 2, `exited after ${at - sent} ms`);
});

test('a second Ctrl-C more than a second later still exits at once', async () => {
  const b = launch('twice');
  await listening(b);
  process.kill(-b.child.pid!, 'SIGINT');
  await b.waitLog('signal received, draining', 10_000);
  await new Promise((r) => setTimeout(r, 1500));
  const second = Date.now();
  process.kill(-b.child.pid!, 'SIGINT');
  const { code, at } = await b.exited;
  assert.equal(code, 130, `exit ${code}`);
  assert.ok(!b.lines.some((l) => l.msg === 'relay stopped'), 'the drain was cut short');
  assert.ok(at - second < GRACE / 2, `exited ${at - second} ms after the second Ctrl-C`);
});

test('--workers 2: one Ctrl-C stops the primary and its workers cleanly, not at once', async () => {
  const [port] = await freePorts(1);
  const b = launch('workers', { http: { port }, bus: { kind: 'nats', servers: [nats.url], prefix: `ctrlc${process.pid}`, storage: 'memory' } }, ['--workers', '2']);
  await b.waitLog('workers ready', 90_000);
  process.kill(-b.child.pid!, 'SIGINT');
  const { code } = await b.exited;
  assert.equal(code, 0, `exit ${code}; lines: ${JSON.stringify(b.lines.slice(-8))}`);
  const stopped = b.lines.find((l) => l.msg === 'primary stopped');
  assert.deepEqual(stopped?.clean, true, 'every worker drained and exited by itself');
  assert.equal(b.lines.filter((l) => l.msg === 'signal received, stopping the workers').length, 1);
});
