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
import { assignOwners } from '../../src/cluster/balance.ts';
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
  return startNodeWith(url, id, prefix, ttlMs, [KEY]);
}

/** A node that leases `keys`; its `lease` is the one of KEY. */
async function startNodeWith(url: string, id: string, prefix: string, ttlMs: number, keys: readonly string[]): Promise<TestNode> {
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
  for (const k of keys) coordinator.lease(k);
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

  test('hand-over: a node that joins and is the preferred one gets the lease once the owner held it 2·TTL; the owner drops it first', async (tc) => {
    const TTL = 1500;
    const timing = leaseTiming(TTL);
    const prefix = `hand${randomBytes(3).toString('hex')}`;
    // Two ids of which the second is KEY's preferred node, so the first one must hand it over.
    const [first, second] = ['h1', 'h2'].sort((x, y) => (assignOwners([KEY], [x, y]).get(KEY) === y ? -1 : 1));
    assert.equal(assignOwners([KEY], [first!, second!]).get(KEY), second);
    const a = await startNode(nats.url, first!, prefix, TTL);
    open.push(a);
    await until('the first node owns', () => a.lease.ownership === 'owned');
    const t = timeline();
    t.watch(a);
    const b = await startNode(nats.url, second!, prefix, TTL);
    open.push(b);
    t.watch(b);
    const joined = performance.now();
    const took = await until('the preferred node owns', () => b.lease.ownership === 'owned', timing.handOverAfterMs + TTL * 3);
    tc.diagnostic(`handed over ${Math.round(took - joined)} ms after the preferred node joined (H = ${timing.handOverAfterMs} ms)`);
    assert.ok(took - joined < timing.handOverAfterMs + TTL, `within H and a bit: ${Math.round(took - joined)} ms`);
    assert.equal(a.lease.ownership, 'standby');
    assert.equal(a.lease.owner, second);
    assert.deepEqual(a.losses, [], 'a hand-over is not a loss');
    assertNeverTwoOwners(t.changes);
    const dropped = t.changes.find((c) => c.node === first && c.ownership !== 'owned')!;
    assert.ok(dropped.at <= t.ownedAt(second!)!, 'the old owner dropped the link before the new one owned it');
    // And it stays: the preferred node keeps it, nobody hands it back.
    await sleep(timing.handOverAfterMs + 300);
    assert.equal(b.lease.ownership, 'owned');
    assert.deepEqual(t.changes.filter((c) => c.ownership === 'owned').map((c) => c.node), [first, second], JSON.stringify(t.changes));
    await a.close();
    await b.close();
  });

  test('spread: two nodes that start together split four leases two and two; a drain gives the leaver\'s to the other at once', async (tc) => {
    const TTL = 1500;
    const prefix = `spread${randomBytes(3).toString('hex')}`;
    const keys = [KEY, 'up.server.s2', 'up.server.s3', 'up.server.s4'];
    const [a, b] = await Promise.all(['s1', 's2'].map((id) => startNodeWith(nats.url, id, prefix, TTL, keys)));
    open.push(a!, b!);
    const owned = (n: TestNode) => keys.filter((k) => n.coordinator.lease(k).ownership === 'owned');
    const preferred = assignOwners(keys, ['s1', 's2']);
    await until('two each, as preferred', () => keys.every((k) => [a!, b!].find((n) => n.id === preferred.get(k))!.coordinator.lease(k).ownership === 'owned'), leaseTiming(TTL).handOverAfterMs + TTL * 4);
    assert.equal(owned(a!).length, 2);
    assert.equal(owned(b!).length, 2);
    const drained = performance.now();
    await a!.close();
    const took = await until('the other owns all four', () => owned(b!).length === 4, 2000);
    tc.diagnostic(`the other node owned the drained node's leases ${Math.round(took - drained)} ms after the drain began`);
    await b!.close();
  });
});
