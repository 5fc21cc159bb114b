/**
 * Issue 9, defect 4 (the auth deadline): sockets that never authenticated were kept forever
 * except in the Wings 1.12 profile (3 000 from one address stayed open), and the panel v2 listener
 * had no AUTHENTICATE deadline.
 *
 * Now the core closes every socket that takes its credential after the upgrade and has not
 * presented it by the deadline: 4103, counted as bridge_auth_failures_total{reason="auth_timeout"}.
 * Wings keeps its own 30 s (`authDeadlineMs`) in both profiles; the panel v2 handshake gets
 * `limits.authDeadlineMs`. Sockets authenticated at the upgrade (panel v1 tickets) are not cut.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { metricValue } from '../helpers/felix-harness.ts';
import { within } from '../helpers/frame-queue.ts';
import { PanelClient, closeAll } from '../helpers/panel-client.ts';
import { startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient } from '../helpers/wings-client.ts';

const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text();

describe('wings listener, default (1.11) profile', () => {
  let h: Harness | undefined;
  const clients: WingsClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    await h?.stop();
    h = undefined;
  });

  test('a socket that has not authenticated within 30 s is closed 4103; an authenticated one stays', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock });
    await linksReady(h);
    const silent = await WingsClient.connect(h.socketUrl(S1));
    const authed = await WingsClient.connect(h.socketUrl(S1));
    clients.push(silent, authed);
    authed.send('auth', [(await h.token(S1)).body.data.token]);
    await authed.event('auth success');
    await clock.advance(29_999);
    assert.equal(silent.ws.readyState, silent.ws.OPEN);
    await clock.advance(1);
    const closed = await within(silent.closed, 2000, () => 'the unauthenticated socket is still open');
    assert.deepEqual(closed, { code: 4103, reason: 'authentication timeout: not authenticated within 30000 ms' });
    assert.equal(authed.ws.readyState, authed.ws.OPEN, 'an authenticated socket is not cut');
    const metrics = await metricsOf(h.relay.url);
    assert.equal(metricValue(metrics, 'bridge_auth_failures_total', { dialect: 'wings', direction: 'downstream', reason: 'auth_timeout' }), 1);
  });
});

describe('panel listener', () => {
  let h: PanelHarness | undefined;
  const clients: PanelClient[] = [];
  afterEach(async () => {
    await closeAll(clients);
    await h?.stop();
    h = undefined;
  });

  test('a v2 socket without AUTHENTICATE is closed 4103 at limits.authDeadlineMs; v2 after AUTH_SUCCESS and v1 stay', async () => {
    h = await startPanelHarness();
    const deadline = h.relay.config.limits.authDeadlineMs;
    const silent = await PanelClient.connect(h.eventsUrl());
    const v2 = await h.v2();
    const v1 = await h.v1();
    clients.push(silent, v2, v1);
    await h.clock.advance(deadline - 1);
    assert.equal(silent.ws.readyState, silent.ws.OPEN);
    await h.clock.advance(1);
    const closed = await within(silent.closed, 2000, () => 'the unauthenticated v2 socket is still open');
    assert.equal(closed.code, 4103);
    assert.equal(v2.ws.readyState, v2.ws.OPEN);
    assert.equal(v1.ws.readyState, v1.ws.OPEN);
    const metrics = await metricsOf(h.relay.url);
    assert.equal(metricValue(metrics, 'bridge_auth_failures_total', { dialect: 'panel', direction: 'downstream', reason: 'auth_timeout' }), 1);
  });
});
