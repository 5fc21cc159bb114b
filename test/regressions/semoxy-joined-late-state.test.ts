/**
 * Issue 10 item 5: Semoxy never re-announces a server that was already online when a client
 * connects, so a Wings dashboard watching such a server through the relay got `status offline`
 * while its console lines arrived, `send logs` replayed nothing (the stored status said offline, or
 * there was none) and `send stats` went unanswered (a v1 panel sends no STAT_UPDATE). Now the
 * panel link reads the servers' `onlineStatus` from Semoxy's HTTP API (`GET /server/`) when it
 * starts; `send logs` replays the history whatever the stored status; `send stats` is always
 * answered, as Wings always answers. On both buses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useNatsServer } from '../helpers/nats-server.ts';
import { ADMIN_KEY, P1, P2, startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const nats = useNatsServer();

async function wingsDashboard(h: PanelHarness, server: string): Promise<WingsClient> {
  const res = await fetch(`${h.relay.url}/api/client/servers/${server}/websocket`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const { data } = (await res.json()) as { data: { token: string; socket: string } };
  const c = await WingsClient.connect(data.socket);
  c.send('auth', [data.token]);
  await c.event('auth success');
  return c;
}

for (const bus of ['memory', 'nats'] as const) {
  describe(`regression: the state of a Semoxy server the relay joined late (${bus} bus)`, () => {
    let h: PanelHarness;
    before(async () => {
      // P1 is online and P2 offline before the relay connects; neither is announced on the socket.
      h = await startPanelHarness({
        bus,
        natsUrl: bus === 'nats' ? nats.url : undefined,
        extraListeners: [{ name: 'wings', dialect: 'wings', upstreams: ['panel'], jwtSecret: 'joined-late-secret' }],
      });
      // The link reads the server list once its socket is up; a dashboard within that one round
      // trip would find no state yet. Give it a moment (the code before the fix never stores one).
      const retained = async () => (await Promise.all([P1, P2].map((id) => h.relay.bus.last(h.relay.subjects.event('panel', 'server.status', id))))).every(Boolean);
      await eventually(retained, 2000).catch(() => undefined);
    });
    after(() => h.stop());

    test('a server online before the relay joined is running; send logs and send stats answer', async () => {
      const c = await wingsDashboard(h, P1);
      try {
        assert.deepEqual((await c.next()).args, ['running'], 'status right after auth success');
        h.sim.console(P1, 'line one');
        h.sim.console(P1, 'line two');
        await eventually(() => c.frames.filter((f) => f.event === 'console output').length === 2, 4000, 'live lines');
        assert.equal(c.frames.filter((f) => f.event === 'status' && f.args?.[0] === 'offline').length, 0, 'never offline while printing');

        c.send('send stats');
        const stats = JSON.parse((await c.event('stats')).args![0]!);
        assert.equal(stats.state, 'running', 'a v1 panel sends no STAT_UPDATE: zeros and the state');
        assert.equal(stats.memory_bytes, 0);

        // The server stops: the history still replays, whatever the stored status says.
        h.sim.setOnline(P1, 0);
        await c.next((f) => f.event === 'status' && f.args?.[0] === 'offline');
        c.send('send logs');
        assert.deepEqual((await c.event('console output')).args, ['line one']);
        assert.deepEqual((await c.event('console output')).args, ['line two']);
      } finally {
        c.close();
      }
    });

    test('a server offline before the relay joined is offline, with one stats', async () => {
      const c = await wingsDashboard(h, P2);
      try {
        assert.deepEqual((await c.next()).args, ['offline']);
        assert.equal(JSON.parse((await c.next((f) => f.event === 'stats')).args![0]!).state, 'offline');
        c.send('send stats');
        assert.equal(JSON.parse((await c.event('stats')).args![0]!).state, 'offline');
      } finally {
        c.close();
      }
    });
  });
}
