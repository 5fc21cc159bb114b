/**
 * The NATS lease logic against real nats-server processes: grant, renewal, standby, release,
 * takeover after a dead owner's entry aged out, the self-fence when renewals fail (server killed),
 * the re-take of an entry that still holds our revision, and the stalled-loop watchdog. KV calls
 * are real and time is real (the lease runs on the monotonic clock); TTLs are short.
 * Every case also checks, from the listeners' own timeline, that no two nodes owned at once.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { monotonicClock } from '../../src/clock.ts';
import type { Lease, LinkOwnership } from '../../src/cluster/coordinator.ts';
import { NatsCoordinator } from '../../src/cluster/nats-coordinator.ts';
import { leaseBucketName } from '../../src/cluster/nats-kv.ts';
import { leaseTiming, type LossReason } from '../../src/cluster/nats-lease.ts';
import { createLog } from '../../src/log.ts';
import { startNatsServer, useNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';

const log = createLog(process.env.TEST_LOG ? 'debug' : 'silent');
const KEY = 'up.server.s1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Change {
  at: number;
  node: string;
  ownership: LinkOwnership;
  owner: string | null;
}

interface TestNode {
  id: string;
  coordinator: NatsCoordinator;
  nc: NatsConnection;
  lease: Lease;
  losses: LossReason[];
  close(): Promise<void>;
}

/** Changes of every node's view of KEY, in order, on the test's clock. */
function timeline(): { changes: Change[]; watch(n: TestNode): void; ownedAt(node: string): number | undefined } {
  const changes: Change[] = [];
  return {
    changes,
    watch(n) {
      if (n.lease.ownership === 'owned') changes.push({ at: performance.now(), node: n.id, ownership: 'owned', owner: n.id });
      n.lease.onChange((v) => changes.push({ at: performance.now(), node: n.id, ownership: v.ownership, owner: v.owner }));
    },
    ownedAt: (node) => changes.find((c) => c.node === node && c.ownership === 'owned')?.at,
  };
}

/** No instant at which two nodes both said `owned`. */
function assertNeverTwoOwners(changes: readonly Change[]): void {
  const owning = new Set<string>();
  for (const c of changes) {
    if (c.ownership === 'owned') owning.add(c.node);
    else owning.delete(c.node);
    assert.ok(owning.size <= 1, `two owners at once: ${[...owning].join(', ')} (${JSON.stringify(changes)})`);
  }
}

