/**
 * Issue 9 ("timers in core go through the injected clock"): a slow consumer is closed 4108, and if
 * it never reads its backlog and the close frame, the relay cuts the socket after a grace. That
 * grace ran on a Node timer, so a test clock could not drive it and a stopped clock did not stop it.
 * It is on the relay's clock now: nothing happens until that clock passes the grace.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { eventually, type WingsClient } from '../helpers/wings-client.ts';
import { authed } from '../helpers/wings-e2e-suite.ts';

let h: Harness | undefined;
const clients: WingsClient[] = [];
after(async () => {
  for (const c of clients) c.terminate?.();
  await h?.stop();
});

test('the slow-consumer cut-off waits for the relay clock, then terminates the socket', async () => {
  const clock = new ManualClock();
  h = await startHarness({ clock, limits: { writeQueueBytes: 64 * 1024 } });
  await linksReady(h);
  const slow = await authed(h, S1);
  clients.push(slow);
  slow.ws.pause(); // stops reading: the kernel buffers fill, then the relay's queue
  const slowDrops = async () => (await h!.relay.metrics.eventsDropped.get()).values.find((v) => v.labels.reason === 'slow')?.value ?? 0;
  const line = 'y'.repeat(4000);
  for (let sent = 0; sent < 20_000 && (await slowDrops()) === 0; sent += 50) {
    for (let i = 0; i < 50; i++) h.sim.console(S1, line);
    await new Promise((r) => setImmediate(r));
  }
  assert.equal(await slowDrops(), 1, 'the session was closed as a slow consumer');
  // Real time passes, the relay clock does not: the socket waits for its peer (which never reads).
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(h.relay.server.sessionCount, 1, 'not cut while the relay clock stands still');
  await clock.advance(5000);
  await eventually(() => h!.relay.server.sessionCount === 0, 4000, 'the socket cut once the clock passed the grace');
});
