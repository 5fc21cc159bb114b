/**
 * Issue 10 item 2: after a first `auth`, Wings sends `auth success`, then `status` (and one `stats`
 * when offline) before anything else. The relay joined the server's events, answered `auth
 * success`, then awaited the stored status; on NATS that read takes a round trip to JetStream, and
 * on a busy server live console lines were written in between (5–9 of 20 dashboards saw `console
 * output` before `status`). Many dashboards authenticate at once while the server prints quickly;
 * every one must see `auth success`, `status` first, on both buses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useNatsServer } from '../helpers/nats-server.ts';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient } from '../helpers/wings-client.ts';

const DASHBOARDS = 20;
/** Enough output that on NATS, before the fix, live lines overtook the status read on every dashboard. */
const LINES_PER_MS = 20;
const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) {
  describe(`regression: first auth answers status before anything else (${bus} bus)`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ bus, natsUrl: bus === 'nats' ? nats.url : undefined });
      await linksReady(h);
    });
    after(() => h.stop());

    test(`${DASHBOARDS} dashboards authenticating on a busy server each get auth success, then status`, async () => {
      const tokens = await Promise.all(Array.from({ length: DASHBOARDS }, () => h.token(S1)));
      const clients = await Promise.all(tokens.map((t) => WingsClient.connect(t.body.data.socket as string)));
      let n = 0;
      // A busy server: a few console lines every millisecond for the whole test.
      const printing = setInterval(() => {
        for (let i = 0; i < LINES_PER_MS; i++) h.sim.console(S1, `busy line ${n++}`);
      }, 1);
      try {
        clients.forEach((c, i) => c.send('auth', [tokens[i]!.body.data.token as string]));
        await Promise.all(clients.map((c) => c.event('status', 8000)));
        await Promise.all(clients.map((c) => c.event('console output', 8000)));
        const firsts = clients.map((c) => c.frames.slice(0, 2).map((f) => f.event).join(', '));
        const wrong = firsts.filter((f) => f !== 'auth success, status');
        assert.equal(wrong.length, 0, `dashboards that did not start with auth success, status: ${JSON.stringify(wrong)}`);
        for (const c of clients) assert.deepEqual(c.frames[1]!.args, ['running']);
      } finally {
        clearInterval(printing);
        for (const c of clients) c.close();
      }
    });
  });
}
