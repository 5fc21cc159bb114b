/**
 * Issue 9 soak: a churn of Wings connect/auth/close cycles read ~6 KB of heap per cycle that
 * stayed (10 000 cycles → +56 MiB) while Felix did not grow, which looked like a session leak.
 *
 * It was not the relay's: no heap snapshot showed the memory, and the first ordinary major GC, or a
 * plain `gc()`, gave it all back. The bench's memory probe (bench/process-hook.mjs) collected
 * only with `gc({type:'major', execution:'sync', …})`, which on Node 20 now and then leaves tens
 * of MB of garbage in old space (the same happens to a plain Map that many keys pass through, with
 * no relay code at all); the probe now ends with a plain `gc()` and the soak reads ~130 B/cycle.
 *
 * What this test pins, deterministically, so that a real leak of this kind cannot come in
 * unnoticed: after Wings sessions authenticated and closed, no Session object is reachable any
 * more (v8.queryObjects counts reachable instances after a full GC), the relay holds no open
 * session, and the hub has released the subscriptions they took. The probe is shown to see
 * sessions by counting them while they are open.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { queryObjects } from 'node:v8';
import { Session } from '../../src/downstream/session.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { linksReady, S1, startHarness, type Harness } from '../helpers/relay-harness.ts';

const SESSIONS = 40;

let h: Harness | undefined;
after(async () => h?.stop());

/** Reachable Session instances, after the full GC queryObjects runs first. */
function liveSessions(): number {
  // Node 20 marks queryObjects experimental; the count is what it has always been.
  return (queryObjects as (ctor: unknown, o: { format: 'count' }) => number)(Session, { format: 'count' });
}

test('Wings sessions that authenticated and closed are no longer reachable, and the relay holds nothing of them', async () => {
  h = await startHarness({ limits: { maxConnectionsPerAddress: 1000, connectRatePerAddress: { burst: 1000, refillMs: 1 } } });
  await linksReady(h);
  const token = (await h.token(S1)).body.data.token as string;
  const before = liveSessions();
  const subscriptionsBefore = h.relay.hub.subscriptions;

  const clients: WingsClient[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    const c = await WingsClient.connect(h.socketUrl(S1));
    c.send('auth', [token]);
    await c.event('auth success');
    clients.push(c);
  }
  assert.equal(h.relay.server.sessionCount, SESSIONS);
  assert.ok(liveSessions() >= before + SESSIONS, `the probe sees open sessions (${liveSessions()} < ${before + SESSIONS})`);

  // Half close, half vanish: both ends must free everything.
  for (const [i, c] of clients.entries()) (i % 2 === 0 ? c.close() : c.terminate());
  await Promise.all(clients.map((c) => c.closed));
  await eventually(() => h!.relay.server.sessionCount === 0, 4000, 'the relay sees every socket closed');

  // A closing socket is released over a few turns of the loop; then nothing may hold a session.
  await eventually(() => liveSessions() <= before, 4000, `no closed session reachable (still ${liveSessions() - before})`);
  assert.equal(h.relay.hub.subscriptions, subscriptionsBefore, 'the hub released the subscriptions of the closed sessions');
});
