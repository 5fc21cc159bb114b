/**
 * Interest across nodes without NATS: per node the real interest table, publisher, view and the
 * wiring of src/cluster/interest-share.ts, each node on its own manual clock; the bucket is a
 * small in-test stand-in that hands every put and delete to every node's view, as the KV watcher
 * does. (The same over a real NATS cluster and real relays: test/cluster/interest.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, settle } from '../../src/clock.ts';
import { createLog } from '../../src/log.ts';
import type { Coordinator, Interest } from '../../src/cluster/coordinator.ts';
import { InterestPublisher, type InterestStore } from '../../src/cluster/interest-publisher.ts';
import { encodeInterest, interestKey, InterestView } from '../../src/cluster/interest-view.ts';
import { shareInterest } from '../../src/cluster/interest-share.ts';
import { MemoryCoordinator } from '../../src/cluster/memory.ts';
import { InterestTable } from '../../src/upstream/interest.ts';

const TTL = 3000;
const COALESCE = 100;
const log = createLog('silent');
const plain = (i: Interest) => Object.fromEntries([...i].filter(([, ids]) => ids.size > 0).map(([r, ids]) => [r, [...ids].sort()]));

/** The bucket: what is stored, and every view that watches it. */
class Bucket implements InterestStore {
  readonly stored = new Map<string, string>();
  readonly views: InterestView[] = [];
  writes = 0;
  /** The key of every write, in order. */
  readonly keys: string[] = [];
  async put(key: string, value: string): Promise<void> {
    await Promise.resolve();
    this.writes++;
    this.keys.push(key);
    this.stored.set(key, value);
    for (const v of this.views) v.put(key, value);
  }
  async delete(key: string): Promise<void> {
    await Promise.resolve();
    this.writes++;
    this.keys.push(key);
    this.stored.delete(key);
    for (const v of this.views) v.delete(key);
  }
}

interface Node {
  id: string;
  clock: ManualClock;
  table: InterestTable;
  publisher: InterestPublisher;
  view: InterestView;
  /** Every union the upstream link of this node was told, in order. */
  told: Record<string, string[]>[];
}

function node(id: string, bucket: Bucket, invalid: string[] = []): Node {
  const clock = new ManualClock();
  const table = new InterestTable({ clock, coalesceMs: COALESCE });
  const publisher = new InterestPublisher({ node: id, ttlMs: TTL, clock, log });
  const view = new InterestView({ self: id, clock, onInvalid: (key) => invalid.push(key), onOwn: (upstream) => publisher.seen(upstream) });
  bucket.views.push(view);
  publisher.open(bucket);
  const coordinator = Object.assign(new MemoryCoordinator(id, clock), {
    publishInterest: (upstream: string, interest: Interest) => publisher.set(upstream, interest),
    watchInterest: (upstream: string, listener: (remote: Interest) => void) => view.watch(upstream, listener),
  }) satisfies Coordinator;
  shareInterest(table, coordinator, ['felix']);
  const told: Record<string, string[]>[] = [];
  table.onChange('felix', (u) => told.push(plain(u)));
  return { id, clock, table, publisher, view, told };
}

/** Advances every node's clock by `ms`, in steps of `step` (time passes on every node alike). */
async function advance(nodes: readonly Node[], ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) for (const n of nodes) await n.clock.advance(Math.min(step, ms - t));
}

