/**
 * The second half of the panel end-to-end suite: the relay in front of a v2 (AUTHENTICATE-era)
 * Semoxy panel. v2 dashboards get CONSOLE_MESSAGE and STAT_UPDATE behind their intents, v1
 * dashboards keep working (migration), handshake errors are Semoxy's, and a dropped panel socket is
 * re-authenticated without the dashboards noticing. Run by {@link runPanelE2E} on each bus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, P1, P2, VIEWER_KEY, startPanelHarness, type PanelHarness } from './panel-harness.ts';
import { PanelClient, packet } from './panel-client.ts';
import { describeOnBus, type BusKind } from './relay-harness.ts';
import { eventually } from './wings-client.ts';

export function runPanelV2UpstreamE2E(bus: BusKind, natsUrl?: () => string): void {
  let h: PanelHarness;
  const start = async (o: { bus: BusKind; natsUrl?: string }) => (h = await startPanelHarness({ ...o, upstreamVersion: 'v2', sim: { version: 'v2' } }));
  describeOnBus('panel end to end, v2 panel', bus, natsUrl, start, ({ keep }) => {
    const metrics = async () => (await fetch(`${h.relay.url}/metrics`)).text();

    test('the relay authenticates with its session first, then enables its intents', async () => {
      await eventually(() => h.sim.received.length >= 3, 4000, 'intents received');
      const sent = h.sim.received.map((r) => [r.version, r.action, r.data]);
      assert.deepEqual(sent.slice(0, 3), [
        ['v2', 'AUTHENTICATE', { sessionId: h.sim.endpoint.credentials.session }],
        ['v2', 'ENABLE_INTENT', { intent: 'console.*' }],
        ['v2', 'ENABLE_INTENT', { intent: 'stat.*' }],
      ]);
      assert.equal(h.sim.ticketsIssued, 0, 'no ticket in v2');
    });

    test('a v2 dashboard: intents gate CONSOLE_MESSAGE and STAT_UPDATE, state changes always pass', async () => {
      const c = keep(await h.v2());
      h.sim.console(P1, 'gated: no intent yet');
      h.sim.stats(P1, 2048, 1.5);
      h.sim.setOnline(P1, 3);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P1, patch: { onlineStatus: 3 } } });

      c.send('ENABLE_INTENT', { intent: `console.${P1}` });
      assert.deepEqual(packet(await c.next()), { action: 'INTENT_ENABLED', data: { intent: `console.${P1}` } });
      h.sim.console(P2, 'another server');
      h.sim.console(P1, 'shown');
      const line = await c.next();
      assert.deepEqual([line.action, line.data.serverId, line.data.eventData], ['CONSOLE_MESSAGE', P1, { message: 'shown' }]);
      assert.match(line.data.id, /^[0-9a-f]{24}$/);

      c.send('ENABLE_INTENT', { intent: 'stat.*' });
      await c.action('INTENT_ENABLED');
      h.sim.stats(P1, 2048, 1.5);
      assert.deepEqual(packet(await c.next()), { action: 'STAT_UPDATE', data: { serverId: P1, ramUsage: 2048, cpuUsage: 1.5 } });

      c.send('DISABLE_INTENT', { intent: `console.${P1}` });
      assert.deepEqual(packet(await c.next()), { action: 'INTENT_DISABLED', data: { intent: `console.${P1}` } });
      h.sim.console(P1, 'gated again');
      h.sim.setOnline(P1, 0); // v2 also sends a SERVER_STOP event packet, which the relay does not map
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P1, patch: { onlineStatus: 0 } } });
      assert.match(await metrics(), /bridge_events_dropped_total\{dialect="panel",direction="upstream",reason="unknown_event"\} [1-9]/);
    });

    test('a viewer\'s console.* covers only the servers it is granted', async () => {
      const viewer = keep(await h.v2(VIEWER_KEY, ['console.*']));
      h.sim.console(P2, 'not granted');
      h.sim.console(P1, 'granted');
      const f = await viewer.next();
      assert.deepEqual([f.action, f.data.serverId, f.data.eventData.message], ['CONSOLE_MESSAGE', P1, 'granted']);
    });

    test('v2 handshake errors: invalid session, not authenticated, malformed packet, unsupported action', async () => {
      const wrong = keep(await PanelClient.connect(h.eventsUrl()));
      wrong.send('AUTHENTICATE', { sessionId: 'not-a-key' });
      assert.deepEqual(packet(await wrong.next()), { action: 'AUTH_ERROR', data: { message: 'invalid session' } });
      assert.equal((await wrong.closed).code, 1008);

      const early = keep(await PanelClient.connect(h.eventsUrl()));
      early.send('ENABLE_INTENT', { intent: 'console.*' });
      assert.deepEqual(packet(await early.next()), { action: 'AUTH_ERROR', data: { message: 'you are not authenticated' } });
      assert.equal((await early.closed).code, 1008);

      const garbled = keep(await PanelClient.connect(h.eventsUrl()));
      garbled.sendRaw('{"action":');
      assert.deepEqual(packet(await garbled.next()), { action: 'META_MESSAGE', data: { message: 'malformed packet' } });
      assert.equal((await garbled.closed).code, 1007);

      const noSession = keep(await PanelClient.connect(h.eventsUrl()));
      noSession.send('AUTHENTICATE', {});
      assert.deepEqual(packet(await noSession.next()), { action: 'META_MESSAGE', data: { message: 'malformed packet' } });
      assert.equal((await noSession.closed).code, 1007);

      const c = keep(await h.v2());
      c.send('START_SERVER', { id: P1 });
      assert.deepEqual(packet(await c.next()), { action: 'META_MESSAGE', data: { message: 'unsupported action: START_SERVER' } });
      h.sim.setOnline(P2, 2);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P2, patch: { onlineStatus: 2 } } }, 'still open');
      assert.match(await metrics(), /bridge_auth_failures_total\{dialect="panel",direction="downstream",reason="invalid_session"\} 1/);
    });

    test('migration: a v1 dashboard in front of a v2 panel gets CONSOLE_LINE and its console clears on start', async () => {
      const c = keep(await h.v1());
      h.sim.setOnline(P2, 1);
      assert.deepEqual(packet(await c.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P2, patch: { onlineStatus: 1, consoleOut: [] } } });
      h.sim.console(P2, 'Starting minecraft server version 1.16.5');
      assert.deepEqual(packet(await c.next()), { action: 'CONSOLE_LINE', data: { id: P2, message: 'Starting minecraft server version 1.16.5' } });
      h.sim.stats(P2, 4096, 3);
      h.sim.meta('v1 has no stats packet');
      assert.deepEqual(packet(await c.next()), { action: 'META_MESSAGE', data: { message: 'v1 has no stats packet' } });
    });

    test('a dropped panel socket is re-authenticated after backoff; dashboards keep their sessions', async () => {
      const c = keep(await h.v2(ADMIN_KEY, ['console.*']));
      const authsBefore = h.sim.received.filter((r) => r.action === 'AUTHENTICATE').length;
      h.sim.dropAll();
      await eventually(() => h.linkState() === 'backoff', 4000, 'link in backoff');
      await h.clock.advance(1000);
      await eventually(() => h.linkState() === 'ready', 4000, 'link ready again');
      assert.equal(h.sim.received.filter((r) => r.action === 'AUTHENTICATE').length, authsBefore + 1);
      h.sim.console(P1, 'after the reconnect');
      const f = await c.next((x) => x.action === 'CONSOLE_MESSAGE');
      assert.equal(f.data.eventData.message, 'after the reconnect');
    });
  }, { waitClosed: true });
}
