/**
 * Issue 10 item 4: the panel listener subscribed only to the ids in the upstream's `servers` list,
 * even for a client granted `*`, so SERVER_ADD, SERVER_DELETE and everything else about a server
 * created upstream later never reached a Semoxy dashboard, although the events were on the bus
 * (Semoxy itself sends every packet to every socket). A `*` grant now sees every server of the
 * upstream, present and future (one wildcard pattern per upstream); a grant of ids sees those ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useNatsServer } from '../helpers/nats-server.ts';
import { P1, VIEWER_KEY, startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';

const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) {
  describe(`regression: Semoxy dashboards see servers created later (${bus} bus)`, () => {
    let h: PanelHarness;
    before(async () => {
      h = await startPanelHarness({ bus, natsUrl: bus === 'nats' ? nats.url : undefined });
    });
    after(() => h.stop());

    test('a * grant gets SERVER_ADD, the new server\'s console and SERVER_DELETE; an id grant does not', async () => {
      const admin = await h.v1();
      const viewer = await h.v1(VIEWER_KEY);
      const v2 = await h.v2(undefined, ['console.*']);
      try {
        const server = h.sim.addServer({ name: 'Skyblock' });
        const id = server.id as string;
        const added = await admin.next((f) => f.action === 'SERVER_ADD');
        assert.equal(added.data.id, id);
        assert.equal(added.data.name, 'Skyblock');
        assert.equal((await v2.next((f) => f.action === 'SERVER_ADD')).data.id, id);

        h.sim.setOnline(id, 2);
        h.sim.console(id, 'a line from the new server');
        assert.deepEqual((await admin.next((f) => f.action === 'CONSOLE_LINE')).data, { id, message: 'a line from the new server' });
        assert.equal((await v2.next((f) => f.action === 'CONSOLE_MESSAGE')).data.eventData.message, 'a line from the new server');

        h.sim.deleteServer(id);
        assert.equal((await admin.next((f) => f.action === 'SERVER_DELETE')).data.id, id);

        // The viewer, granted P1 only, hears of none of it, but still of P1.
        h.sim.console(P1, 'still P1');
        assert.deepEqual((await viewer.next((f) => f.action === 'CONSOLE_LINE')).data, { id: P1, message: 'still P1' });
        assert.deepEqual(viewer.frames.filter((f) => f.data?.id === id || f.data?.serverId === id), [], 'nothing about a server outside the grant');
      } finally {
        admin.close();
        viewer.close();
        v2.close();
      }
    });
  });
}
