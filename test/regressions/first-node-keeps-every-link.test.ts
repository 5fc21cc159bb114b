/**
 * Issue 11: with the first leases, whichever node created a lease first kept it for as long as it
 * lived, so `--workers 2` and three relays put every upstream link on one node (the one up first)
 * and the others only stood by. Now a node that joins gets its share: the first node, alone, takes
 * all four links; a second node joins; the first hands over the two that are the second's, each
 * once it held it for 2·TTL, and no link ever has two owners.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { monotonicClock } from '../../src/clock.ts';
import { assignOwners } from '../../src/cluster/balance.ts';
import { leaseTiming } from '../../src/cluster/lease-timing.ts';
import { NatsCoordinator } from '../../src/cluster/nats-coordinator.ts';
import { createLog } from '../../src/log.ts';
import { useNatsServer } from '../helpers/nats-server.ts';
import { eventually } from '../helpers/wings-client.ts';

const TTL = 1500;
const KEYS = ['up.server.a', 'up.server.b', 'up.server.c', 'up.server.d'];

describe('regression: the first node up keeps every link', () => {
  const nats = useNatsServer();
  const nodes: { coordinator: NatsCoordinator; nc: NatsConnection }[] = [];
  after(async () => {
    for (const n of nodes) {
      await n.coordinator.stop();
      await n.nc.close();
    }
  });

  async function node(id: string, prefix: string): Promise<NatsCoordinator> {
    const nc = await connect({ servers: nats.url });
    const coordinator = new NatsCoordinator({
      node: id,
      connection: async () => nc,
      prefix,
      leaseTtlMs: TTL,
      replicas: 1,
      clock: monotonicClock((err) => {
        throw err;
      }),
      log: createLog('silent'),
      watchdog: false,
    });
    nodes.push({ coordinator, nc });
    for (const k of KEYS) coordinator.lease(k);
    await coordinator.start();
    return coordinator;
  }

  test('a node that joins later gets its two of the four links; never two owners', async (t) => {
    const prefix = `keep${randomBytes(3).toString('hex')}`;
    const owning = new Map<string, Set<string>>(KEYS.map((k) => [k, new Set()]));
    const follow = (c: NatsCoordinator) => {
      for (const k of KEYS) {
        c.lease(k).onChange((v) => {
          if (v.ownership === 'owned') owning.get(k)!.add(c.node);
          else owning.get(k)!.delete(c.node);
          assert.ok(owning.get(k)!.size <= 1, `${k} owned by ${[...owning.get(k)!].join(' and ')}`);
        });
      }
    };
    const first = await node('first', prefix);
    follow(first);
    await eventually(() => KEYS.every((k) => first.lease(k).ownership === 'owned'), 10_000, 'the first node, alone, owns all four');
    for (const k of KEYS) owning.get(k)!.add('first');
    const second = await node('second', prefix);
    follow(second);
    const joined = Date.now();
    const preferred = assignOwners(KEYS, ['first', 'second']);
    await eventually(() => KEYS.every((k) => (preferred.get(k) === 'second' ? second : first).lease(k).ownership === 'owned'), leaseTiming(TTL).handOverAfterMs + 4 * TTL, 'each link on its preferred node');
    t.diagnostic(`spread ${Date.now() - joined} ms after the second node joined`);
    const mine = (c: NatsCoordinator) => KEYS.filter((k) => c.lease(k).ownership === 'owned').length;
    assert.deepEqual([mine(first), mine(second)], [2, 2]);
  });
});
