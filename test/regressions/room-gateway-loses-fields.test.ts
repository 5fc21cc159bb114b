/**
 * Issue 10 item 7: anonroom's current server sends `{"e":6,"d":{"id":"alice","muted":true}}` and
 * `{"e":6,"d":{"id":"alice","name":"Alicia",…}}`; the relay forwarded only banned/color/admin/online,
 * so mutes and renames never reached a dashboard. Every changed field travels now, known or not,
 * to dashboards of both numberings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { LATEST_PATH, startGatewayHarness, type GatewayHarness } from '../helpers/gateway-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

describe('regression: the room gateway loses participant fields', () => {
  let h: GatewayHarness;
  before(async () => {
    h = await startGatewayHarness({ clock: new ManualClock() });
    await eventually(() => h.relay.supervisor.link('latest-rooms', 'room', 'hall')?.state === 'ready', 5000, 'hall link ready');
  });
  after(() => h.stop());

  test('muted, name and a field the relay does not know reach seed and later dashboards', async () => {
    const seed = await h.open('hall', 'watcher');
    const latest = await h.open('hall', 'watcher2', LATEST_PATH);
    h.latestSim.updateParticipant('hall', 'alice', { muted: true });
    h.latestSim.updateParticipant('hall', 'alice', { name: 'Alicia', color: '#ff8800' });
    h.latestSim.updateParticipant('hall', 'alice', { badge: { tier: 2 } });
    for (const c of [seed, latest]) {
      assert.equal(await c.nextRaw(), '{"e":6,"d":{"id":"alice","muted":true}}');
      assert.equal(await c.nextRaw(), '{"e":6,"d":{"id":"alice","name":"Alicia","color":"#ff8800"}}');
      assert.equal(await c.nextRaw(), '{"e":6,"d":{"id":"alice","badge":{"tier":2}}}');
    }
  });
});