describe('interest across nodes', () => {
  test('dashboards on two nodes: each node\'s link is told the one union', async () => {
    const bucket = new Bucket();
    const a = node('a', bucket);
    const b = node('b', bucket);
    a.table.declare('s1', 'felix', 'user', ['u1']);
    b.table.declare('s2', 'felix', 'user', ['u2']);
    b.table.declare('s2', 'felix', 'guild', ['g2']);
    // b's window, then a's (the remote part arrived while a's window after its own change ran).
    await advance([a, b], 2 * COALESCE);
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u1', 'u2'], guild: ['g2'] });
    assert.deepEqual(plain(b.table.union('felix')), { user: ['u1', 'u2'], guild: ['g2'] });
    assert.deepEqual(plain(a.table.local('felix')), { user: ['u1'] }, 'a publishes only its own part');
    assert.deepEqual(a.told.at(-1), { user: ['u1', 'u2'], guild: ['g2'] });
    assert.deepEqual([...bucket.stored.keys()].sort(), [interestKey('felix', 'a'), interestKey('felix', 'b')]);
  });

  test('a node that dies (no heartbeat, no delete) drops out of the union one TTL after its last beat, not before', async () => {
    const bucket = new Bucket();
    const a = node('a', bucket);
    const b = node('b', bucket);
    a.table.declare('s1', 'felix', 'user', ['u1']);
    b.table.declare('s2', 'felix', 'user', ['u2']);
    await advance([a, b], 2 * TTL);
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u1', 'u2'] }, 'the heartbeat keeps b alive past the TTL');
    // b's last beat: heartbeats run every TTL/3 from its open at t=0, so at 2·TTL exactly.
    const fromB = () => bucket.keys.filter((k) => k === interestKey('felix', 'b')).length;
    const beats = fromB();
    await advance([a], TTL - 1, 1);
    assert.equal(fromB(), beats, 'b is dead: nothing more from it');
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u1', 'u2'] }, 'still counted just before the TTL');
    const toldBefore = a.told.length;
    await a.clock.advance(1);
    assert.deepEqual(plain(a.view.remote('felix')), {}, 'lapsed at the TTL');
    await a.clock.advance(COALESCE);
    assert.deepEqual(a.told.slice(toldBefore), [{ user: ['u1'] }], 'the link is told the smaller union once');
  });

  test('a node that drains, or whose dashboards leave, is dropped from the union at once', async () => {
    const bucket = new Bucket();
    const a = node('a', bucket);
    const b = node('b', bucket);
    const c = node('c', bucket);
    b.table.declare('s2', 'felix', 'user', ['u2']);
    c.table.declare('s3', 'felix', 'user', ['u3']);
    await advance([a, b, c], COALESCE);
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u2', 'u3'] });
    b.table.drop('s2');
    await advance([a, b, c], COALESCE);
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u3'] }, 'b withdrew its entry when its last dashboard left');
    assert.equal(bucket.stored.has(interestKey('felix', 'b')), false);
    await c.publisher.stop();
    await advance([a, b], COALESCE);
    assert.deepEqual(plain(a.table.union('felix')), {}, 'c deleted its entry on drain');
    assert.equal(bucket.stored.size, 0);
  });

  test('an id wanted on two nodes stays until both let it go; a heartbeat with nothing new tells the link nothing', async () => {
    const bucket = new Bucket();
    const a = node('a', bucket);
    const b = node('b', bucket);
    a.table.declare('s1', 'felix', 'user', ['u1']);
    b.table.declare('s2', 'felix', 'user', ['u1']);
    await advance([a, b], COALESCE);
    const told = a.told.length;
    await advance([a, b], 3 * TTL);
    assert.equal(a.told.length, told, 'heartbeats are not changes');
    a.table.drop('s1');
    await advance([a, b], COALESCE);
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u1'] }, 'b still wants u1');
    assert.equal(a.told.length, told, 'the union did not change');
    b.table.drop('s2');
    await advance([a, b], 2 * COALESCE);
    assert.deepEqual(a.told.at(-1), {});
  });

  test('many changes within the coalescing window reach the bucket and the other node as the last one', async () => {
    const bucket = new Bucket();
    const a = node('a', bucket);
    const b = node('b', bucket);
    b.table.declare('s2', 'felix', 'user', ['u0']);
    await advance([a, b], COALESCE);
    const writes = bucket.writes;
    const told = a.told.length;
    for (let i = 1; i <= 50; i++) {
      b.table.declare('s2', 'felix', 'user', [`u${i}`]);
      await settle();
    }
    await advance([a, b], COALESCE);
    assert.ok(bucket.writes - writes <= 2, `coalesced writes (${bucket.writes - writes})`);
    assert.deepEqual(plain(a.table.union('felix')), { user: ['u50'] });
    assert.ok(a.told.length - told <= 2, `coalesced updates of the link (${a.told.length - told})`);
  });

  test('an entry that is not a record, or this node\'s own, is not part of the view', async () => {
    const bucket = new Bucket();
    const invalid: string[] = [];
    const a = node('a', bucket, invalid);
    await bucket.put(interestKey('felix', 'x'), 'not json');
    await bucket.put(interestKey('felix', 'y'), encodeInterest({ upstream: 'felix', node: 'z', ttlMs: TTL, interest: new Map([['user', new Set(['u9'])]]) }));
    await bucket.put(interestKey('felix', 'w'), JSON.stringify({ upstream: 'felix', node: 'w', ttlMs: TTL, interest: { user: [1] } }));
    await bucket.put(interestKey('felix', 'a'), encodeInterest({ upstream: 'felix', node: 'a', ttlMs: TTL, interest: new Map([['user', new Set(['old'])]]) }));
    await advance([a], COALESCE);
    assert.deepEqual(invalid, [interestKey('felix', 'x'), interestKey('felix', 'y'), interestKey('felix', 'w')], 'not JSON, under another node\'s key, ids not strings');
    assert.deepEqual(plain(a.table.union('felix')), {}, 'a\'s own (e.g. a previous run\'s) entry does not count here');
    assert.equal(bucket.stored.has(interestKey('felix', 'a')), false, 'a previous run\'s entry is deleted, as a publishes nothing');
    a.table.declare('s1', 'felix', 'user', ['u1']);
    await advance([a], COALESCE);
    assert.ok(bucket.stored.has(interestKey('felix', 'a')), 'a\'s own entry, echoed by the watcher, stays');
  });
});
