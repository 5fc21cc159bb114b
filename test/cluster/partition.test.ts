/**
 * A partition: the relay that owns S1 is attached to one NATS node only, and that node dies. Cut
 * off from the bucket, it must drop its upstream sockets before its leases can age out; only then
 * may another relay take them. Before that, the first relay started alone and took every link,
 * and handed over to the two that joined later what is theirs. The upstreams, counting their own
 * sockets over the whole file, never see two for one resource; dashboards on the other relays get
 * events again; the cut-off relay comes back as a standby and gets its links back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { leaseTiming } from '../../src/cluster/nats-lease.ts';
import { useNatsCluster } from '../helpers/nats-cluster.ts';
import { JWT_SECRET, RelayProcess, linkHistory, tookAt, untilLinks, untilSpread } from '../helpers/relay-cluster.ts';
import { S1, S2, S3, flows, primed, startUpstreams, until, type Upstreams } from '../helpers/cluster-upstreams.ts';
import type { WingsClient } from '../helpers/wings-client.ts';

const TTL = 1500;
const prefix = `part${randomBytes(3).toString('hex')}`;

describe('cluster: partition of the owner', () => {
  // Not advertised: a relay given one URL cannot learn the others, so losing that node cuts it off.
  const nats = useNatsCluster(3, { args: ['--no_advertise'] });
  let up: Upstreams;
  let relays: RelayProcess[] = [];
  const dashboards: WingsClient[] = [];
  /** The relay that owns S1 once the links are spread, and the NATS node it is attached to. */
  let victim: RelayProcess;
  let victimNats = 0;
  /** The two others. */
  let others: RelayProcess[] = [];

  before(async () => {
    up = await startUpstreams(JWT_SECRET);
    const start = (n: number) => RelayProcess.start({ id: `p${n}`, natsUrls: [nats.cluster.urls[n - 1]!], prefix, leaseTtlMs: TTL, upstreams: up.upstreams, listeners: up.listeners });
    // p1 first, alone: it takes every link (the others are not up yet).
    const p1 = await start(1);
    await untilLinks([p1], 'up', S1, ([l]) => l?.ownership === 'owned' && l.state === 'ready', 15_000, 'p1 owns S1');
    await untilLinks([p1], 'felix', '_', ([l]) => l?.ownership === 'owned' && l.state === 'ready', 15_000, 'p1 owns the bot');
    relays = [p1, ...(await Promise.all([start(2), start(3)]))];
    // p1 hands to the late relays what the balance gives them, each link once held for 2 TTL.
    const spread = await untilSpread(relays, prefix, 30_000);
    const perRelay = relays.map((r) => spread.filter((l) => l.owner === r.id).length);
    assert.ok(perRelay.every((n) => n >= 1 && n <= 2), `links per relay after the late joins: ${perRelay.join('/')}`);
    try {
      up.assertNeverTwoSockets();
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${[S1, S2, S3].map((s) => linkHistory(relays, s)).join('\n--\n')}`);
    }
    victimNats = relays.findIndex((r) => r.id === spread.find((l) => l.id === S1)!.owner);
    victim = relays[victimNats]!;
    others = relays.filter((r) => r !== victim);
    dashboards.push(...(await Promise.all(others.map((r) => r.wings(S1)))));
    await primed(up.wings, S1, dashboards);
  });

  after(async () => {
    for (const c of dashboards) c.terminate();
    await Promise.all(relays.map((r) => r.stop()));
    await up?.close();
  });

  test('the owner\'s only NATS node dies: it drops its links before its leases expire, another relay takes them', async (t) => {
    const owner = victim;
    const timing = leaseTiming(TTL);
    const killed = Date.now();
    await nats.cluster.servers[victimNats]!.kill9();
    // The owner is cut off, not dead: it says so on its own port.
    const fence = await owner.waitLog((l) => l.msg === 'upstream link state' && l.id === S1 && l.state === 'unowned' && Date.parse(l.time) >= killed, TTL * 2, `${owner.id} dropped S1`);
    const fencedAt = Date.parse(fence.time);
    t.diagnostic(`${owner.id} dropped S1 ${fencedAt - killed} ms after its NATS node died`);
    assert.ok(fencedAt - killed <= timing.fenceMs + 200, `dropped ${fencedAt - killed} ms after the kill (fence deadline ttl/2 = ${timing.fenceMs} ms)`);
    // The upstream sees the old socket go (well before the lease could age out and be taken).
    await until(() => up.wings.connectionCount(S1) === 0, 1000, 'the old socket gone at the upstream');
    assert.equal(tookAt(others[0]!, S1, killed) ?? tookAt(others[1]!, S1, killed), undefined, 'nobody took it yet');
    const s1 = await owner.link('up', S1);
    assert.deepEqual([s1?.ownership, s1?.state], ['unowned', 'unowned']);

    // The survivors may first have to elect new JetStream leaders for the bucket's stream.
    const links = await untilLinks(others, 'up', S1, (ls) => ls.some((l) => l?.ownership === 'owned' && l.state === 'ready'), 30_000, 'a new owner of S1');
    const next = others[links.findIndex((l) => l?.ownership === 'owned')]!;
    const took = tookAt(next, S1, killed)!;
    t.diagnostic(`${next.id} owned S1 ${took - killed} ms after the kill`);
    assert.ok(took > fencedAt, 'taken over only after the old owner dropped it');
    assert.ok(took - killed >= TTL - timing.renewMs, `not before ${owner.id}'s last renewal could age out (${took - killed} ms)`);
    await untilLinks(others, 'felix', '_', (ls) => ls.some((l) => l?.ownership === 'owned' && l.state === 'ready'), 30_000, 'a new owner of the bot');
    up.assertNeverTwoSockets();

    await flows(up.wings, S1, relays, dashboards, 'after the partition', (m) => t.diagnostic(m));
  });

  test('the NATS node comes back: the old owner stands by first, then gets its links back by hand-over', async (t) => {
    const back = Date.now();
    await nats.cluster.servers[victimNats]!.restart();
    await nats.cluster.ready();
    // Back as a standby, or already past it: the interim owner may have held S1 for the 2 TTL of a
    // hand-over by the time the node is back, and then hands it over within a poll. The log says
    // which states it went through.
    await untilLinks(relays, 'up', S1, (ls) => ls.filter((l) => l?.ownership === 'owned').length === 1 && ['standby', 'owned'].includes(ls[victimNats]?.ownership ?? ''), 20_000, `${victim.id} back as a standby`);
    // Its links come back only after their interim owner held them for 2 TTL: one move each.
    await untilSpread(relays, prefix, 30_000);
    const retook = tookAt(victim, S1, back);
    const stoodBy = victim.logs.find((l) => l.msg === 'link ownership' && l.id === S1 && l.ownership === 'standby' && Date.parse(l.time) >= back);
    assert.ok(stoodBy && retook !== undefined && Date.parse(stoodBy.time) <= retook, `${victim.id} stood by (${String(stoodBy?.time)}) before it owned S1 again`);
    t.diagnostic(`${victim.id} owned S1 again ${retook! - back} ms after its NATS node was restarted`);
    assert.equal(up.wings.connectionCount(S1), 1);
    up.assertNeverTwoSockets();
  });
});
