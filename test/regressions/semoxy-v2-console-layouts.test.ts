/**
 * Issue 10 item 6: a Semoxy v2 panel (or a build between v1 and v2, or another bridge) may write
 * CONSOLE_MESSAGE in the v1 layout `{id, message}`. The relay read only the event layout
 * `{serverId, eventData:{message}, id}` and dropped the other as `unknown_event`, although the
 * action is known. Both layouts are one console line; a known action with a payload of neither
 * shape is a `bad_frame`. The bus does not matter here (the upstream codec decides).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { P1, startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

const dropped = async (h: PanelHarness, reason: string): Promise<number> => {
  const text = await h.relay.metrics.registry.metrics();
  const m = new RegExp(`bridge_events_dropped_total\\{dialect="panel",direction="upstream",reason="${reason}"\\} (\\d+)`).exec(text);
  return m ? Number(m[1]) : 0;
};

describe('regression: both Semoxy v2 console layouts', () => {
  let h: PanelHarness;
  before(async () => {
    h = await startPanelHarness({ upstreamVersion: 'v2', sim: { version: 'v2', consoleLayout: 'flat' } });
  });
  after(() => h.stop());

  test('a v2 panel writing CONSOLE_MESSAGE {id, message} reaches v1 and v2 dashboards', async () => {
    const v1 = await h.v1();
    const v2 = await h.v2(undefined, ['console.*']);
    try {
      h.sim.console(P1, 'flat layout line');
      const a = await v1.next((f) => f.action === 'CONSOLE_LINE');
      assert.deepEqual(a.data, { id: P1, message: 'flat layout line' });
      const b = await v2.next((f) => f.action === 'CONSOLE_MESSAGE');
      assert.deepEqual([b.data.serverId, b.data.eventData], [P1, { message: 'flat layout line' }]);
    } finally {
      v1.close();
      v2.close();
    }
  });

  test('the event layout still works, and a known action with neither layout is a bad frame', async () => {
    const v1 = await h.v1();
    try {
      const unknownBefore = await dropped(h, 'unknown_event');
      const badBefore = await dropped(h, 'bad_frame');
      h.sim.emit('CONSOLE_MESSAGE', { serverId: P1, eventData: { message: 'event layout line' }, id: 'a1b2c3d4e5f64a7b8c9d0e1f' });
      assert.deepEqual((await v1.next((f) => f.action === 'CONSOLE_LINE')).data, { id: P1, message: 'event layout line' });
      h.sim.emit('CONSOLE_MESSAGE', { serverId: P1, text: 'neither layout' });
      h.sim.emit('PLAYER_JOIN', { serverId: P1, eventData: {}, id: 'b1b2c3d4e5f64a7b8c9d0e1f' });
      await eventually(async () => (await dropped(h, 'bad_frame')) === badBefore + 1, 4000, 'bad frame counted');
      await eventually(async () => (await dropped(h, 'unknown_event')) === unknownBefore + 1, 4000, 'unknown action counted');
    } finally {
      v1.close();
    }
  });
});
