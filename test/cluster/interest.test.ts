/**
 * Interest across nodes, on real processes: three relays on a 3-node NATS cluster, one Felix bot
 * (the cluster tests' simulator, every frame it receives recorded and timestamped here). Felix
 * dashboards on the two relays that do not own the bot's link ask for different users; the
 * owner's one socket asks Felix for both. Then one of those relays is killed with SIGKILL (it
 * withdraws nothing): the owner asks for the smaller union within the interest TTL. Then the last
 * dashboard leaves, and the union empties at once (a withdrawn entry, not a lapse).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useNatsCluster } from '../helpers/nats-cluster.ts';
import { ADMIN_KEY, JWT_SECRET, RelayProcess, owners, untilLinks } from '../helpers/relay-cluster.ts';
import { startUpstreams, until, type Upstreams } from '../helpers/cluster-upstreams.ts';
import { FelixClient } from '../helpers/felix-client.ts';
import type { FelixSimulator } from '../../adapters/felix/simulator.ts';

/** Long enough that no lease changes hands on a loaded box while the test watches the union. */
const LEASE_TTL = 3000;
const INTEREST_TTL = 2000;
/** Past the TTL: the owner's coalescing window (100 ms), a KV round trip, a loaded 2-core box. */
const SLACK = 1000;
const prefix = `int${randomBytes(3).toString('hex')}`;
const UA = '111111111111111111';
const UB = '222222222222222222';

interface Listen {
  at: number;
  socket: number;
  users: string[];
  guilds: string[];
}

/** Every `20002` the bot receives, with the time the test saw it (polled every 5 ms). */
function record20002(sim: FelixSimulator): { frames: Listen[]; stop(): void } {
  const frames: Listen[] = [];
  const seen = new WeakSet<object>();
  const timer = setInterval(() => {
    for (const f of sim.received) {
      if (f.code !== 20002 || seen.has(f)) continue;
      seen.add(f);
      const d = f.data as { users: string[]; guilds: string[] };
      frames.push({ at: Date.now(), socket: f.socket, users: [...d.users].sort(), guilds: [...d.guilds].sort() });
    }
  }, 5);
  return { frames, stop: () => clearInterval(timer) };
}

describe('cluster: interest across nodes', () => {
  const nats = useNatsCluster(3);
  let up: Upstreams;
  let relays: RelayProcess[] = [];
  let rec: ReturnType<typeof record20002>;
  const dashboards: FelixClient[] = [];

  before(async () => {
    up = await startUpstreams(JWT_SECRET);
    rec = record20002(up.felix);
    relays = await Promise.all(
      [1, 2, 3].map((n) => RelayProcess.start({ id: `i${n}`, natsUrls: nats.cluster.urls, prefix, leaseTtlMs: LEASE_TTL, interestTtlMs: INTEREST_TTL, upstreams: up.upstreams, listeners: up.listeners })),
    );
    await untilLinks(relays, 'felix', '_', (ls) => ls.filter((l) => l?.ownership === 'owned' && l.state === 'ready').length === 1, 15_000, 'an owner of the felix link');
  });

  after(async () => {
    rec?.stop();
    for (const c of dashboards) c.ws.terminate();
    await Promise.all(relays.map((r) => r.stop()));
    await up?.close();
  });

  test('dashboards on two nodes reach the bot as one union, which shrinks within the TTL when one node is killed, and empties when the last dashboard leaves', async (t) => {
    const [owner] = await owners(relays, 'felix', '_');
    assert.ok(owner, 'one relay owns the felix link');
    const [a, b] = relays.filter((r) => r !== owner) as [RelayProcess, RelayProcess];
    const felixUrl = (r: RelayProcess) => `${r.url.replace(/^http/, 'ws')}/felix`;
    const da = await FelixClient.connect(felixUrl(a), ADMIN_KEY);
    const db = await FelixClient.connect(felixUrl(b), ADMIN_KEY);
    dashboards.push(da, db);
    da.listen([UA], []);
    db.listen([UB], []);

    const last = () => rec.frames.at(-1);
    await until(() => last()?.users.join() === [UA, UB].join(), 10_000, `the union of both nodes at the bot (last 20002: ${JSON.stringify(last())})`);
    assert.deepEqual(up.felix.listening().users, [UA, UB], 'the bot\'s one socket listens to both users');
    assert.equal(up.felix.connectionCount(), 1);
    // The union is what the owner sends: its updates reach the dashboard on a node that is not the owner.
    assert.equal(up.felix.updateUser(UA, { seen: 'a' }), 1);
    assert.deepEqual((await da.code(10003, 5000)).data, { userID: UA, userData: { seen: 'a' } });

    // The heartbeat keeps the union past several TTLs.
    const steady = rec.frames.length;
    await new Promise((r) => setTimeout(r, INTEREST_TTL * 2));
    assert.deepEqual(rec.frames.slice(steady).filter((f) => f.users.join() !== [UA, UB].join()), [], 'no node\'s interest lapsed while its heartbeat ran');
    assert.deepEqual(up.felix.listening().users, [UA, UB]);

    const killed = Date.now();
    b.kill9();
    await b.exited;
    await until(() => rec.frames.some((f) => f.at >= killed && f.users.join() === UA), INTEREST_TTL + SLACK + 2000, `the union without ${b.id}'s user`);
    const shrunk = rec.frames.find((f) => f.at >= killed && f.users.join() === UA)!;
    const shrinkMs = shrunk.at - killed;
    t.diagnostic(`interest ttl ${INTEREST_TTL} ms: the bot was asked for ${UA} alone ${shrinkMs} ms after ${b.id} was killed (owner ${owner.id})`);
    // The lapse runs on the owner's clock from the dead node's last heartbeat (at most TTL/3 before the kill).
    assert.ok(shrinkMs >= (INTEREST_TTL * 2) / 3 - 100, `not before two thirds of the TTL (${shrinkMs} ms)`);
    assert.ok(shrinkMs <= INTEREST_TTL + SLACK, `within the TTL and ${SLACK} ms (${shrinkMs} ms)`);
    assert.deepEqual(up.felix.listening().users, [UA], 'the bot listens to the dashboard that is left only');

    const left = Date.now();
    da.close();
    await until(() => rec.frames.some((f) => f.at >= left && f.users.length === 0), INTEREST_TTL, 'an empty union once the last dashboard left');
    const emptied = rec.frames.find((f) => f.at >= left && f.users.length === 0)!;
    t.diagnostic(`the last dashboard left ${a.id}: the bot was asked for nobody ${emptied.at - left} ms later`);
    assert.ok(emptied.at - left < INTEREST_TTL / 2, `withdrawn, not lapsed (${emptied.at - left} ms)`);
    up.assertNeverTwoSockets();
  });
});
