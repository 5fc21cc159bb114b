/**
 * Bounded write queues (a slow consumer is cut, a fast one keeps everything) and graceful
 * shutdown, in-process and as a real process receiving SIGTERM.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { authed } from '../helpers/wings-e2e-suite.ts';

let h: Harness | undefined;
const clients: WingsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate?.();
  await h?.stop();
  h = undefined;
});

describe('slow consumers', () => {
  test('a client that stops reading is closed with 4108 while a fast one receives every line', async () => {
    h = await startHarness({ limits: { writeQueueBytes: 64 * 1024 } });
    await linksReady(h);
    const fast = await authed(h, S1);
    const slow = await authed(h, S1);
    clients.push(fast, slow);
    slow.ws.pause(); // stops reading: the kernel buffers fill, then the relay's queue

    const line = 'x'.repeat(4000);
    let sent = 0;
    const fastLines = () => fast.frames.filter((f) => f.event === 'console output').length;
    let slowClosed: { code: number; reason: string } | null = null;
    void slow.closed.then((c) => (slowClosed = c));
    const slowDrops = async () => (await h!.relay.metrics.eventsDropped.get()).values.find((v) => v.labels.reason === 'slow')?.value ?? 0;
    // Paced in batches so the fast client (same process) gets to read between them.
    while (sent < 10_000 && (await slowDrops()) === 0) {
      for (let i = 0; i < 50; i++) h.sim.console(S1, `${sent++} ${line}`);
      await eventually(() => fastLines() >= sent, 5000, 'fast client caught up');
    }
    assert.equal(await slowDrops(), 1, 'the slow session was cut');
    for (let i = 0; i < 50; i++) h.sim.console(S1, `${sent++} ${line}`);
    await eventually(() => fastLines() >= sent, 5000, 'fast client got the rest');
    const numbers = fast.frames.filter((f) => f.event === 'console output').map((f) => Number(f.args![0]!.split(' ')[0]));
    assert.deepEqual(numbers, [...Array(sent).keys()], 'the fast client lost nothing, in order');

    slow.ws.resume();
    const closed = await eventually(() => slowClosed, 10_000, 'slow close frame');
    assert.equal(closed.code, 4108);
    assert.match(closed.reason, /slow consumer/);
    const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="slow"\} 1/);
  });
});

describe('graceful shutdown', () => {
  test('drain: /readyz 503 and upgrades refused while sessions close with 1001', async () => {
    h = await startHarness();
    await linksReady(h);
    const stuck = await authed(h, S1);
    const polite = await authed(h, S1);
    clients.push(stuck, polite);
    stuck.ws.pause(); // never answers the close frame: the drain waits for it
    const stopping = h.relay.stop(1500);
    assert.equal((await fetch(`${h.relay.url}/readyz`)).status, 503);
    await assert.rejects(WingsClient.connect(h.socketUrl(S1)), (err: { status?: number }) => err.status === 503);
    assert.equal((await polite.closed).code, 1001);
    await stopping;
    h = undefined;
  });

  test('SIGTERM: the process closes dashboards with 1001 and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bridge-sigterm-'));
    const config = join(dir, 'bridge.config.json');
    writeFileSync(config, JSON.stringify({
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 3000 },
      clients: [{ name: 'demo', key: 'k-demo', grants: [{ upstream: 'up' }] }],
      simulators: [{ name: 'sim', protocol: 'wings', servers: [{ uuid: S1 }] }],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1] }],
      listeners: [{ dialect: 'wings', upstreams: ['up'], jwtSecret: 'sigterm-test-secret' }],
    }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const logs: Record<string, unknown>[] = [];
    createInterface({ input: child.stderr! }).on('line', (l) => {
      try {
        logs.push(JSON.parse(l));
      } catch {
        logs.push({ msg: l });
      }
    });
    try {
      const listening = await eventually(() => logs.find((l) => l.msg === 'relay listening'), 20_000, 'relay listening');
      const url = listening.url as string;
      await eventually(() => logs.some((l) => l.msg === 'upstream link state' && l.state === 'ready'), 10_000, 'link ready');
      const res = await fetch(`${url}/api/client/servers/${S1}/websocket`, { headers: { authorization: 'Bearer k-demo' } });
      const { data } = (await res.json()) as { data: { token: string; socket: string } };
      const c = await WingsClient.connect(data.socket);
      c.send('auth', [data.token]);
      await c.event('status');
      child.kill('SIGTERM');
      assert.equal((await c.closed).code, 1001);
      assert.equal(await exited, 0);
      assert.ok(logs.some((l) => l.msg === 'relay stopped'));
      assert.ok(!JSON.stringify(logs).includes('sigterm-test-secret'), 'no secret in the logs');
      assert.ok(!JSON.stringify(logs).includes(data.token), 'no token in the logs');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
