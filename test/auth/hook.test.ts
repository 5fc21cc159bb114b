/**
 * The connect hook (config `auth.hook`) against the test's own hook server: it grants, refuses,
 * stalls and goes down. A stalled or dead hook is the dialect's auth error, counted and logged,
 * never an open door; answers are cached by credential for their TTL; no credential is logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { FelixClient } from '../helpers/felix-client.ts';
import { PanelClient } from '../helpers/panel-client.ts';
import { P1, S1, captureLog, startAuthRelay, type AuthRelay } from '../helpers/auth-relay.ts';
import { HookServer } from '../helpers/auth-servers.ts';
import { useNatsServer } from '../helpers/nats-server.ts';

const GRANT = 'hook-credential-granted-7f3a';
const REFUSED = 'hook-credential-refused-91bc';
const HOOK_SECRET = 'relay-to-hook-shared-secret';

const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) describe(`auth.hook (${bus} bus)`, () => {
  let hook: HookServer;
  let r: AuthRelay;
  const log = captureLog();
  before(async () => {
    hook = await HookServer.start();
    hook.principals.set(GRANT, { name: 'dash-1', grants: [{ upstream: '*', resources: ['*'], permissions: ['websocket.connect', 'control.console'] }], ttlSeconds: 60 });
    r = await startAuthRelay({ auth: { hook: { url: hook.url, secret: HOOK_SECRET, timeoutMs: 1500 } }, log, bus, ...(bus === 'nats' ? { natsUrl: nats.url } : {}) });
  });
  after(async () => {
    await r.stop();
    await hook.close();
  });

  it('grants: every dialect accepts the hook\'s principal; the hook hears the context and the relay\'s secret', async () => {
    const calls = hook.calls.length;
    const ce = await CeClient.connect(r.ws('/cloudevents'), GRANT);
    assert.equal((await ce.request('subscribe', `wings.server.${S1}.>`)).op, 'subscribed');
    ce.ws.close();
    const felix = await FelixClient.connect(r.ws('/felix'), GRANT);
    felix.close();
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: GRANT });
    assert.equal((await v2.next()).action, 'AUTH_SUCCESS');
    v2.close();
    const token = await r.wingsToken(GRANT);
    assert.equal(token.status, 200);
    const payload = JSON.parse(Buffer.from(token.body.data.token.split('.')[1], 'base64url').toString());
    assert.deepEqual(payload.permissions.sort(), ['control.console', 'websocket.connect']);
    assert.equal(payload.user_uuid, 'hook:dash-1');
    // One call for all four: the answer is cached for its ttlSeconds.
    assert.equal(hook.calls.length, calls + 1);
    const call = hook.calls.at(-1)!;
    assert.equal(call.credential, GRANT);
    assert.equal(call.authorization, `Bearer ${HOOK_SECRET}`);
    assert.equal(call.context.listener, 'cloudevents');
    assert.equal(call.context.dialect, 'cloudevents');
    assert.equal(typeof call.context.remoteAddress, 'string');
  });

  it('refuses: each dialect answers with its own auth error', async () => {
    await assert.rejects(CeClient.connect(r.ws('/cloudevents'), REFUSED), (err: { status?: number }) => err.status === 401);
    assert.equal(await FelixClient.refusal(r.ws('/felix'), REFUSED), 403);
    assert.equal((await r.wingsToken(REFUSED)).status, 401);
    assert.equal((await r.ticket(REFUSED)).status, 401);
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: REFUSED });
    assert.deepEqual((await v2.next()).data, { message: 'invalid session' });
    assert.ok((await r.metric('hook', 'invalid')) >= 5);
  });

  for (const mode of ['slow', 'down'] as const) {
    it(`${mode}: the credential is refused (never an open door), counted and logged without the credential`, async () => {
      hook.mode = mode;
      try {
        const fresh = `hook-credential-${mode}-unseen`;
        hook.principals.set(fresh, { name: 'late', grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }], ttlSeconds: 60 });
        const before = await r.metric('hook', 'unavailable');
        await assert.rejects(CeClient.connect(r.ws('/cloudevents'), fresh), (err: { status?: number }) => err.status === 401);
        assert.equal(await FelixClient.refusal(r.ws('/felix'), fresh), 403);
        assert.equal((await r.wingsToken(fresh)).status, 401);
        const v2 = await PanelClient.connect(r.ws('/server/events'));
        v2.send('AUTHENTICATE', { sessionId: fresh });
        assert.equal((await v2.next()).action, 'AUTH_ERROR');
        // Not cached: each attempt asked again, and each was counted.
        assert.equal((await r.metric('hook', 'unavailable')) - before, 4);
        assert.ok(log.lines.some((l) => l.level === 'warn' && l.msg.startsWith('auth hook unavailable')));
        assert.equal(JSON.stringify(log.lines).includes(fresh), false, 'no credential in the log');
        // Back up: the same credential is admitted.
        hook.mode = 'answer';
        const ok = await CeClient.connect(r.ws('/cloudevents'), fresh);
        ok.ws.close();
      } finally {
        hook.mode = 'answer';
      }
    });
  }

  it('no credential of any kind reaches the log or a metric label', async () => {
    const text = JSON.stringify(log.lines);
    for (const secret of [GRANT, REFUSED, HOOK_SECRET]) assert.equal(text.includes(secret), false);
    const metrics = await r.relay.metrics.registry.metrics();
    for (const secret of [GRANT, REFUSED, HOOK_SECRET]) assert.equal(metrics.includes(secret), false);
    assert.match(metrics, /bridge_auth_source_results_total\{source="hook",result="ok"\}/);
  });
});

describe('auth.hook after static: a configured key never reaches the hook', () => {
  it('the static source answers first; the hook is asked only for what it does not know', async () => {
    const hook = await HookServer.start();
    const r = await startAuthRelay({ auth: { hook: { url: hook.url } }, sources: ['static', 'hook'] });
    try {
      const { STATIC_KEY } = await import('../helpers/auth-relay.ts');
      const c = await CeClient.connect(r.ws('/cloudevents'), STATIC_KEY);
      assert.equal((await c.request('subscribe', `semoxy.server.${P1}.>`)).op, 'subscribed');
      c.ws.close();
      assert.equal(hook.calls.length, 0);
      await assert.rejects(CeClient.connect(r.ws('/cloudevents'), 'neither-static-nor-hook'), (err: { status?: number }) => err.status === 401);
      assert.equal(hook.calls.length, 1);
    } finally {
      await r.stop();
      await hook.close();
    }
  });
});

describe('auth.hook re-checks open sessions (manual clock)', () => {
  it('a hook that is down keeps open sessions; one that refuses later ends them with 4116', async () => {
    const { ManualClock } = await import('../../src/clock.ts');
    const clock = new ManualClock(Date.now());
    const hook = await HookServer.start();
    const CRED = 'hook-credential-revoked-later';
    hook.principals.set(CRED, { name: 'temp', grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }], ttlSeconds: 30 });
    const r = await startAuthRelay({ auth: { hook: { url: hook.url, timeoutMs: 1500, maxCacheSeconds: 30 } }, sources: ['hook'], clock });
    try {
      const ce = await CeClient.connect(r.ws('/cloudevents'), CRED);
      const felix = await FelixClient.connect(r.ws('/felix'), CRED);
      hook.mode = 'down';
      await clock.advance(31_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(ce.ws.readyState, ce.ws.OPEN, 'no answer is no verdict on an open session');
      assert.equal(felix.ws.readyState, felix.ws.OPEN);
      hook.mode = 'answer';
      hook.principals.delete(CRED);
      await clock.advance(31_000);
      assert.equal((await ce.closed).code, 4116);
      assert.equal((await felix.closed).code, 4116);
      assert.ok((await r.metric('hook', 'session_expired')) >= 2);
    } finally {
      await r.stop();
      await hook.close();
    }
  });
});
