/**
 * Regression: after an owner released a lease (a delete marker in the bucket), every standby
 * tries to take it at once, and `create` replaces the marker with an expected-revision write. On
 * nats-server 2.9 with an R3 bucket, the expected revision is checked by the stream leader before
 * the write is proposed, so several concurrent writes with the same expected revision were all
 * accepted (nats-io/nats-server#4320): two standbys both believed they held the lease and both
 * could open the upstream socket. A message id made of key and revision lets the leader's
 * de-duplication accept exactly one.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { openLeaseBucket, type LeaseBucket } from '../../src/cluster/nats-kv.ts';
import { LeaseConflict, type LeaseRecord } from '../../src/cluster/lease-store.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';

const ROUNDS = 25;

test('standbys racing for a released lease on an R3 bucket: exactly one wins each round', { timeout: 120_000 }, async () => {
  const cluster = await startNatsCluster(3);
  const conns: NatsConnection[] = [];
  try {
    const prefix = `race${randomBytes(3).toString('hex')}`;
    const buckets: LeaseBucket[] = [];
    for (const url of cluster.urls) {
      const nc = await connect({ servers: url });
      conns.push(nc);
      // Making an R3 stream takes a raft group; the first opener makes it, the others bind.
      for (const deadline = Date.now() + 30_000; ; ) {
        try {
          buckets.push(await openLeaseBucket(nc, { prefix, ttlMs: 60_000, replicas: 3, callTimeoutMs: 5000 }));
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    const record = (node: string): LeaseRecord => ({ node, instance: node, since: Date.now() });
    const doubled: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const key = `wings.srv-${round}`;
      // One owner holds the lease and releases it: the bucket now holds a delete marker.
      const held = await buckets[0]!.store.create(key, record('owner'));
      await buckets[0]!.store.delete(key, held);
      const tries = await Promise.allSettled(
        buckets.flatMap((b, i) => [0, 1].map((j) => b.store.create(key, record(`standby-${i}-${j}`)))),
      );
      for (const t of tries) {
        if (t.status === 'rejected') assert.ok(t.reason instanceof LeaseConflict, `a lost race is a conflict, not ${String(t.reason)}`);
      }
      const winners = tries.filter((t) => t.status === 'fulfilled').length;
      assert.ok(winners <= 1, `round ${round}: ${winners} standbys were told they hold the lease`);
      if (winners !== 1) doubled.push(round);
    }
    // Exactly one wins: nobody winning would leave the link without an owner until the next try.
    assert.deepEqual(doubled, [], 'every round has one winner');
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
    await cluster.stop();
  }
});
