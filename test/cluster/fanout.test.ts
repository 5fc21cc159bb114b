/**
 * Three relay processes, each attached to a different node of a 3-node NATS cluster, in front of
 * one Wings daemon (five servers) and one Felix bot: six links, spread over the relays as the
 * balance function says (one is held by a foreign lease holder, so 2/2/1), exactly one relay holds
 * each upstream socket, every dashboard on every relay gets each event once and in order, `send
 * logs` has no duplicates, a late dashboard on a relay that does not own the link gets `status`
 * first, the last 150 lines once, and the bot's real `10001`; commands reach the owner from any
 * relay — or, when nobody holds the link, come back as the dialect's error after
 * `commandTimeoutMs`. Anything a dashboard got from one relay works on every relay: a Wings token,
 * and a Semoxy ticket exactly once in the whole cluster. Over the whole file no resource ever had
 * two sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { monotonicClock } from '../../src/clock.ts';
import { NatsCoordinator } from '../../src/cluster/nats-coordinator.ts';
import { createLog } from '../../src/log.ts';
import { Subjects } from '../../src/subjects.ts';
import { useNatsCluster } from '../helpers/nats-cluster.ts';
import { ADMIN_KEY, JWT_SECRET, RelayProcess, owners, untilLinks, untilSpread, type SpreadLink } from '../helpers/relay-cluster.ts';
import { S1, S2, S3, S4, S5, consoleLines, primed, startUpstreams, until, type Upstreams } from '../helpers/cluster-upstreams.ts';
import { FelixClient } from '../helpers/felix-client.ts';
import { WingsClient } from '../helpers/wings-client.ts';
import { PanelClient } from '../helpers/panel-client.ts';

const TTL = 1500;
/** Semoxy v1/v2 dashboards of the Wings servers: tickets at /account/ticket, sockets at /server/events. */
const PANEL_LISTENER = { name: 'panel', dialect: 'panel', upstreams: ['up'] };
const INVALID_TICKET = { error: 'Invalid Ticket', status: 401, description: 'open a ticket using /account/ticket' };
const COMMAND_TIMEOUT_MS = 2000;
const prefix = `fan${randomBytes(3).toString('hex')}`;
let up: Upstreams;
let relays: RelayProcess[] = [];
let zombie: { coordinator: NatsCoordinator; nc: NatsConnection } | undefined;
const clients: WingsClient[] = [];
const felixClients: FelixClient[] = [];
/** Where the links settled, from the before hook. */
let spread: SpreadLink[] = [];
/** How long the links took to settle on their preferred relays after the last relay was up. */
let spreadMs = 0;

