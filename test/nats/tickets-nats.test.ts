/**
 * Tickets in the NATS KV bucket (src/cluster/nats-tickets.ts) against real nats-server processes,
 * with one connection and one bucket handle per simulated relay: a ticket from one relay opens on
 * another exactly once, a race of redemptions has exactly one winner, expiry on the shared clock,
 * the per-client cap, the bucket holds no ticket, and a NATS that cannot answer refuses (never
 * accepts) until it is back. The HTTP side (Semoxy's 503 body) is checked through a real relay.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { ManualClock } from '../../src/clock.ts';
import type { ApiClient } from '../../src/adapter-kit.ts';
import type { TicketPolicy, TicketService } from '../../src/auth/tickets.ts';
import { NatsTickets, TicketBucket, ticketBucketName } from '../../src/cluster/nats-tickets.ts';
import { createLog } from '../../src/log.ts';
import { startNatsServer, useNatsServer } from '../helpers/nats-server.ts';
import { startNatsCluster } from '../helpers/nats-cluster.ts';
import { ADMIN_KEY, startPanelHarness } from '../helpers/panel-harness.ts';
import { PanelClient } from '../helpers/panel-client.ts';

const log = createLog(process.env.TEST_LOG ? 'debug' : 'silent');
const ALICE: ApiClient = { name: 'alice', grants: [] };
const MALLORY: ApiClient = { name: 'mallory', grants: [] };
const CLIENTS = new Map([ALICE, MALLORY].map((c) => [c.name, c]));
const SINGLE: TicketPolicy = { ttlSeconds: 60, reusable: false };

const nats = useNatsServer();
const connections: NatsConnection[] = [];
after(async () => {
  await Promise.all(connections.map((nc) => nc.close().catch(() => {})));
});

interface Node {
  nc: NatsConnection;
  tickets(policy?: TicketPolicy, scope?: string): TicketService;
}

/** One simulated relay: its own connection and bucket handle, on the shared `prefix`. */
async function node(url: string, prefix: string, clock: ManualClock, o: { available?: () => boolean; callTimeoutMs?: number; replicas?: number } = {}): Promise<Node> {
  const nc = await connect({ servers: url, reconnectTimeWait: 100, maxReconnectAttempts: -1 });
  connections.push(nc);
  const bucket = new TicketBucket({ connection: async () => nc, available: o.available ?? (() => true), prefix, replicas: o.replicas ?? 1, log, ...(o.callTimeoutMs ? { callTimeoutMs: o.callTimeoutMs } : {}) });
  return {
    nc,
    tickets: (policy = SINGLE, scope = 'panel') => new NatsTickets({ bucket, scope, policy, clock, resolve: (name) => CLIENTS.get(name) ?? { name, grants: [] } }),
  };
}

async function mint(store: TicketService, client: ApiClient): Promise<string> {
  const issued = await store.issue(client);
  assert.ok(issued.ok, `issued: ${JSON.stringify(issued)}`);
  return issued.ticket;
}

const prefixOf = () => `t${randomBytes(4).toString('hex')}`;

