/**
 * Semoxy simulator → relay → Semoxy dashboards, over real sockets, on a given bus. The same cases
 * run on the memory bus (test/e2e) and on a real nats-server (test/nats): both handshakes, intents,
 * grants, tickets (single-use, TTL, reusable), migration between v1 and v2 in both directions, and a
 * Semoxy dashboard watching a Wings server. A ManualClock drives every timer.
 *
 * "Nothing else arrived" is proven by order: upstream packets are relayed in order, so when the next
 * frame after a gated or filtered packet is the one emitted after it, nothing came between.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, P1, P2, VIEWER_KEY, W1, startPanelHarness, type PanelHarness } from './panel-harness.ts';
import { HTTP_BODIES, PanelClient, USE_HTTP, packet } from './panel-client.ts';
import { describeOnBus, type BusKind } from './relay-harness.ts';
import { runPanelV2UpstreamE2E } from './panel-suite-v2.ts';
import { eventually } from './wings-client.ts';

/** `natsUrl` gives the test file's own nats-server when `bus` is 'nats' (read once its `before` ran). */
export function runPanelE2E(bus: BusKind, natsUrl?: () => string): void {
  let h: PanelHarness;
  const reusePaths = { ticket: '/reuse/account/ticket', events: '/reuse/server/events' };
  const start = async (o: { bus: BusKind; natsUrl?: string }) =>
    (h = await startPanelHarness({
      ...o,
      wings: true,
      extraListeners: [{ name: 'reuse', dialect: 'panel', path: reusePaths.events, upstreams: ['panel'], reusableTickets: true }],
    }));
  describeOnBus('panel end to end, v1 panel', bus, natsUrl, start, ({ keep, closeAll }) => {

    test('the ticket endpoint answers like Semoxy: Bearer or Token, else 401 Not Logged In', async () => {
      const ok = await h.ticket(ADMIN_KEY, 'Bearer');
      assert.equal(ok.status, 200);
      assert.deepEqual(Object.keys(ok.body), ['success', 'data']);
      assert.equal(ok.body.success, 'ticket created');
      assert.match(ok.body.data.token, /^[A-Za-z0-9_-]{40,}$/);
      assert.equal((await h.ticket(VIEWER_KEY, 'Token')).status, 200);
      const none = await h.ticket(ADMIN_KEY, null);
      assert.deepEqual([none.status, none.body], [401, HTTP_BODIES.notLoggedIn]);
      const wrong = await h.ticket('not-a-key', 'Bearer');
      assert.deepEqual([wrong.status, wrong.body], [401, HTTP_BODIES.notLoggedIn]);
    });

    test('a v1 dashboard gets every packet natively, each state change once', async () => {
      const c = keep(await h.v1());
      h.sim.setOnline(P2, 1);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P2, patch: { consoleOut: [] } } });
      // The state change is one server.status with Semoxy's patch; the v1 start patch keeps its console clear.
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P2, patch: { onlineStatus: 1, consoleOut: [] } } });
      h.sim.console(P2, 'Loading libraries, please wait...');
      const line = await c.next();
      assert.equal(line.raw, `{"action":"CONSOLE_LINE","data":{"id":"${P2}","message":"Loading libraries, please wait..."}}`);
      h.sim.setOnline(P2, 2);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P2, patch: { onlineStatus: 2 } } });
      h.sim.meta('Use HTTP for data manipulation and query');
      assert.deepEqual(packet(await c.next()), { action: 'META_MESSAGE', data: { message: 'Use HTTP for data manipulation and query' } });
      h.sim.emit('ADDON_ADD', { serverId: P1, addon: { id: 'worldedit', name: 'WorldEdit' } });
      assert.deepEqual(packet(await c.next()), { action: 'ADDON_ADD', data: { serverId: P1, addon: { id: 'worldedit', name: 'WorldEdit' } } });
      h.sim.emit('ADDON_DELETE', { serverId: P1, id: 'worldedit' });
      assert.deepEqual(packet(await c.next()), { action: 'ADDON_DELETE', data: { serverId: P1, id: 'worldedit' } });
      h.sim.deleteServer(P2);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_DELETE', data: { id: P2 } });
      const server = h.sim.addServer({ id: P2, name: 'Creative' });
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_ADD', data: server });
    });

    test('a v1 client frame is answered with the use-http META_MESSAGE; the socket stays open', async () => {
      const c = keep(await h.v1());
      c.sendRaw('this is not json');
      c.send('START_SERVER', { id: P1 });
      assert.deepEqual(packet(await c.next()), USE_HTTP);
      assert.deepEqual(packet(await c.next()), USE_HTTP);
      h.sim.console(P1, 'still listening');
      assert.deepEqual(packet(await c.next()), { action: 'CONSOLE_LINE', data: { id: P1, message: 'still listening' } });
    });

    test('grants: a viewer gets only its servers and the panel\'s meta messages', async () => {
      const viewer = keep(await h.v1(VIEWER_KEY));
      h.sim.console(P2, 'for admins only');
      h.wings!.console(W1, 'a wings server the viewer has no grant on');
      h.sim.console(P1, 'for everyone');
      assert.deepEqual(packet(await viewer.next()), { action: 'CONSOLE_LINE', data: { id: P1, message: 'for everyone' } });
      h.sim.meta('maintenance at noon');
      assert.deepEqual(packet(await viewer.next()), { action: 'META_MESSAGE', data: { message: 'maintenance at noon' } });
    });

    test('tickets are single-use; missing, unknown and expired ones are refused with Semoxy\'s 401 bodies', async () => {
      const { body } = await h.ticket();
      const url = h.eventsUrl(`ticket=${body.data.token}`);
      keep(await PanelClient.connect(url));
      const reused = await PanelClient.refusal(url);
      assert.deepEqual([reused.status, reused.body], [401, HTTP_BODIES.invalid]);
      const empty = await PanelClient.refusal(h.eventsUrl('ticket='));
      assert.deepEqual([empty.status, empty.body], [401, HTTP_BODIES.noTicket]);
      const unknown = await PanelClient.refusal(h.eventsUrl('ticket=no-such-ticket'));
      assert.deepEqual([unknown.status, unknown.body], [401, HTTP_BODIES.invalid]);

      const early = (await h.ticket()).body.data.token as string;
      const late = (await h.ticket()).body.data.token as string;
      await closeAll();
      await h.clock.advance(59_000);
      keep(await PanelClient.connect(h.eventsUrl(`ticket=${early}`)));
      await closeAll();
      await h.clock.advance(1_000);
      const expired = await PanelClient.refusal(h.eventsUrl(`ticket=${late}`));
      assert.deepEqual([expired.status, expired.body], [401, HTTP_BODIES.expired]);
      // Reported once, then forgotten, as Semoxy deletes an expired ticket.
      const forgotten = await PanelClient.refusal(h.eventsUrl(`ticket=${late}`));
      assert.deepEqual([forgotten.status, forgotten.body], [401, HTTP_BODIES.invalid]);
      const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
      assert.match(metrics, /bridge_auth_failures_total\{dialect="panel",direction="downstream",reason="auth"\} (?:[5-9]|\d{2,})/);
    });

    test('reusableTickets: one ticket opens several sockets until it expires; stores are per listener', async () => {
      const ticket = await h.ticket(ADMIN_KEY, 'Bearer', reusePaths.ticket);
      assert.equal(ticket.status, 200, 'the ticket route sits next to the listener path');
      const url = h.eventsUrl(`ticket=${ticket.body.data.token}`, reusePaths.events);
      const a = keep(await PanelClient.connect(url));
      const b = keep(await PanelClient.connect(url));
      h.sim.console(P1, 'to both');
      for (const c of [a, b]) assert.deepEqual(packet(await c.next()), { action: 'CONSOLE_LINE', data: { id: P1, message: 'to both' } });
      const foreign = (await h.ticket()).body.data.token as string;
      assert.equal((await PanelClient.refusal(h.eventsUrl(`ticket=${foreign}`, reusePaths.events))).status, 401);
      await closeAll();
      await h.clock.advance(60_000);
      const expired = await PanelClient.refusal(url);
      assert.deepEqual([expired.status, expired.body], [401, HTTP_BODIES.expired]);
    });

    test('migration: a v2 dashboard in front of a v1 panel gets CONSOLE_MESSAGE behind its intents', async () => {
      const c = keep(await h.v2(ADMIN_KEY, [`console.${P1}`]));
      h.sim.console(P2, 'no intent for this server');
      h.sim.console(P1, 'relayed as an event packet');
      const f = await c.next();
      assert.equal(f.action, 'CONSOLE_MESSAGE');
      assert.equal(f.data.serverId, P1);
      assert.deepEqual(f.data.eventData, { message: 'relayed as an event packet' });
      assert.match(f.data.id, /^[0-9a-f]{24}$/);
      h.sim.setOnline(P2, 3);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P2, patch: { onlineStatus: 3 } } });
      h.sim.setOnline(P2, 0);
      await c.next((x) => x.action === 'SERVER_STATE_CHANGE' && x.data.patch.onlineStatus === 0);
    });

    test('cross-protocol: a Semoxy dashboard watches a Wings server', async () => {
      const v1 = keep(await h.v1());
      const v2 = keep(await h.v2(ADMIN_KEY, [`console.${W1}`, 'stat.*']));
      h.wings!.setState(W1, 'starting');
      const start = { action: 'SERVER_STATE_CHANGE', data: { id: W1, patch: { onlineStatus: 1, consoleOut: [] } } };
      const boot = '[Pterodactyl Daemon]: Updating process configuration files...';
      assert.deepEqual(packet(await v1.next()), start);
      assert.deepEqual(packet(await v1.next()), { action: 'CONSOLE_LINE', data: { id: W1, message: boot } });
      assert.deepEqual(packet(await v2.next()), start);
      const line = await v2.next();
      assert.deepEqual([line.action, line.data.serverId, line.data.eventData], ['CONSOLE_MESSAGE', W1, { message: boot }]);
      h.wings!.emit(W1, 'daemon message', ['Checking server disk space usage, this could take a few seconds...']);
      const meta = { action: 'META_MESSAGE', data: { message: 'Checking server disk space usage, this could take a few seconds...' } };
      assert.deepEqual(packet(await v1.next()), meta);
      assert.deepEqual(packet(await v2.next()), meta);
      const stats = { memory_bytes: 734_003_200, memory_limit_bytes: 1_073_741_824, cpu_absolute: 12.345, network: { rx_bytes: 1, tx_bytes: 2 }, uptime: 5000, state: 'starting', disk_bytes: 7 };
      h.wings!.emit(W1, 'stats', [JSON.stringify(stats)]);
      assert.deepEqual(packet(await v2.next()), { action: 'STAT_UPDATE', data: { serverId: W1, ramUsage: 734_003, cpuUsage: 12.35 } });
      await h.clock.advance(100); // the Wings server finishes starting
      assert.deepEqual(packet(await v1.next()), { action: 'SERVER_STATE_CHANGE', data: { id: W1, patch: { onlineStatus: 2 } } }, 'v1 got no STAT_UPDATE');
      assert.equal((await v1.next()).action, 'CONSOLE_LINE');
    });

    test('commands for panel servers are refused: Semoxy takes them over HTTP', async () => {
      const reply = await h.relay.bus.request(
        h.relay.subjects.command('panel', 'server', P1),
        { type: 'server.command', upstream: 'panel', resource: 'server', id: P1, data: { line: 'say hi' } },
        2000,
      );
      assert.deepEqual(reply, { ok: false, code: 'BRIDGE_ERR_UNSUPPORTED_DATA', message: 'the panel takes commands over HTTP, not the event socket' });
    });

    test('the relay pings every 20 s and drops a socket that stopped answering', async () => {
      const timeouts = async () => Number(/bridge_heartbeat_timeouts_total\{dialect="panel",direction="downstream"\} (\d+)/.exec(await (await fetch(`${h.relay.url}/metrics`)).text())?.[1] ?? 0);
      const before = await timeouts();
      const alive = keep(await h.v1());
      const { body } = await h.ticket();
      const silent = keep(await PanelClient.connect(h.eventsUrl(`ticket=${body.data.token}`), { autoPong: false }));
      await h.clock.advance(19_999);
      assert.equal(alive.pings + silent.pings, 0);
      await h.clock.advance(1);
      await alive.waitPings(1);
      await silent.waitPings(1);
      // The pong left before this frame, so once the answer is back the relay has seen the pong.
      alive.send('BARRIER');
      assert.deepEqual(packet(await alive.next()), USE_HTTP);
      await h.clock.advance(20_000);
      const closed = await silent.closed;
      assert.equal(closed.code, 1006, 'terminated without a close handshake');
      await alive.waitPings(2);
      assert.equal(alive.ws.readyState, alive.ws.OPEN);
      await eventually(async () => (await timeouts()) === before + 1, 4000, 'one heartbeat timeout counted');
    });
  }, { waitClosed: true });

  runPanelV2UpstreamE2E(bus, natsUrl);
}
