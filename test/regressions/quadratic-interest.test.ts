/**
 * Issue 9, defect 3: a Felix dashboard sending `20002` with ~1 000 ids many times a second
 * stalled the event loop (array `includes`/`concat`/`filter` per id, the union rebuilt and sorted
 * twice per change) and forwarded every change upstream: one list change sent three `20002`
 * frames in the same millisecond.
 *
 * Now the union is reference-counted, interest changes are rate-limited per session
 * (`limits.interestRate`) and coalesced per upstream: Felix gets at most one `20002` per
 * `limits.interestCoalesceMs` window, carrying the final union.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { listenUpdates, metricValue, startFelixRelay, type FelixHarness } from '../helpers/felix-harness.ts';
import { waitFor, type FelixClient } from '../helpers/felix-client.ts';

/** Frames the flooder sends: well within the inbound burst, so every one reaches the session. */
const ROUNDS = 60;
const ids = (prefix: string, round: number, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${round}-${i}`);
const sorted = (list: Iterable<string>) => [...list].sort();

let h: FelixHarness | undefined;
const clients: FelixClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await h?.stop();
});

test('a dashboard sending 1 000-id 20002s over and over: one 20002 per window with the final union; a watcher keeps receiving', async () => {
  const clock = new ManualClock();
  h = await startFelixRelay({ clock });
  const { interestCoalesceMs, interestRate } = h.relay.config.limits;
  const watcher = await h.connect();
  clients.push(watcher);
  watcher.listen([], ['gw']);
  await h.interestSettled(watcher);
  await waitFor(() => h!.sim.listening().guilds.includes('gw'), 'the watcher\'s guild asked for');

  const flooder = await h.connect();
  clients.push(flooder);
  const sentBefore = listenUpdates(h.sim).length;
  const started = Date.now();
  for (let round = 0; round < ROUNDS; round++) flooder.listen(ids('u', round, 500), ids('g', round, 500));
  await flooder.roundTrip(); // every 20002 before it has been handled
  const handledMs = Date.now() - started;

  await waitFor(() => listenUpdates(h!.sim).length > sentBefore, 'the first change reached Felix');
  // Give any further 20002 the relay would send in this window time to arrive.
  await watcher.roundTrip();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(listenUpdates(h.sim).length - sentBefore, 1, 'one 20002 in the first window, however many changes');

  // Past the session's interest rate the changes were dropped; the last one accepted is the union,
  // and it reaches Felix when the window ends (unless the first 20002 already carried it).
  const accepted = interestRate.burst;
  const final = { users: sorted(ids('u', accepted - 1, 500)), guilds: sorted(['gw', ...ids('g', accepted - 1, 500)]) };
  const lastSent = () => {
    const last = listenUpdates(h!.sim).at(-1)!;
    return { users: sorted(last.users), guilds: sorted(last.guilds) };
  };
  await clock.advance(interestCoalesceMs);
  await waitFor(() => JSON.stringify(lastSent()) === JSON.stringify(final), 'the final union at Felix');
  assert.ok(listenUpdates(h.sim).length - sentBefore <= 2, 'at most one more 20002 for the second window');
  const afterTwo = listenUpdates(h.sim).length;
  await clock.advance(interestCoalesceMs * 5);
  await watcher.roundTrip();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(listenUpdates(h.sim).length, afterTwo, 'nothing more without a change');
  assert.deepEqual(lastSent(), final);
  const metrics = await h.metrics();
  assert.equal(metricValue(metrics, 'bridge_limit_hits_total', { limit: 'interestRate' }), ROUNDS - accepted);
  assert.equal(metricValue(metrics, 'bridge_events_dropped_total', { dialect: 'felix', direction: 'downstream', reason: 'throttled' }), ROUNDS - accepted);
  assert.ok(handledMs < 2000, `the relay handled the flood promptly (${handledMs} ms)`);

  // The watcher still gets its updates, and the flooder those of its last accepted list.
  h.sim.updateGuild('gw', { still: 'here' });
  assert.deepEqual((await watcher.code(10002)).data, { guildID: 'gw', guildData: { still: 'here' } });
  h.sim.updateUser(`u${accepted - 1}-7`, { n: 1 });
  assert.equal((await flooder.code(10003)).data.userID, `u${accepted - 1}-7`);
});
