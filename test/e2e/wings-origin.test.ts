/** The Wings listener's origin allow-list, decided before the upgrade (REAL-BEHAVIOUR.md: HTTP 403). */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { S1, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient } from '../helpers/wings-client.ts';

let h: Harness;
before(async () => {
  h = await startHarness({ listener: { allowedOrigins: ['https://dash.example'] } });
});
after(() => h.stop());

const refusal = (headers: Record<string, string>) =>
  WingsClient.connect(h.socketUrl(S1), headers).then(
    (c) => {
      c.close();
      return 101;
    },
    (err: { status?: number }) => err.status,
  );

test('a foreign or missing Origin is refused with 403 before the upgrade; a listed one is accepted', async () => {
  assert.equal(await refusal({ origin: 'https://evil.example' }), 403);
  assert.equal(await refusal({}), 403, 'with an allow-list, a missing Origin is refused too');
  assert.equal(await refusal({ origin: 'https://dash.example.evil' }), 403, 'exact match only');
  assert.equal(await refusal({ origin: 'https://dash.example' }), 101);
  const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
  assert.match(metrics, /bridge_auth_failures_total\{dialect="wings",direction="downstream",reason="origin"\} 3/);
});

test('an unknown server is refused with 404 before the upgrade', async () => {
  await assert.rejects(WingsClient.connect(h.socketUrl('not-bridged'), { origin: 'https://dash.example' }), (err: { status?: number }) => err.status === 404);
});
