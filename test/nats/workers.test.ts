/**
 * `bridge --workers 2` as real processes on a real nats-server: a primary that runs the Wings
 * simulator once and two worker processes that share the one port. Connections land on both
 * workers, the four links are spread over them (each owns two, none is owned by both), dashboards
 * get the simulator's events through either, /metrics answers for both, a killed worker comes back
 * and gets its links back, and SIGTERM to the primary ends every process within the grace.
 * (The memory-bus refusal is in test/unit/cli.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { alive, getFresh, startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { freePorts, useNatsServer } from '../helpers/nats-server.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const nats = useNatsServer();

const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const SERVERS = [S1, '1b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d', '2b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d', '3b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d'];
/** Short leases: a worker that is not a link's preferred node hands it over after 2 TTL. */
const TTL = 1500;
const KEY = 'ptlc_workers_test_key';
const GRACE_MS = 3000;
/** Three Node processes loading TypeScript on a shared 2-core machine take their time. */
const BOOT_MS = 45_000;

function config(port: number, natsUrl: string) {
  return {
    node: { id: 'wk' },
    http: { host: '127.0.0.1', port, shutdownGraceMs: GRACE_MS },
    bus: { kind: 'nats', servers: [natsUrl], prefix: `wk${process.pid}`, storage: 'memory' },
    cluster: { leaseTtlMs: TTL },
    log: { level: 'info' },
    clients: [{ name: 'admin', key: KEY, grants: [{ upstream: 'up', permissions: ['*'] }] }],
    simulators: [{ name: 'sim', protocol: 'wings', consoleIntervalMs: 100, statsIntervalMs: 0, servers: SERVERS.map((uuid) => ({ uuid, state: 'running' })) }],
    upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: SERVERS }],
    listeners: [{ dialect: 'wings', upstreams: ['up'], jwtSecret: 'workers-test-jwt' }],
    limits: { backoffInitialMs: 50, backoffMaxMs: 500 },
  };
}

interface Readyz {
  ready: boolean;
  node: string;
  sessions: number;
  upstreams: Record<string, { id: string; state: string; ownership: string; owner: string | null }[]>;
}

/** Which links each worker says it owns (ready), by node id. */
function owned(answers: readonly Readyz[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const a of answers) out.set(a.node, (a.upstreams.up ?? []).filter((l) => l.ownership === 'owned' && l.state === 'ready').map((l) => l.id).sort());
  return out;
}

