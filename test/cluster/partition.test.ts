/**
 * A partition: the relay that owns every link is attached to one NATS node only, and that node
 * dies. Cut off from the bucket, it must drop its upstream sockets before its leases can age out;
 * only then may another relay take them. The upstreams, counting their own sockets over the whole
 * file, never see two for one resource; dashboards on the other relays get events again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { leaseTiming } from '../../src/cluster/nats-lease.ts';
import { useNatsCluster } from '../helpers/nats-cluster.ts';
import { JWT_SECRET, RelayProcess, tookAt, untilLinks } from '../helpers/relay-cluster.ts';
import { S1, flows, primed, startUpstreams, until, type Upstreams } from '../helpers/cluster-upstreams.ts';
import type { WingsClient } from '../helpers/wings-client.ts';

const TTL = 1500;
const prefix = `part${randomBytes(3).toString('hex')}`;

describe('cluster: partition of the owner', () => {
  // Not advertised: a relay given one URL cannot learn the others, so losing that node cuts it off.
  const nats = useNatsCluster(3, { args: ['--no_advertise'] });
  let up: Upstreams;
  let relays: RelayProcess[] = [];
  const dashboards: WingsClient[] = [];

  before(async () => {
    up = await startUpstreams(JWT_SECRET);
    const start = (n: number) => RelayProcess.start({ id: `p${n}`, natsUrls: [nats.cluster.urls[n - 1]!], prefix, leaseTtlMs: TTL, upstreams: up.upstreams, listeners: up.listeners });
    // p1 first, alone: it takes every link.
    const p1 = await start(1);
    await untilLinks([p1], 'up', S1, ([l]) => l?.ownership === 'owned' && l.state === 'ready', 15_000, 'p1 owns S1');
    await untilLinks([p1], 'felix', '_', ([l]) => l?.ownership === 'owned' && l.state === 'ready', 15_000, 'p1 owns the bot');
    relays = [p1, ...(await Promise.all([start(2), start(3)]))];
    await untilLinks(relays, 'up', S1, (ls) => ls.filter((l) => l?.ownership === 'standby' && l.owner === 'p1').length === 2, 15_000, 'p2 and p3 stand by');
    dashboards.push(...(await Promise.all([relays[1]!.wings(S1), relays[2]!.wings(S1)])));
    await primed(up.wings, S1, dashboards);
  });

  after(async () => {
    for (const c of dashboards) c.terminate();
    await Promise.all(relays.map((r) => r.stop()));
    await up?.close();
  });

  test('the owner\'s only NATS node dies: it drops its links before its leases expire, another relay takes them', async (t) => {
    const [p1] = relays;
    const timing = leaseTiming(TTL);
    const killed = Date.now();
    await nats.cluster.servers[0]!.kill9();
    // p1 is cut off, not dead: it says so on its own port.
    const fence = await p1!.waitLog((l) => l.msg === 'upstream link state' && l.id === S1 && l.state === 'unowned' && Date.parse(l.time) >= killed, TTL * 2, 'p1 dropped S1');
    const fencedAt = Date.parse(fence.time);
    t.diagnostic(`p1 dropped S1 ${fencedAt - killed} ms after its NATS node died`);
    assert.ok(fencedAt - killed <= timing.fenceMs + 200, `dropped ${fencedAt - killed} ms after the kill (fence deadline ttl/2 = ${timing.fenceMs} ms)`);
    // The upstream sees the old socket go (well before the lease could age out and be taken).
    await until(() => up.wings.connectionCount(S1) === 0, 1000, 'the old socket gone at the upstream');
    assert.equal(tookAt(relays[1]!, S1, killed) ?? tookAt(relays[2]!, S1, killed), undefined, 'nobody took it yet');
    const s1 = await p1!.link('up', S1);
    assert.deepEqual([s1?.ownership, s1?.state], ['unowned', 'unowned']);

    // The survivors may first have to elect new JetStream leaders for the bucket's stream.
    const links = await untilLinks(relays.slice(1), 'up', S1, (ls) => ls.some((l) => l?.ownership === 'owned' && l.state === 'ready'), 30_000, 'a new owner of S1');
    const next = relays[1 + links.findIndex((l) => l?.ownership === 'owned')]!;
    const took = tookAt(next, S1, killed)!;
    t.diagnostic(`${next.id} owned S1 ${took - killed} ms after the kill`);
    assert.ok(took > fencedAt, 'taken over only after the old owner dropped it');
    assert.ok(took - killed >= TTL - timing.renewMs, `not before p1's last renewal could age out (${took - killed} ms)`);
    await untilLinks(relays.slice(1), 'felix', '_', (ls) => ls.some((l) => l?.ownership === 'owned' && l.state === 'ready'), 30_000, 'a new owner of the bot');
    up.assertNeverTwoSockets();

    await flows(up.wings, S1, relays, dashboards, 'after the partition', (m) => t.diagnostic(m));
  });

  test('the NATS node comes back: the old owner stands by, the links stay where they are', async () => {
    await nats.cluster.servers[0]!.restart();
    await nats.cluster.ready();
    await untilLinks(relays, 'up', S1, (ls) => ls.filter((l) => l?.ownership === 'owned').length === 1 && ls[0]?.ownership === 'standby', 20_000, 'p1 back as a standby');
    await new Promise((r) => setTimeout(r, TTL));
    assert.equal(up.wings.connectionCount(S1), 1);
    up.assertNeverTwoSockets();
  });
});
