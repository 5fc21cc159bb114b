/**
 * Config reload under `--workers 2` (real processes, a real nats-server): SIGHUP to the primary
 * reads the file once and every worker applies it (a removed client's sessions are closed on both
 * workers; /metrics counts the reload once, not once per worker), a change that takes a restart is
 * refused by every worker, and a worker restarted after the reload runs the new config.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { getFresh, startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { metricValue } from '../helpers/felix-harness.ts';
import { freePorts, useNatsServer } from '../helpers/nats-server.ts';
import { eventually } from '../helpers/wings-client.ts';

const nats = useNatsServer();
const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const OPS = 'ptlc_reload_workers_ops';
const TWO = 'ptlc_reload_workers_two';
const BOOT_MS = 45_000;

function config(port: number, natsUrl: string, withTwo = true) {
  return {
    node: { id: 'rw' },
    http: { host: '127.0.0.1', port, shutdownGraceMs: 3000 },
    bus: { kind: 'nats', servers: [natsUrl], prefix: `rw${process.pid}`, storage: 'memory' },
    log: { level: 'info' },
    clients: [
      { name: 'ops', key: OPS, grants: [{ upstream: 'up', permissions: ['*'] }] },
      ...(withTwo ? [{ name: 'two', key: TWO, grants: [{ upstream: 'up', resources: [S1], permissions: [] }] }] : []),
    ],
    simulators: [{ name: 'sim', protocol: 'wings', consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ uuid: S1, state: 'running' }] }],
    upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1] }],
    listeners: [{ dialect: 'cloudevents', upstreams: ['up'] }],
    limits: { backoffInitialMs: 50, backoffMaxMs: 500 },
  };
}

describe('reload under --workers 2', () => {
  let bridge: BridgeProcess;
  let base: string;
  let port: number;
  const applied = (l: Record<string, unknown>) => l.msg === 'config reloaded';

  before(async () => {
    [port] = (await freePorts(1)) as [number];
    base = `http://127.0.0.1:${port}`;
    bridge = startBridgeProcess(config(port, nats.url), ['--workers', '2']);
    await bridge.waitLog((l) => l.msg === 'workers ready', BOOT_MS, 'workers ready');
  });
  after(() => bridge?.kill());

  test("SIGHUP to the primary: every worker applies it and closes the removed client's sessions", async () => {
    const ws = base.replace(/^http/, 'ws');
    const sessions: CeClient[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await CeClient.connect(`${ws}/cloudevents`, TWO);
      await c.subscribe(`up.server.${S1}.>`);
      sessions.push(c);
    }
    writeFileSync(bridge.file, JSON.stringify(config(port, nats.url, false)));
    process.kill(bridge.child.pid!, 'SIGHUP');
    await bridge.waitLog(() => bridge.logs.filter(applied).length >= 2, 20_000, 'config reloaded on both workers');
    assert.deepEqual(bridge.logs.filter(applied).map((l) => l.node).sort(), ['rw-w1', 'rw-w2']);
    const closed = bridge.logs.filter(applied).reduce((n, l) => n + Number(l.closedSessions), 0);
    assert.equal(closed, 4);
    for (const c of sessions) assert.equal((await c.closed).code, 4403);
    const metrics = (await getFresh(`${base}/metrics`)).body;
    assert.equal(metricValue(metrics, 'bridge_config_reloads_total', { result: 'applied' }), 1, 'one reload, whichever worker answers');
  });

  test('a change that takes a restart is refused by every worker; a restarted worker runs the config in force', async () => {
    const next = config(port, nats.url, false);
    writeFileSync(bridge.file, JSON.stringify({ ...next, node: { id: 'renamed' } }));
    process.kill(bridge.child.pid!, 'SIGHUP');
    const refused = (l: Record<string, unknown>) => typeof l.msg === 'string' && l.msg.startsWith('config reload refused');
    await bridge.waitLog(() => bridge.logs.filter(refused).length >= 2, 20_000, 'refused on both workers');
    assert.deepEqual(bridge.logs.filter(refused)[0]!.refused, ['/node/id']);
    writeFileSync(bridge.file, JSON.stringify(config(port, nats.url, false)));

    const w1 = bridge.workerPid(1)!;
    process.kill(w1, 'SIGKILL');
    await eventually(() => bridge.workerPid(1) !== w1, 20_000, 'worker 1 restarted');
    const readyOne = () => bridge.logs.filter((l) => l.msg === 'worker ready' && l.worker === 1).length;
    await bridge.waitLog(() => readyOne() >= 2, BOOT_MS, 'worker 1 ready again');
    const ws = base.replace(/^http/, 'ws');
    for (let i = 0; i < 4; i++) {
      await assert.rejects(CeClient.connect(`${ws}/cloudevents`, TWO), (e: { status?: number }) => e.status === 401, `connection ${i}`);
    }
  });
});