describe('--workers 2 on the NATS bus', () => {
  let bridge: BridgeProcess;
  let base: string;
  const dashboards: WingsClient[] = [];

  /** /readyz over `n` fresh connections (node:cluster hands connections to the workers in turn). */
  async function readyzMany(n: number): Promise<Readyz[]> {
    const out: Readyz[] = [];
    for (let i = 0; i < n; i++) out.push(JSON.parse((await getFresh(`${base}/readyz`)).body) as Readyz);
    return out;
  }

  async function dashboard(): Promise<WingsClient> {
    const res = await fetch(`${base}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${KEY}` } });
    const { data } = (await res.json()) as { data: { token: string; socket: string } };
    const c = await WingsClient.connect(data.socket);
    dashboards.push(c);
    c.send('auth', [data.token]);
    await c.event('auth success', 10_000);
    return c;
  }

  before(async () => {
    const [port] = await freePorts(1);
    base = `http://127.0.0.1:${port}`;
    bridge = startBridgeProcess(config(port!, nats.url), ['--workers', '2']);
    await bridge.waitLog((l) => l.msg === 'workers ready', BOOT_MS, 'workers ready');
  });
  after(async () => {
    for (const c of dashboards) c.terminate();
    bridge?.kill();
  });

  test('two worker processes serve the one port, with node ids <id>-w1 and <id>-w2', async () => {
    const pids = bridge.workerPids();
    assert.equal(new Set(pids).size, 2, 'two worker processes');
    assert.ok(!pids.includes(bridge.child.pid!), 'workers are processes of their own');
    const answers = await readyzMany(6);
    assert.ok(answers.every((a) => a.ready), JSON.stringify(answers));
    assert.deepEqual([...new Set(answers.map((a) => a.node))].sort(), ['wk-w1', 'wk-w2'], 'connections land on both workers');
  });

  test('both workers own links, two each, and no link is owned twice', async (t) => {
    let spread: Map<string, string[]> = new Map();
    await eventually(async () => {
      spread = owned(await readyzMany(4));
      const all = [...spread.values()].flat();
      return spread.size === 2 && [...spread.values()].every((ids) => ids.length === 2) && new Set(all).size === 4;
    }, 30_000, 'four links spread two and two over the workers').catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify([...spread])}`);
    });
    t.diagnostic(`owned: ${JSON.stringify([...spread])}`);
    // And it stays so, at every look, for longer than a hand-over takes to be due (2 TTL).
    const until = Date.now() + 2 * TTL + 500;
    while (Date.now() < until) {
      const now = owned(await readyzMany(2));
      const all = [...now.values()].flat();
      assert.equal(all.length, new Set(all).size, `a link owned by both workers: ${JSON.stringify([...now])}`);
      if (now.size === 2) assert.deepEqual(now, spread, 'the spread holds');
    }
  });

  test('the primary starts the simulator once, and dashboards on both workers get its events', async () => {
    const started = bridge.logs.filter((l) => l.msg === 'simulator started');
    assert.equal(started.length, 1, 'one simulator, started by the primary');
    assert.equal(started[0]!.role, 'primary');
    for (let i = 0; i < 4; i++) await dashboard();
    for (const c of dashboards) {
      assert.deepEqual((await c.event('status', 10_000)).args, ['running']);
      assert.match((await c.event('console output', 10_000)).args?.[0] ?? '', /./);
    }
    const perWorker = new Map<string, number>();
    await eventually(async () => {
      for (const a of await readyzMany(4)) perWorker.set(a.node, a.sessions);
      return perWorker.size === 2;
    }, 10_000, 'both workers answered /readyz');
    assert.deepEqual([...perWorker.values()].reduce((a, b) => a + b, 0), 4, JSON.stringify([...perWorker]));
    assert.ok([...perWorker.values()].every((n) => n > 0), `dashboards on both workers: ${JSON.stringify([...perWorker])}`);
  });

  test('/metrics answered by either worker counts both workers\' dashboards', async () => {
    const connections = /^bridge_downstream_connections\{dialect="wings"\} (\d+)$/m;
    const links = /^bridge_upstream_links\{protocol="wings",upstream="up",state="ready"\} (\d+)$/m;
    const standby = /^bridge_upstream_links\{protocol="wings",upstream="up",state="standby"\} (\d+)$/m;
    // Four scrapes on fresh connections: two reach each worker.
    for (let i = 0; i < 4; i++) {
      const { status, body } = await getFresh(`${base}/metrics`);
      assert.equal(status, 200);
      assert.equal(connections.exec(body)?.[1], '4', `scrape ${i}: ${connections.exec(body)?.[0]}`);
      // Each link is ready on exactly one worker: summed over both, the four links once each.
      assert.equal(links.exec(body)?.[1], '4', `scrape ${i}: ${links.exec(body)?.[0]}`);
      assert.equal(standby.exec(body)?.[1], '4', `scrape ${i}: ${standby.exec(body)?.[0]}`);
    }
  });

  test('a killed worker is restarted with the same node id', async () => {
    const old = bridge.workerPid(2)!;
    process.kill(old, 'SIGKILL');
    await bridge.waitLog((l) => l.msg === 'worker exited unexpectedly: restarting it' && l.worker === 2 && l.signal === 'SIGKILL', 10_000, 'worker 2 exited');
    await bridge.waitLog((l) => l.msg === 'worker ready' && l.worker === 2 && l.pid !== old, BOOT_MS, 'worker 2 ready again');
    assert.notEqual(bridge.workerPid(2), old);
    assert.equal(alive(old), false);
    const nodes = new Set((await readyzMany(6)).map((a) => a.node));
    assert.deepEqual([...nodes].sort(), ['wk-w1', 'wk-w2']);
    // The restarted worker is the preferred node of two links again: they come back to it.
    await eventually(async () => {
      const spread = owned(await readyzMany(4));
      return spread.size === 2 && [...spread.values()].every((ids) => ids.length === 2);
    }, 30_000, 'the restarted worker owns two links again');
  });

  test('SIGTERM to the primary ends every process within the grace, exit 0', async (t) => {
    const pids = [bridge.workerPid(1)!, bridge.workerPid(2)!];
    const signalled = Date.now();
    bridge.child.kill('SIGTERM');
    const { code, at } = await bridge.exited;
    const took = at - signalled;
    t.diagnostic(`primary exited ${took} ms after SIGTERM`);
    assert.equal(code, 0, bridge.tail());
    // The grace, plus what a loaded machine needs to end a process.
    assert.ok(took < GRACE_MS + 800, `exited ${took} ms after SIGTERM (grace ${GRACE_MS} ms)`);
    assert.deepEqual(pids.filter(alive), [], 'no worker outlives the primary');
    const drained = bridge.logs.filter((l) => l.msg === 'relay stopped').map((l) => l.node).sort();
    assert.deepEqual(drained, ['wk-w1', 'wk-w2'], 'each worker drained its relay');
    // Dashboards on the worker killed earlier were cut then (1006); the others got the drain's 1001.
    const closes = await Promise.all(dashboards.map((c) => c.closed));
    assert.ok(closes.some((c) => c.code === 1001), JSON.stringify(closes));
  });
});
