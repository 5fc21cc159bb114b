/**
 * Issue 13: one Semoxy SERVER_STATE_CHANGE with an `onlineStatus` was published twice, as
 * `server.status` and `server.patch`. Panel sessions dropped the status copy of a panel upstream,
 * and every Wings session counted the patch as `unmapped`, so one state change inflated the drop
 * counter by design. Now it is one `server.status` that carries Semoxy's patch: the panel dialect
 * writes it back as it came, Wings and CloudEvents read the state, and nothing is counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeFrame, packetToEvents } from '../../adapters/panel/codec.ts';
import { makeEvent } from '../../src/events.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { packet } from '../helpers/panel-client.ts';
import { ADMIN_KEY, P1, startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const SERVER = P1;

describe('regression: a Semoxy state change is one event that every server dialect uses', () => {
  test('the codec reads one event, and the panel, Wings and CloudEvents dialects each write it', () => {
    for (const status of [0, 1, 2, 3]) {
      const frame = `{"action":"SERVER_STATE_CHANGE","data":{"id":"${SERVER}","patch":{"onlineStatus":${status},"name":"x"}}}`;
      const events = packetToEvents(decodeFrame(frame)!)!;
      assert.equal(events.length, 1, `one event for ${frame}`);
      const event = makeEvent({ upstream: 'semoxy', node: 'n' }, events[0]!.type, events[0]!.id, events[0]!.data);
      for (const dialect of ['panel', 'wings', 'cloudevents']) {
        const adapter = ADAPTERS.find((a) => a.protocol === dialect)!;
        assert.ok(adapter.encode(event, 'v2'), `${dialect} writes ${event.type}`);
      }
      const panel = ADAPTERS.find((a) => a.protocol === 'panel')!;
      assert.equal(panel.encode(event, 'v2'), frame, 'the panel dialect writes the patch back as it came');
    }
  });

  describe('through a relay', () => {
    let h: PanelHarness;
    let wings: WingsClient;
    before(async () => {
      h = await startPanelHarness({ extraListeners: [{ name: 'wings', dialect: 'wings', upstreams: ['panel'], jwtSecret: 'state-change-once-secret' }] });
      await eventually(() => h.linkState() === 'ready', 4000, 'panel link ready');
      const token = (await (await fetch(`${h.relay.url}/api/client/servers/${P1}/websocket`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as { data: { token: string; socket: string } };
      wings = await WingsClient.connect(token.data.socket);
      wings.send('auth', [token.data.token]);
      await wings.event('auth success');
    });
    after(async () => {
      wings.close();
      await h.stop();
    });

    test('a Wings dashboard gets the status, a panel dashboard the packet, and nothing is counted unmapped', async () => {
      const panel = await h.v1();
      h.sim.setOnline(P1, 3);
      await wings.next((f) => f.event === 'status' && f.args?.[0] === 'stopping');
      assert.deepEqual(packet(await panel.next()), { action: 'SERVER_STATE_CHANGE', data: { id: P1, patch: { onlineStatus: 3 } } });
      h.sim.setOnline(P1, 0);
      await wings.next((f) => f.event === 'status' && f.args?.[0] === 'offline');
      const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
      assert.doesNotMatch(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="unmapped"\} [1-9]/);
      panel.close();
    });
  });
});
