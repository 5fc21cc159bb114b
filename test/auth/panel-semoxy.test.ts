/**
 * Semoxy pass-through (config `auth.panel` on a panel upstream): a dashboard's own Semoxy session
 * is checked against the real panel (the panel simulator) with a ticket request, cached per
 * session hash; the relay's own link keeps its own session. Manual clock for the cache period.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { HTTP_BODIES, PanelClient } from '../helpers/panel-client.ts';
import { eventually } from '../helpers/wings-client.ts';
import { useNatsServer } from '../helpers/nats-server.ts';
import { P1, S1, USER_SESSIONS, startAuthRelay, type AuthRelay } from '../helpers/auth-relay.ts';

const [ALICE, BOB] = USER_SESSIONS;

const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) describe(`Semoxy pass-through (${bus} bus)`, () => {
  const clock = new ManualClock();
  let r: AuthRelay;
  before(async () => {
    r = await startAuthRelay({ auth: { panel: { cacheSeconds: 30 } }, sources: ['static', 'panel'], clock, bus, ...(bus === 'nats' ? { natsUrl: nats.url } : {}) });
    await eventually(() => r.relay.supervisor.link('semoxy', 'panel', '_')?.state === 'ready', 5000, 'semoxy link ready');
  });
  after(() => r.stop());

  it('a user\'s own session buys a ticket (v1) and is an AUTHENTICATE sessionId (v2); events reach them', async () => {
    const t = await r.ticket(ALICE);
    assert.equal(t.status, 200);
    const v1 = await PanelClient.connect(r.ws(`/server/events?ticket=${t.body.data.token}`));
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: ALICE });
    assert.equal((await v2.next()).action, 'AUTH_SUCCESS');
    v2.send('ENABLE_INTENT', { intent: 'console.*' });
    await v2.next((f) => f.action === 'INTENT_ENABLED');
    r.semoxy.console(P1, 'hello alice');
    assert.equal((await v1.next((f) => f.action === 'CONSOLE_LINE')).data.message, 'hello alice');
    await v2.next((f) => f.action === 'CONSOLE_MESSAGE');
    v1.close();
    v2.close();
  });

  it('an unknown session is Semoxy\'s 401 "Not Logged In" and AUTH_ERROR "invalid session"', async () => {
    const t = await r.ticket('semoxy-nobody');
    assert.equal(t.status, 401);
    assert.deepEqual(t.body, HTTP_BODIES.notLoggedIn);
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: 'semoxy-nobody' });
    assert.deepEqual((await v2.next()).data, { message: 'invalid session' });
    assert.equal((await v2.closed).code, 1008);
  });

  it('the principal sees the Semoxy upstream only (cloudevents)', async () => {
    const c = await CeClient.connect(r.ws('/cloudevents'), BOB);
    assert.equal((await c.request('subscribe', `semoxy.server.${P1}.>`)).op, 'subscribed');
    assert.equal((await c.request('subscribe', `wings.server.${S1}.>`)).code, 'BRIDGE_ERR_FORBIDDEN');
    c.ws.close();
  });

  it('many tabs of one user: one ticket request to the panel per cache period; an expired session is refused after it', async () => {
    await clock.advance(31_000);
    const before = r.semoxy.ticketsIssued;
    const tabs = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        if (i % 2 === 0) return (await r.ticket(ALICE)).status;
        const v2 = await PanelClient.connect(r.ws('/server/events'));
        v2.send('AUTHENTICATE', { sessionId: ALICE });
        const action = (await v2.next()).action;
        v2.close();
        return action;
      }),
    );
    assert.deepEqual(tabs, [200, 'AUTH_SUCCESS', 200, 'AUTH_SUCCESS', 200, 'AUTH_SUCCESS', 200, 'AUTH_SUCCESS']);
    assert.equal(r.semoxy.ticketsIssued - before, 1);

    r.semoxy.expireSession(ALICE);
    assert.equal((await r.ticket(ALICE)).status, 200, 'cached until the period ends');
    await clock.advance(31_000);
    assert.equal((await r.ticket(ALICE)).status, 401);
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: ALICE });
    assert.equal((await v2.next()).action, 'AUTH_ERROR');
  });

  it('an open v2 session is re-checked once per cache period: when the panel ends the session, so does the relay', async () => {
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: BOB });
    assert.equal((await v2.next()).action, 'AUTH_SUCCESS');
    const kept = await PanelClient.connect(r.ws('/server/events'));
    kept.send('AUTHENTICATE', { sessionId: BOB });
    assert.equal((await kept.next()).action, 'AUTH_SUCCESS');
    kept.close();
    await clock.advance(31_000);
    // Still valid at the panel: the session stays.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(v2.ws.readyState, v2.ws.OPEN);
    r.semoxy.expireSession(BOB);
    await clock.advance(31_000);
    const last = await v2.next((f) => f.action === 'AUTH_ERROR');
    assert.deepEqual(last.data, { message: 'session expired' });
    assert.equal((await v2.closed).code, 4116);
    assert.ok((await r.metric('panel', 'session_expired')) >= 1);
  });
});
