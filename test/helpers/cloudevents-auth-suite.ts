/**
 * The CloudEvents listener's key in the first frame (`{"op":"auth","key"}`), for clients that
 * cannot set a header on the upgrade (the status page's live tail runs in a browser). Each case
 * runs on a relay of its own with a ManualClock, so the auth deadline is reached without sleeping
 * and failed keys from one case never count against another's address. Memory bus (test/e2e) and
 * a real nats-server (test/nats).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { ManualClock } from '../../src/clock.ts';
import { CeClient } from './cloudevents-client.ts';
import { ADMIN_KEY, S1, S2, VIEWER_KEY, startRelayA, type RelayHandle } from './cloudevents-harness.ts';
import { metricValue } from './felix-harness.ts';
import { within } from './frame-queue.ts';

const metrics = (h: RelayHandle) => h.metrics();
const downstream = (reason: string) => ({ dialect: 'cloudevents', direction: 'downstream', reason });

export function runCloudEventsFirstFrameAuth(bus: 'memory' | 'nats', natsUrl?: () => string): void {
  describe(`cloudevents key in the first frame (${bus} bus)`, () => {
    let a: (RelayHandle & { sim: WingsSimulator }) | undefined;
    let clock: ManualClock;
    const clients: CeClient[] = [];
    const start = async () => {
      clock = new ManualClock();
      a = await startRelayA({ bus, natsUrl: natsUrl?.(), clock });
      return a;
    };
    const open = async (h: RelayHandle) => {
      const c = await CeClient.connect(h.ws());
      clients.push(c);
      return c;
    };
    afterEach(async () => {
      for (const c of clients.splice(0)) c.ws.terminate();
      await a?.stop();
      a = undefined;
    });

    test('{"op":"auth"} is answered {"op":"authenticated"}; then the key\'s grants apply as with the header', async () => {
      const h = await start();
      const c = await open(h);
      c.send({ op: 'auth', key: VIEWER_KEY });
      assert.deepEqual((await c.next()).json, { op: 'authenticated' });
      assert.equal((await c.request('subscribe', `up.server.${S2}.console`)).code, 'BRIDGE_ERR_FORBIDDEN', 'the viewer has S1 only');
      await c.subscribe(`up.server.${S1}.console`);
      h.sim.console(S1, 'after first-frame auth');
      assert.deepEqual((await c.event()).data, { line: 'after first-frame auth' });
      c.send({ op: 'auth', key: ADMIN_KEY });
      const again = await c.next((f) => f.json?.op === 'error');
      assert.deepEqual([again.json.code, again.json.message], ['BRIDGE_ERR_BAD_FRAME', 'already authenticated'], 'a socket does not change its client');
    });

    test('a socket that has not authenticated by limits.authDeadlineMs is closed 4103; one that did stays', async () => {
      const h = await start();
      const deadline = h.relay.config.limits.authDeadlineMs;
      const silent = await open(h);
      const authed = await open(h);
      authed.send({ op: 'auth', key: ADMIN_KEY });
      await authed.next((f) => f.json?.op === 'authenticated');
      await clock.advance(deadline - 1);
      assert.equal(silent.ws.readyState, silent.ws.OPEN);
      await clock.advance(1);
      const closed = await within(silent.closed, 2000, () => 'the unauthenticated socket is still open');
      assert.equal(closed.code, 4103);
      assert.equal(authed.ws.readyState, authed.ws.OPEN);
      assert.equal(metricValue(await metrics(h), 'bridge_auth_failures_total', downstream('auth_timeout')), 1);
    });

    test('a wrong key is answered UNAUTHORIZED and counted, never echoed; a right one may follow; limits.authFailuresPerSocket wrong ones close 4115', async () => {
      const h = await start();
      const retry = await open(h);
      retry.send({ op: 'auth', key: 'wrong-key-1' });
      const refused = await retry.next();
      assert.deepEqual(refused.json, { op: 'error', code: 'BRIDGE_ERR_UNAUTHORIZED', message: 'the key is not known' });
      retry.send({ op: 'auth', key: ADMIN_KEY });
      assert.deepEqual((await retry.next()).json, { op: 'authenticated' });

      const guesser = await open(h);
      const limit = h.relay.config.limits.authFailuresPerSocket;
      for (let i = 0; i < limit; i++) guesser.send({ op: 'auth', key: `guess-${i}` });
      const closed = await within(guesser.closed, 2000, () => 'the guessing socket is still open');
      assert.equal(closed.code, 4115);
      assert.equal(guesser.frames.filter((f) => f.json?.code === 'BRIDGE_ERR_UNAUTHORIZED').length, limit);
      assert.ok(guesser.frames.every((f) => !f.raw.includes('guess-')), 'no key is echoed');
      assert.equal(metricValue(await metrics(h), 'bridge_auth_failures_total', downstream('auth')), 1 + limit);
    });
  });
}
