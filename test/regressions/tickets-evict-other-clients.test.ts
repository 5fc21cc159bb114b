/**
 * Issue 9, defect 10 (tickets): the panel ticket store dropped the oldest tickets past 100 000,
 * whoever they belonged to, so one client minting tickets evicted every other client's. Now each
 * client holds at most `maxTicketsPerClient` (default 100) and only its own oldest ticket goes.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { ApiClient } from '../../src/adapter-kit.ts';
import { MemoryTickets } from '../../src/auth/tickets.ts';
import { ADMIN_KEY, VIEWER_KEY, startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { PanelClient } from '../helpers/panel-client.ts';

const ALICE: ApiClient = { name: 'alice', grants: [] };
const MALLORY: ApiClient = { name: 'mallory', grants: [] };

let h: PanelHarness | undefined;
const clients: PanelClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  await h?.stop();
  h = undefined;
});

describe('one client cannot evict another client\'s tickets', () => {
  test('a client minting 100 000 tickets leaves another client\'s ticket valid (default store)', async () => {
    const store = new MemoryTickets(new ManualClock(), { ttlSeconds: 60, reusable: false });
    const alices = await store.issue(ALICE);
    assert.ok(alices.ok);
    for (let i = 0; i < 100_000; i++) await store.issue(MALLORY);
    assert.deepEqual(await store.redeem(alices.ticket), { ok: true, client: ALICE });
    assert.equal(store.size, 100, 'mallory holds only the default 100');
  });

  test('over HTTP: past maxTicketsPerClient the minting client loses its own oldest tickets only', async () => {
    const harness = (h = await startPanelHarness({ listener: { maxTicketsPerClient: 3 } }));
    const viewer = await harness.ticket(VIEWER_KEY);
    assert.equal(viewer.status, 200);
    const minted: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await harness.ticket(ADMIN_KEY);
      assert.equal(res.status, 200);
      minted.push(res.body.data.token);
    }
    const ws = (ticket: string) => `${harness.relay.url.replace(/^http/, 'ws')}/server/events?ticket=${encodeURIComponent(ticket)}`;
    const own = await PanelClient.connect(ws(viewer.body.data.token));
    clients.push(own);
    for (const evicted of minted.slice(0, 2)) {
      await assert.rejects(PanelClient.connect(ws(evicted)), (err: { status?: number }) => err.status === 401, 'the minting client\'s oldest are gone');
    }
    const newest = await PanelClient.connect(ws(minted[4]!));
    clients.push(newest);
  });
});