async function startNode(url: string, id: string, prefix: string, ttlMs: number): Promise<TestNode> {
  const nc = await connect({ servers: url, name: id, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  const losses: LossReason[] = [];
  const coordinator = new NatsCoordinator({
    node: id,
    connection: async () => nc,
    prefix,
    leaseTtlMs: ttlMs,
    replicas: 1,
    clock: monotonicClock((err) => {
      throw err;
    }),
    log,
    watchdog: false,
    onLost: (_key, reason) => losses.push(reason),
  });
  await coordinator.start();
  const lease = coordinator.lease(KEY);
  return {
    id,
    coordinator,
    nc,
    lease,
    losses,
    async close() {
      await coordinator.stop();
      await nc.close().catch(() => {});
    },
  };
}

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<number> {
  const start = performance.now();
  while (!probe()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
  return performance.now();
}

const nats = useNatsServer();
const open: TestNode[] = [];
const servers: NatsServerHandle[] = [];
after(async () => {
  await Promise.all(open.map((n) => n.close()));
  await Promise.all(servers.map((s) => s.stop()));
});

async function pair(url: string, ttlMs: number, prefix = `lease${randomBytes(3).toString('hex')}`): Promise<[TestNode, TestNode]> {
  const a = await startNode(url, 'a', prefix, ttlMs);
  open.push(a);
  await until('a owns', () => a.lease.ownership === 'owned');
  const b = await startNode(url, 'b', prefix, ttlMs);
  open.push(b);
  await until('b sees a', () => b.lease.ownership === 'standby');
  return [a, b];
}

describe('nats leases', () => {
  test('grant, renewal with the revision, and a standby that knows the owner', async () => {
    const TTL = 1500;
    const prefix = 'granted';
    const [a, b] = await pair(nats.url, TTL, prefix);
    const t = timeline();
    t.watch(a);
    t.watch(b);
    assert.equal(a.lease.owner, 'a');
    assert.equal(b.lease.owner, 'a');
    assert.equal(b.lease.since, a.lease.since);
    const jsm = await a.nc.jetstreamManager();
    const stream = `KV_${leaseBucketName(prefix)}`;
    const info = await jsm.streams.info(stream);
    assert.equal(stream, 'KV_GRANTED_LEASES');
    assert.equal(info.config.max_age, TTL * 1_000_000, 'max age = the lease TTL');
    assert.equal(info.config.max_msgs_per_subject, 1);
    assert.equal(info.config.storage, 'file');
    const entry = await (await a.nc.jetstream().views.kv(leaseBucketName(prefix), { bindOnly: true })).get(KEY);
    assert.deepEqual((({ node, since }) => ({ node, since }))(entry!.json<{ node: string; since: number }>()), { node: 'a', since: a.lease.since });
    const first = info.state.last_seq;
    await sleep(leaseTiming(TTL).renewMs * 3 + 100);
    const later = (await jsm.streams.info(stream)).state.last_seq;
    assert.ok(later >= first + 2, `renewed at least twice (${first} → ${later})`);
    assert.equal(a.lease.ownership, 'owned');
    assert.equal(b.lease.ownership, 'standby');
    assert.deepEqual(t.changes, [{ at: t.changes[0]!.at, node: 'a', ownership: 'owned', owner: 'a' }], 'no change while renewals succeed');
    await a.close();
    await b.close();
  });

  test('release: the standby takes over at once', async (tc) => {
    const [a, b] = await pair(nats.url, 1500);
    const t = timeline();
    t.watch(a);
    t.watch(b);
    const released = performance.now();
    await a.lease.release();
    const took = await until('b owns', () => b.lease.ownership === 'owned', 1000);
    assert.ok(took - released < 500, `takeover ${Math.round(took - released)} ms after the release`);
    tc.diagnostic(`takeover ${Math.round(took - released)} ms after the release`);
    assert.equal(b.lease.owner, 'b');
    assertNeverTwoOwners(t.changes);
    await a.close();
    await b.close();
  });

  test('a dead owner: the standby takes over once its entry aged out, and the owner had fenced itself before', async (tc) => {
    const TTL = 1500;
    const timing = leaseTiming(TTL);
    const [a, b] = await pair(nats.url, TTL);
    const t = timeline();
    t.watch(a);
    t.watch(b);
    // Its connection gone, `a` can renew no more: for the bucket it is dead.
    const died = performance.now();
    await a.nc.close();
    const fenced = await until('a fenced', () => a.lease.ownership !== 'owned', TTL);
    assert.ok(fenced - died <= timing.fenceMs + 100, `a fenced ${Math.round(fenced - died)} ms after its last chance to renew`);
    assert.deepEqual(a.losses, ['deadline']);
    const took = await until('b owns', () => b.lease.ownership === 'owned', TTL * 3);
    assert.ok(took - died >= TTL - timing.renewMs - 50, `not before the entry could age out (${Math.round(took - died)} ms)`);
    assert.ok(took - died <= TTL + 1000, `takeover ${Math.round(took - died)} ms after the owner died`);
    assert.ok(took > fenced);
    tc.diagnostic(`ttl ${TTL} ms: fenced ${Math.round(fenced - died)} ms, taken over ${Math.round(took - died)} ms after the owner's connection died`);
    assertNeverTwoOwners(t.changes);
    await a.close();
    await b.close();
  });

  test('renewals fail (the server is killed): the owner fences itself within ttl/2 of its last renewal', async () => {
    const TTL = 1500;
    const timing = leaseTiming(TTL);
    const server = await startNatsServer();
    servers.push(server);
    const a = await startNode(server.url, 'a', 'killed', TTL);
    open.push(a);
    await until('a owns', () => a.lease.ownership === 'owned');
    await sleep(timing.renewMs * 2);
    const killed = performance.now();
    await server.kill9();
    const fenced = await until('a fenced', () => a.lease.ownership !== 'owned', TTL);
    const after = fenced - killed;
    assert.ok(after <= timing.fenceMs + 100, `fenced ${Math.round(after)} ms after the kill`);
    assert.ok(after >= timing.fenceMs - timing.renewMs - 100, `not before its last renewal was ttl/2 old (${Math.round(after)} ms)`);
    assert.deepEqual(a.losses, ['deadline']);
    assert.equal(a.lease.owner, null);
    await a.close();
  });

  test('re-take: an owner that fenced while the server stalled takes its entry back; the standby never owns it', async () => {
    const TTL = 3000;
    const timing = leaseTiming(TTL);
    const server = await startNatsServer();
    servers.push(server);
    const [a, b] = await pair(server.url, TTL);
    const t = timeline();
    t.watch(a);
    t.watch(b);
    // A stalled server: renewals time out, the connection stays.
    process.kill(server.pid!, 'SIGSTOP');
    try {
      await until('a fenced', () => a.lease.ownership !== 'owned', TTL);
    } finally {
      process.kill(server.pid!, 'SIGCONT');
    }
    const fenced = t.changes.find((c) => c.node === 'a' && c.ownership !== 'owned')!.at;
    await until('a owns again', () => a.lease.ownership === 'owned', TTL);
    const retaken = t.changes.findLast((c) => c.node === 'a' && c.ownership === 'owned')!.at;
    assert.ok(retaken - fenced < TTL, `re-taken ${Math.round(retaken - fenced)} ms after the fence`);
    assert.deepEqual(a.losses, ['deadline']);
    await sleep(timing.renewMs * 2);
    assert.equal(b.lease.ownership, 'standby');
    assert.equal(t.ownedAt('b'), undefined, 'b never owned it');
    assertNeverTwoOwners(t.changes);
    await a.close();
    await b.close();
  });

  test('watchdog: a process whose event loop stalls while it owns a lease is killed before its entry can age out', async () => {
    const TTL = 1500;
    const prefix = `dog${randomBytes(3).toString('hex')}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/cluster/stalled-owner.ts', nats.url, prefix, String(TTL), KEY], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ signal: NodeJS.Signals | null; at: number }>((resolve) => child.on('exit', (_code, signal) => resolve({ signal, at: performance.now() })));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines = createInterface({ input: child.stdout! });
    const stalledAt = await new Promise<number>((resolve, reject) => {
      lines.on('line', (l) => l === 'stalling' && resolve(performance.now()));
      child.on('exit', () => reject(new Error(`the fixture exited before stalling:\n${stderr}`)));
    });
    // A standby in this process: it may own the link only after the stalled owner is dead.
    const b = await startNode(nats.url, 'b', prefix, TTL);
    open.push(b);
    const end = await exited;
    assert.equal(end.signal, 'SIGKILL', `killed by the watchdog:\n${stderr}`);
    assert.match(stderr, /event loop stalled past a lease fence deadline/);
    const timing = leaseTiming(TTL);
    assert.ok(end.at - stalledAt <= timing.fenceMs + timing.watchdogGraceMs + 4 * timing.watchdogCheckMs + 200, `killed ${Math.round(end.at - stalledAt)} ms into the stall`);
    const took = await until('b owns', () => b.lease.ownership === 'owned', TTL * 3);
    assert.ok(took > end.at, 'the standby owned it only after the stalled owner was dead');
    await b.close();
  });
});
