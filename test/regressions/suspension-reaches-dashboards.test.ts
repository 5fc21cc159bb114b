/**
 * Issue 10 item 3: when Wings closes the relay's socket of a server with 4409 (suspended), the
 * link went `failed`, but its dashboards stayed open showing `status running`, new ones got `auth
 * success`, and their commands a generic `daemon error`. Now a terminal link state reaches every
 * dialect in its own words: Wings dashboards of the server are closed 4409 and new ones are closed
 * 4409 at `auth` (as Wings does while a server is suspended); Semoxy dashboards get a
 * META_MESSAGE (on the change, and on joining later); CloudEvents clients get the link's own
 * `upstream.state` event, published per link with the error row in `code`; room gateway
 * dashboards are closed as anonroom closes a participant of a room gone for it (1014 unknown
 * room, 4001 kicked). On both buses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { LATEST_PATH, gatewayLinksReady, startGatewayHarness, type GatewayHarness } from '../helpers/gateway-harness.ts';
import { useNatsServer } from '../helpers/nats-server.ts';
import { ADMIN_KEY as PANEL_ADMIN, W1, startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { S1, S2, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { authed } from '../helpers/wings-e2e-suite.ts';

const nats = useNatsServer();

/** The close of `c`, or null if it stays open for `ms`. */
function closedWithin(c: { closed: Promise<{ code: number; reason: string }> }, ms = 4000): Promise<{ code: number; reason: string } | null> {
  return Promise.race([c.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), ms))]);
}

for (const bus of ['memory', 'nats'] as const) {
  const natsUrl = () => (bus === 'nats' ? nats.url : undefined);

  describe(`regression: a suspended Wings server closes its Wings dashboards with 4409 (${bus} bus)`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ bus, natsUrl: natsUrl() });
      await linksReady(h);
    });
    after(() => h.stop());

    test('open dashboards are closed 4409, new ones are refused with 4409 at auth, other servers go on', async () => {
      const watching = await authed(h, S1);
      const other = await authed(h, S2);
      try {
        h.sim.suspend(S1);
        const closed = await closedWithin(watching);
        assert.equal(closed?.code, 4409, 'the dashboard of the suspended server is closed 4409');

        const state = await eventually(() => h.relay.bus.last(h.relay.subjects.event('up', 'upstream.state', S1)), 4000, 'link state');
        assert.deepEqual([state.data], [{ state: 'failed', reason: 'server suspended (4409)', resource: 'server', id: S1, owner: 'test-node', code: 'BRIDGE_ERR_SUSPENDED' }]);

        const { body } = await h.token(S1);
        const late = await WingsClient.connect(body.data.socket);
        late.send('auth', [body.data.token]);
        const refused = await closedWithin(late);
        assert.equal(refused?.code, 4409, 'a new dashboard is refused 4409 while the server is suspended');
        assert.equal(late.frames.filter((f) => f.event === 'auth success').length, 0, 'no auth success for a suspended server');

        h.sim.console(S2, 'the other server still talks');
        assert.deepEqual((await other.event('console output')).args, ['the other server still talks']);
      } finally {
        watching.close();
        other.close();
      }
    });
  });

  describe(`regression: a suspended server reaches Semoxy and CloudEvents dashboards in their words (${bus} bus)`, () => {
    let h: PanelHarness;
    before(async () => {
      h = await startPanelHarness({
        bus,
        natsUrl: natsUrl(),
        wings: true,
        extraListeners: [{ name: 'ce', dialect: 'cloudevents', upstreams: ['panel', 'wings'] }],
      });
    });
    after(() => h.stop());

    test('panel dashboards get a META_MESSAGE, CloudEvents clients the link state with its error row', async () => {
      const v1 = await h.v1();
      const ce = await CeClient.connect(`${h.relay.url.replace(/^http/, 'ws')}/cloudevents`, PANEL_ADMIN);
      try {
        await ce.subscribe('wings.upstream.>');
        h.wings!.suspend(W1);
        const meta = await v1.next((f) => f.action === 'META_MESSAGE');
        assert.match(meta.data.message, /suspended/);
        const event = await ce.event((e) => e.type === 'upstream.state' && e.data.state === 'failed');
        assert.equal(event.subject, W1, 'published under the link id');
        assert.equal(event.data.code, 'BRIDGE_ERR_SUSPENDED');

        const v2 = await h.v2();
        try {
          const later = await v2.next((f) => f.action === 'META_MESSAGE');
          assert.match(later.data.message, /suspended/, 'a dashboard joining later learns it too');
        } finally {
          v2.close();
        }
      } finally {
        v1.close();
        ce.close();
      }
    });
  });

  describe(`regression: a room gone for good closes its gateway dashboards as anonroom does (${bus} bus)`, () => {
    let h: GatewayHarness;
    before(async () => {
      h = await startGatewayHarness({ clock: new ManualClock(), bus, natsUrl: natsUrl() });
      await gatewayLinksReady(h);
    });
    after(() => h.stop());

    test('the relay kicked from a room: 4001; a room the upstream no longer knows: 1014; also for later dashboards', async () => {
      const hall = await h.open('hall', 'dave', LATEST_PATH);
      const games = await h.open('games', 'carol');
      h.latestSim.kick('hall', 'relay');
      assert.equal((await closedWithin(hall))?.code, 4001, 'the room is gone for the relay\'s participant');
      h.seedSim.disconnect('games', 1014, 'unknown room');
      assert.equal((await closedWithin(games))?.code, 1014);
      await eventually(() => h.relay.supervisor.link('seed-rooms', 'room', 'games')?.state === 'failed', 4000, 'games link failed');
      const later = await h.connect('games', 'carol');
      assert.equal((await closedWithin(later))?.code, 1014, 'a dashboard opening the room later is closed the same way');
    });
  });
}