describe('tickets in NATS KV, across relays', () => {
  test('a ticket minted on A opens on B once; a second use on A or B is invalid; the bucket holds no ticket', async () => {
    const prefix = prefixOf();
    const clock = new ManualClock();
    const [a, b] = [(await node(nats.url, prefix, clock)).tickets(), (await node(nats.url, prefix, clock)).tickets()];
    const t = await mint(a, ALICE);
    assert.match(t, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(await b.redeem(t), { ok: true, client: ALICE });
    assert.deepEqual(await b.redeem(t), { ok: false, reason: 'invalid' });
    assert.deepEqual(await a.redeem(t), { ok: false, reason: 'invalid' });
    assert.deepEqual(await a.redeem(''), { ok: false, reason: 'missing' });
    assert.deepEqual(await a.redeem('made-up'), { ok: false, reason: 'invalid' });

    // Every key and value in the bucket, checked for the ticket itself.
    const kept = await mint(a, ALICE);
    const kv = await connections[0]!.jetstream().views.kv(ticketBucketName(prefix), { bindOnly: true });
    const seen: string[] = [];
    for await (const k of await kv.keys()) {
      const e = await kv.get(k);
      seen.push(k, e ? new TextDecoder().decode(e.value) : '');
    }
    assert.ok(seen.length >= 2, 'the bucket was read');
    for (const s of seen) for (const secret of [t, kept]) assert.ok(!s.includes(secret), 'no ticket stored');
    assert.equal((await kv.status()).ttl, 120_000, 'max age: the lifetime, then as long again as expired');
  });

  test('tickets of one listener do not open another listener\'s path', async () => {
    const prefix = prefixOf();
    const clock = new ManualClock();
    const n = await node(nats.url, prefix, clock);
    const t = await mint(n.tickets(SINGLE, 'one'), ALICE);
    assert.deepEqual(await n.tickets(SINGLE, 'two').redeem(t), { ok: false, reason: 'invalid' });
    assert.deepEqual(await n.tickets(SINGLE, 'one').redeem(t), { ok: true, client: ALICE });
  });

  /** Each relay tries every ticket twice at once: six redemptions of one ticket, `rounds` times. */
  async function race(stores: TicketService[], rounds: number): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const t = await mint(stores[round % stores.length]!, ALICE);
      const results = await Promise.all([...stores, ...stores].map((s) => s.redeem(t)));
      assert.equal(results.filter((r) => r.ok).length, 1, `round ${round}: ${JSON.stringify(results)}`);
      assert.ok(results.every((r) => r.ok || r.reason === 'invalid'), `the losers hear "Invalid Ticket": ${JSON.stringify(results)}`);
    }
  }

  test('a principal that is no configured client (JWT, hook, panel user) opens on B with its own grants; a configured name is not widened', async () => {
    const prefix = prefixOf();
    const clock = new ManualClock();
    const [a, b] = [(await node(nats.url, prefix, clock)).tickets(), (await node(nats.url, prefix, clock)).tickets()];
    const user: ApiClient = { name: 'panel:semoxy:alice', source: 'panel', grants: [{ upstream: 'semoxy', resources: ['*'], permissions: ['*'] }], expiresAt: 1_900_000_000_000 };
    assert.deepEqual(await b.redeem(await mint(a, user)), { ok: true, client: user });
    // A JWT principal named like a configured client keeps its own (empty) grants, not the client's.
    const lookalike: ApiClient = { name: 'alice', source: 'jwt', grants: [] };
    assert.deepEqual(await b.redeem(await mint(a, lookalike)), { ok: true, client: lookalike });
  });

  test('three relays redeem the same tickets at once: exactly one wins each time', async () => {
    const prefix = prefixOf();
    const clock = new ManualClock();
    await race(await Promise.all([0, 1, 2].map(async () => (await node(nats.url, prefix, clock)).tickets())), 15);
  });

  test('the same race on a 3-node NATS cluster, an R3 bucket, each relay on another node: exactly one wins', async () => {
    // Where nats-server 2.9 lets concurrent expected-revision deletes all through (nats-server#4320).
    const cluster = await startNatsCluster(3);
    try {
      const prefix = prefixOf();
      const clock = new ManualClock();
      const nodes = await Promise.all(cluster.urls.map((url) => node(url, prefix, clock, { replicas: 3, callTimeoutMs: 5000 })));
      // Making an R3 stream may take longer than a call may wait (meanwhile: unavailable).
      for (const n of nodes) {
        for (const deadline = Date.now() + 30_000; !(await n.tickets().issue(ALICE)).ok; ) {
          assert.ok(Date.now() < deadline, 'the R3 bucket was made');
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      await race(nodes.map((n) => n.tickets()), 30);
      await Promise.all(nodes.map((n) => n.nc.close()));
    } finally {
      await cluster.stop();
    }
  });

  test('expiry on the relays\' clock: valid until the last millisecond, then "expired" once, then invalid', async () => {
    const prefix = prefixOf();
    const clock = new ManualClock();
    const [a, b] = [(await node(nats.url, prefix, clock)).tickets(), (await node(nats.url, prefix, clock)).tickets()];
    const early = await mint(a, ALICE);
    const late = await mint(a, ALICE);
    await clock.advance(59_999);
    assert.deepEqual(await b.redeem(early), { ok: true, client: ALICE });
    await clock.advance(1);
    assert.deepEqual(await b.redeem(late), { ok: false, reason: 'expired' });
    assert.deepEqual(await a.redeem(late), { ok: false, reason: 'invalid' });

    const reusable = (await node(nats.url, prefix, clock)).tickets({ ttlSeconds: 30, reusable: true });
    const r = await mint(reusable, ALICE);
    for (let i = 0; i < 3; i++) assert.deepEqual(await reusable.redeem(r), { ok: true, client: ALICE }, 'reusable: every use until it expires');
    await clock.advance(30_000);
    assert.deepEqual(await reusable.redeem(r), { ok: false, reason: 'expired' });
  });

  test('per-client cap: past maxPerClient the minting client loses its own oldest tickets, on every relay; no other client\'s', async () => {
    const prefix = prefixOf();
    const clock = new ManualClock();
    const policy: TicketPolicy = { ttlSeconds: 60, reusable: false, maxPerClient: 3 };
    const [a, b] = [(await node(nats.url, prefix, clock)).tickets(policy), (await node(nats.url, prefix, clock)).tickets(policy)];
    const alices = await mint(a, ALICE);
    const mallorys: string[] = [];
    for (let i = 0; i < 5; i++) mallorys.push(await mint(a, MALLORY));
    const used: boolean[] = [];
    for (const t of mallorys) used.push((await b.redeem(t)).ok);
    assert.deepEqual(used, [false, false, true, true, true]);
    assert.deepEqual(await b.redeem(alices), { ok: true, client: ALICE });
  });
});

describe('tickets when NATS cannot answer', () => {
  test('a relay whose bus is not connected refuses at once; a dead server refuses within the call timeout; never accepted; back when NATS is', async () => {
    const server = await startNatsServer();
    try {
      const prefix = prefixOf();
      const clock = new ManualClock();
      let connected = true;
      const gated = (await node(server.url, prefix, clock, { available: () => connected })).tickets();
      const timed = (await node(server.url, prefix, clock, { callTimeoutMs: 500 })).tickets();
      const t = await mint(gated, ALICE);
      connected = false;
      assert.deepEqual(await gated.issue(ALICE), { ok: false, reason: 'unavailable' });
      assert.deepEqual(await gated.redeem(t), { ok: false, reason: 'unavailable' });
      connected = true;

      await server.kill9();
      const started = Date.now();
      assert.deepEqual(await timed.redeem(t), { ok: false, reason: 'unavailable' }, 'a minted ticket is not let through');
      assert.deepEqual(await timed.issue(ALICE), { ok: false, reason: 'unavailable' });
      assert.ok(Date.now() - started < 5000, 'answered within the call timeouts');
      assert.deepEqual(await timed.redeem(''), { ok: false, reason: 'missing' }, 'no store needed to refuse an empty ticket');

      // Memory storage: the restarted server lost the bucket; the ticket is refused, never let through.
      await server.restart();
      let after: Awaited<ReturnType<TicketService['redeem']>> = { ok: false, reason: 'unavailable' };
      for (const deadline = Date.now() + 10_000; after.ok === false && after.reason === 'unavailable' && Date.now() < deadline; ) {
        after = await timed.redeem(t);
        if (after.ok === false && after.reason === 'unavailable') await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(after, { ok: false, reason: 'invalid' });
      const fresh = await mint(timed, ALICE);
      assert.deepEqual(await gated.redeem(fresh), { ok: true, client: ALICE }, 'the bucket was made again');
    } finally {
      await server.stop();
    }
  });

  test('over HTTP: with NATS down the ticket endpoint and a ticket upgrade answer Semoxy-shaped 503s', async () => {
    const server = await startNatsServer();
    const h = await startPanelHarness({ bus: 'nats', natsUrl: server.url });
    try {
      const minted = await h.ticket(ADMIN_KEY);
      assert.equal(minted.status, 200);
      await server.kill9();
      // The bus notices the dead server: from then on, answered at once (before that: the call timeout).
      const unavailable = { error: 'Service Unavailable', status: 503, description: 'tickets cannot be issued or checked right now, please retry' };
      const res = await h.ticket(ADMIN_KEY);
      assert.deepEqual(res, { status: 503, body: unavailable });
      const refused = await PanelClient.refusal(h.eventsUrl(`ticket=${encodeURIComponent(minted.body.data.token)}`));
      assert.deepEqual([refused.status, refused.body], [503, unavailable], 'the ticket is neither accepted nor spent');
      assert.equal((await h.ticket('not-a-key')).status, 401, 'a bad key is still refused as such');
      await server.restart();
      let back: { status: number; body: any } = res;
      for (const deadline = Date.now() + 15_000; back.status !== 200 && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        back = await h.ticket(ADMIN_KEY);
      }
      assert.equal(back.status, 200, 'tickets again once NATS is back');
      const v1 = await PanelClient.connect(h.eventsUrl(`ticket=${encodeURIComponent(back.body.data.token)}`));
      v1.close();
    } finally {
      if (!server.running) await server.restart();
      await h.stop();
      await server.stop();
    }
  });
});