describe('cluster: fan-out through three relays on three NATS nodes', () => {
  const nats = useNatsCluster(3);
  before(async () => {
    up = await startUpstreams(JWT_SECRET, [S1, S2, S3, S4, S5]);
    // A node that holds S3's lease and serves nothing: a link no relay may open.
    const nc = await connect({ servers: nats.cluster.urls });
    const coordinator = new NatsCoordinator({
      node: 'zombie',
      connection: async () => nc,
      prefix,
      leaseTtlMs: TTL,
      replicas: 3,
      clock: monotonicClock((err) => {
        throw err;
      }),
      log: createLog('silent'),
      watchdog: false,
    });
    zombie = { coordinator, nc };
    await coordinator.start();
    const held = coordinator.lease(new Subjects(prefix).leaseKey('up', 'server', S3));
    await until(() => held.ownership === 'owned', 10_000, 'the zombie holds S3');
    relays = await Promise.all(
      nats.cluster.urls.map((url, i) =>
        RelayProcess.start({ id: `n${i + 1}`, natsUrls: [url], prefix, leaseTtlMs: TTL, upstreams: up.upstreams, listeners: [...up.listeners, PANEL_LISTENER], limits: { commandTimeoutMs: COMMAND_TIMEOUT_MS } }),
      ),
    );
    const started = Date.now();
    spread = await untilSpread(relays, prefix, 40_000);
    spreadMs = Date.now() - started;
  });

  after(async () => {
    for (const c of clients) c.terminate();
    for (const c of felixClients) c.ws.terminate();
    await Promise.all(relays.map((r) => r.stop()));
    await zombie?.coordinator.stop();
    await zombie?.nc.close();
    await up?.close();
  });

  test('the six links are spread over the three relays, two each at most, none owned twice', async (t) => {
    t.diagnostic(`settled ${spreadMs} ms after the last relay listened: ${spread.map((l) => `${l.upstream}/${l.id.slice(0, 4)}→${l.owner}`).join(' ')}`);
    assert.equal(spread.length, 6);
    const perRelay = relays.map((r) => spread.filter((l) => l.owner === r.id).length);
    assert.deepEqual(spread.filter((l) => !relays.some((r) => r.id === l.owner)).map((l) => [l.id, l.owner]), [[S3, 'zombie']]);
    // ⌈6/3⌉ = 2 each; the relay preferred for the zombie's S3 holds one.
    assert.deepEqual([...perRelay].sort(), [1, 2, 2], `links per relay: ${perRelay.join('/')}`);
    // Each relay's own /readyz agrees, and stays so past a hand-over's due time (2 TTL).
    await new Promise((r) => setTimeout(r, 2 * TTL + 300));
    for (const [i, r] of relays.entries()) {
      const mine = Object.values((await r.readyz()).body.upstreams).flat().filter((l) => l.ownership === 'owned').length;
      assert.equal(mine, perRelay[i], `${r.id} owns ${mine}`);
    }
    for (const s of [S1, S2, S4, S5]) assert.equal(up.wings.connectionCount(s), 1, `one socket to ${s}`);
    assert.equal(up.felix.connectionCount(), 1);
    up.assertNeverTwoSockets();
  });

  test('exactly one relay owns each link; the others stand by and name it', async () => {
    for (const [upstream, id] of [['up', S1], ['up', S2], ['felix', '_']] as const) {
      const links = await untilLinks(relays, upstream, id, (ls) => ls.filter((l) => l?.ownership === 'owned' && l.state === 'ready').length === 1 && ls.filter((l) => l?.ownership === 'standby').length === 2, 15_000, `one owner of ${upstream}/${id}`);
      const owner = relays[links.findIndex((l) => l?.ownership === 'owned')]!.id;
      for (const l of links) {
        assert.equal(l!.owner, owner);
        assert.equal(l!.state, l!.ownership === 'owned' ? 'ready' : 'standby');
        assert.equal(typeof l!.since, 'number');
      }
    }
    const s3 = await untilLinks(relays, 'up', S3, (ls) => ls.every((l) => l?.ownership === 'standby'), 5000, 'S3 held by the zombie');
    assert.deepEqual(s3.map((l) => [l!.state, l!.owner]), [['standby', 'zombie'], ['standby', 'zombie'], ['standby', 'zombie']]);
    await until(() => up.wings.connectionCount(S1) === 1 && up.wings.connectionCount(S2) === 1 && up.felix.connectionCount() === 1, 5000, 'one socket each');
    assert.equal(up.wings.connectionCount(S3), 0, 'nobody opened the zombie\'s link');
    const metrics = await (await fetch(`${relays[0]!.url}/metrics`)).text();
    assert.match(metrics, /bridge_upstream_links\{protocol="wings",upstream="up",state="standby"\} [1-5]/);
    up.assertNeverTwoSockets();
  });

  test('dashboards on all three relays receive every console line once, in order; send logs has no duplicates', async () => {
    const [owner] = await owners(relays, 'up', S1);
    assert.ok(owner, 'S1 has an owner');
    const dashboards = await Promise.all(relays.map((r) => r.wings(S1)));
    clients.push(...dashboards);
    await primed(up.wings, S1, dashboards);
    const from = dashboards.map((c) => c.frames.length);
    const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
    for (const line of lines) up.wings.console(S1, line);
    await until(() => dashboards.every((c, i) => consoleLines(c, 'line ', from[i]).length >= lines.length), 10_000, 'every line everywhere');
    await new Promise((r) => setTimeout(r, 200));
    dashboards.forEach((c, i) => assert.deepEqual(consoleLines(c, 'line ', from[i]), lines, `dashboard on ${relays[i]!.id}`));

    const before = dashboards.map((c) => c.frames.length);
    for (const c of dashboards) c.send('send logs');
    // A history read is a JetStream consumer on the R3 stream: slow on a loaded machine.
    await until(() => dashboards.every((c, i) => consoleLines(c, 'line 40', before[i]).length === 1), 20_000, 'send logs answered').catch(async (err: Error) => {
      const jsm = await zombie!.nc.jetstreamManager();
      const streams: string[] = [];
      for await (const si of jsm.streams.list()) streams.push(`${si.config.name}: ${si.state.messages} msgs, leader ${si.cluster?.leader}, replicas ${JSON.stringify(si.cluster?.replicas?.map((r) => [r.name, r.current, r.lag]))}`);
      throw new Error(`${err.message}: ${dashboards.map((c, i) => consoleLines(c, 'line ', before[i]).length).join(', ')} lines; streams ${streams.join('; ')}; ${relays.map((r) => r.logs.filter((l) => l.level === 'warn' || l.level === 'error').slice(-3).map((l) => l.msg).join(' | ')).join(' / ')}`);
    });
    await new Promise((r) => setTimeout(r, 200));
    dashboards.forEach((c, i) => assert.deepEqual(consoleLines(c, 'line ', before[i]), lines, `send logs on ${relays[i]!.id}: the last lines, each once`));
    up.assertNeverTwoSockets();
  });

  test('a late dashboard on a relay that does not own the link: status first, send logs the last 150 lines once, and the bot\'s real 10001', async () => {
    const [owner] = await owners(relays, 'up', S2);
    assert.ok(owner, 'S2 has an owner');
    const late = relays.find((r) => r !== owner)!;
    const watcher = await owner.wings(S2);
    clients.push(watcher);
    await primed(up.wings, S2, [watcher]);
    const lines = Array.from({ length: 200 }, (_, i) => `hist ${i + 1}`);
    for (const line of lines) up.wings.console(S2, line);
    await until(() => consoleLines(watcher, 'hist 200').length === 1, 10_000, 'the owner published every line');

    const c = await late.wings(S2);
    clients.push(c);
    await c.event('status', 10_000);
    assert.deepEqual(c.frames.slice(0, 2).map((f) => f.event), ['auth success', 'status'], 'auth success, then status, before anything else');
    assert.deepEqual(c.frames[1]!.args, ['running']);
    const from = c.frames.length;
    c.send('send logs');
    await until(() => consoleLines(c, 'hist 200', from).length === 1, 20_000, 'send logs answered');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(consoleLines(c, '', from), lines.slice(-150), 'the last 150 lines, each once, in order');

    // Felix: a dashboard on a relay that does not own the bot's link gets the bot's own health.
    const [botOwner] = await owners(relays, 'felix', '_');
    assert.ok(botOwner, 'the bot has an owner');
    await until(() => up.felix.received.some((f) => f.code === 20001), 10_000, 'the owner heartbeats the bot');
    const other = relays.find((r) => r !== botOwner)!;
    const fc = await FelixClient.connect(`${other.url.replace(/^http/, 'ws')}/felix`, ADMIN_KEY);
    felixClients.push(fc);
    fc.send(20001);
    const ack = await fc.code(10001, 5000);
    const expected = up.felix.health();
    assert.equal(ack.data.guildsCount, expected.guildsCount, JSON.stringify(ack.data));
    assert.equal(ack.data.shards.length, expected.shards.length, 'the bot\'s shards, not the zeros of a relay that knows nothing');
    assert.ok(ack.data.shards.length > 0);
    up.assertNeverTwoSockets();
  });

  test('a command from a relay that does not own the link reaches the owner, and its echo comes back', async () => {
    const [owner] = await owners(relays, 'up', S1);
    const other = relays.find((r) => r !== owner)!;
    const c = await other.wings(S1);
    clients.push(c);
    c.send('send command', ['say from afar']);
    await c.next((f) => f.event === 'console output' && f.args?.[0] === '> say from afar', 5000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(up.wings.received.filter((f) => f.event === 'send command' && f.args[0] === 'say from afar').length, 1, 'applied once, by the owner');
    up.assertNeverTwoSockets();
  });

  test('a link nobody serves: the dashboard gets daemon error after commandTimeoutMs', async () => {
    const c = await relays[2]!.wings(S3);
    clients.push(c);
    const sent = Date.now();
    c.send('send command', ['into the void']);
    const err = await c.event('daemon error', COMMAND_TIMEOUT_MS + 5000);
    const waited = Date.now() - sent;
    assert.ok(waited >= COMMAND_TIMEOUT_MS - 50, `answered after ${waited} ms`);
    assert.match(err.args![0]!, /no owner of this upstream link answered within 2000 ms/);
    assert.equal(up.wings.received.filter((f) => f.args[0] === 'into the void').length, 0);
    up.assertNeverTwoSockets();
  });

  test('a Wings token from one relay opens a socket on another (the shared jwtSecret)', async () => {
    const [a, b] = relays as [RelayProcess, RelayProcess];
    const res = await fetch(`${a.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(res.status, 200);
    const { data } = (await res.json()) as { data: { token: string; socket: string } };
    assert.ok(data.socket.startsWith(a.url.replace(/^http/, 'ws')), 'the token names relay A');
    const c = await WingsClient.connect(data.socket.replace(a.url.replace(/^http/, 'ws'), b.url.replace(/^http/, 'ws')));
    clients.push(c);
    c.send('auth', [data.token]);
    await c.event('auth success', 10_000);
    await primed(up.wings, S1, [c]);
  });

  test('a Semoxy ticket minted on one relay opens a socket on another once; every second use, anywhere, is "Invalid Ticket"', async () => {
    const [a, b, c] = relays as [RelayProcess, RelayProcess, RelayProcess];
    const ticket = async (r: RelayProcess) => {
      const res = await fetch(`${r.url}/account/ticket`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { data: { token: string } }).data.token;
    };
    const url = (r: RelayProcess, t: string) => `${r.url.replace(/^http/, 'ws')}/server/events?ticket=${encodeURIComponent(t)}`;

    const t = await ticket(a);
    const dashboard = await PanelClient.connect(url(b, t));
    try {
      // A live v1 socket on B: console lines of S1 reach it (probes until its subscription crossed the routes).
      const deadline = Date.now() + 10_000;
      for (let k = 0; !dashboard.frames.some((f) => f.action === 'CONSOLE_LINE' && f.data?.message?.startsWith('ticket probe')); k++) {
        assert.ok(Date.now() < deadline, 'a console line reached the v1 socket on B');
        up.wings.console(S1, `ticket probe ${k}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const r of [a, b, c]) {
        const refused = await PanelClient.refusal(url(r, t));
        assert.deepEqual([refused.status, refused.body], [401, INVALID_TICKET], `second use on ${r.id}`);
      }
    } finally {
      dashboard.close();
    }

    // One ticket from C, tried on all three relays at once, twice each: one socket opens.
    const raced = await ticket(c);
    const outcomes = await Promise.allSettled([a, b, c, a, b, c].map((r) => PanelClient.connect(url(r, raced))));
    const opened = outcomes.filter((o): o is PromiseFulfilledResult<PanelClient> => o.status === 'fulfilled');
    for (const o of opened) o.value.close();
    assert.equal(opened.length, 1, 'exactly one upgrade accepted');
    for (const o of outcomes) if (o.status === 'rejected') assert.deepEqual([o.reason.status, o.reason.body], [401, INVALID_TICKET]);
    up.assertNeverTwoSockets();
  });
});
