/**
 * App-issued JWTs (config `auth.jwt`) on every dialect that carries a credential, over real
 * sockets: HS256, RS256/ES256/EdDSA public keys, and a JWKS URL served by the test, whose key is
 * rotated. Expiry ends sessions in each dialect's own way, on an injected clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { FelixClient } from '../helpers/felix-client.ts';
import { PanelClient } from '../helpers/panel-client.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { P1, S1, S2, startAuthRelay, type AuthRelay } from '../helpers/auth-relay.ts';
import { useNatsServer } from '../helpers/nats-server.ts';
import { JwksServer, appToken, signingKey, type SigningKey } from '../helpers/auth-servers.ts';

const SECRET = 'app-hs256-secret-for-the-auth-tests';
const HS = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);
const ALL = [{ upstream: '*', resources: ['*'], permissions: ['*'] }];

const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) describe(`auth.jwt on every dialect (HS256, ${bus} bus)`, () => {
  let r: AuthRelay;
  before(async () => {
    r = await startAuthRelay({ auth: { jwt: { secret: SECRET, audience: 'bridge', issuer: 'https://app.example' } }, bus, ...(bus === 'nats' ? { natsUrl: nats.url } : {}) });
  });
  after(() => r.stop());
  const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'alice', aud: 'bridge', iss: 'https://app.example', iat: now(), exp: now() + 300, grants: ALL, ...extra });

  it('wings: the token endpoint mints a relay token with the JWT grant, never outliving it; console needs control.console', async () => {
    const grants = [{ upstream: 'wings', resources: [S1], permissions: ['websocket.connect'] }];
    const exp = now() + 120;
    const res = await r.wingsToken(await appToken(HS, claims({ grants, exp })));
    assert.equal(res.status, 200);
    const payload = JSON.parse(Buffer.from(res.body.data.token.split('.')[1], 'base64url').toString());
    assert.deepEqual(payload.permissions, ['websocket.connect']);
    assert.equal(payload.user_uuid, 'jwt:alice');
    assert.ok(payload.exp <= exp, 'the relay token ends no later than the app JWT');
    // Not granted S2: 404 as the panel answers a server the user cannot see.
    assert.equal((await r.wingsToken(await appToken(HS, claims({ grants, exp })), S2)).status, 404);
    await eventually(() => r.relay.supervisor.link('wings', 'server', S1)?.state === 'ready', 5000, 'link ready');
    const c = await WingsClient.connect(r.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [res.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['say hi']);
    // Without control.console the command is dropped, as Wings does.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(r.wings.received.filter((f) => f.event === 'send command').length, 0);
    c.close();
  });

  it('wings: a wrong signature, another audience or a missing exp is 401', async () => {
    const bad = new TextEncoder().encode('not-the-secret');
    assert.equal((await r.wingsToken(await appToken(bad, claims()))).status, 401);
    assert.equal((await r.wingsToken(await appToken(HS, claims({ aud: 'other' })))).status, 401);
    assert.equal((await r.wingsToken(await appToken(HS, claims({ iss: 'https://evil.example' })))).status, 401);
    const { exp: _exp, ...noExp } = claims();
    assert.equal((await r.wingsToken(await appToken(HS, noExp))).status, 401);
    assert.equal((await r.wingsToken(await appToken(HS, claims({ exp: now() - 10 })))).status, 401);
    assert.ok((await r.metric('jwt', 'expired')) >= 1);
    assert.ok((await r.metric('jwt', 'invalid')) >= 3);
  });

  it('felix: the raw Authorization header carries the JWT; a bad one is 403 before the upgrade', async () => {
    const c = await FelixClient.connect(r.ws('/felix'), await appToken(HS, claims({ grants: [{ upstream: 'bot', resources: ['*'], permissions: ['*'] }] })));
    c.send(20001);
    assert.equal((await c.next((f) => f.code === 10001)).code, 10001);
    c.close();
    assert.equal(await FelixClient.refusal(r.ws('/felix'), await appToken(new TextEncoder().encode('x'), claims())), 403);
    // A token whose grants do not name the listener's upstream is refused like a wrong key.
    assert.equal(await FelixClient.refusal(r.ws('/felix'), await appToken(HS, claims({ grants: [{ upstream: 'wings', resources: ['*'], permissions: ['*'] }] }))), 403);
  });

  it('cloudevents: Bearer on the upgrade and in the auth frame; subscriptions follow the JWT grants', async () => {
    const token = await appToken(HS, claims({ grants: [{ upstream: 'semoxy', resources: [P1], permissions: ['*'] }] }));
    const c = await CeClient.connect(r.ws('/cloudevents'), token);
    assert.equal((await c.request('subscribe', `semoxy.server.${P1}.>`)).op, 'subscribed');
    assert.equal((await c.request('subscribe', `wings.server.${S1}.>`)).code, 'BRIDGE_ERR_FORBIDDEN');
    c.ws.close();
    const b = await CeClient.connect(r.ws('/cloudevents'));
    b.send({ op: 'auth', key: token });
    assert.equal((await b.next((f) => f.json?.op === 'authenticated')).json.op, 'authenticated');
    b.ws.close();
    await assert.rejects(CeClient.connect(r.ws('/cloudevents'), await appToken(HS, claims({ exp: now() - 5 }))), (err: { status?: number }) => err.status === 401);
  });

  it('panel: a JWT buys a ticket (v1) and is an AUTHENTICATE sessionId (v2); an expired one is "session expired"', async () => {
    const token = await appToken(HS, claims({ grants: [{ upstream: 'semoxy', resources: ['*'], permissions: ['*'] }] }));
    const t = await r.ticket(token);
    assert.equal(t.status, 200);
    const v1 = await PanelClient.connect(r.ws(`/server/events?ticket=${t.body.data.token}`));
    v1.close();
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: token });
    assert.equal((await v2.next()).action, 'AUTH_SUCCESS');
    v2.close();
    const old = await PanelClient.connect(r.ws('/server/events'));
    old.send('AUTHENTICATE', { sessionId: await appToken(HS, claims({ exp: now() - 5 })) });
    const refused = await old.next();
    assert.deepEqual([refused.action, refused.data], ['AUTH_ERROR', { message: 'session expired' }]);
    assert.equal((await r.ticket(await appToken(HS, claims({ exp: now() - 5 })))).status, 401);
  });
});

describe('auth.jwt with public keys and a rotating JWKS', () => {
  let keys: Record<string, SigningKey>;
  let jwks: JwksServer;
  let r: AuthRelay;
  before(async () => {
    keys = { rs: await signingKey('rs-1', 'RS256'), es: await signingKey('es-1', 'ES256'), ed: await signingKey('ed-1', 'EdDSA'), a: await signingKey('jwks-a'), b: await signingKey('jwks-b', 'ES256') };
    jwks = await JwksServer.start([keys.a!]);
    r = await startAuthRelay({
      auth: {
        jwt: {
          publicKeys: [
            { alg: 'RS256', key: keys.rs!.pem, kid: 'rs-1' },
            { alg: 'ES256', key: keys.es!.pem, kid: 'es-1' },
            { alg: 'EdDSA', key: keys.ed!.pem },
          ],
          jwksUrl: jwks.url,
          jwksCooldownMs: 0,
        },
      },
    });
  });
  after(async () => {
    await r.stop();
    await jwks.close();
  });
  const token = (key: SigningKey) => appToken(key, { sub: `user-${key.kid}`, exp: now() + 300, iat: now(), grants: ALL });

  it('RS256, ES256 and EdDSA tokens verify with their configured public keys', async () => {
    for (const k of [keys.rs!, keys.es!, keys.ed!]) {
      const c = await CeClient.connect(r.ws('/cloudevents'), await token(k));
      assert.equal((await c.request('subscribe', `wings.server.${S1}.>`)).op, 'subscribed', k.alg);
      c.ws.close();
    }
  });

  it('a token signed with a key the set does not hold yet verifies once the set is re-fetched after a rotation', async () => {
    const c = await CeClient.connect(r.ws('/cloudevents'), await token(keys.a!));
    c.ws.close();
    const before = jwks.fetches;
    await assert.rejects(CeClient.connect(r.ws('/cloudevents'), await token(keys.b!)), (err: { status?: number }) => err.status === 401);
    jwks.rotate([keys.b!]);
    const d = await CeClient.connect(r.ws('/cloudevents'), await token(keys.b!));
    assert.equal((await d.request('subscribe', `bot.*.*.>`)).op, 'subscribed');
    d.ws.close();
    assert.ok(jwks.fetches > before, 'the key set was fetched again');
  });
});

describe('auth.jwt expiry ends sessions in the dialect\'s own way (manual clock)', () => {
  const clock = new ManualClock(Date.now());
  let r: AuthRelay;
  before(async () => {
    r = await startAuthRelay({ auth: { jwt: { secret: SECRET } }, clock });
  });
  after(() => r.stop());
  const soon = () => appToken(HS, { sub: 'brief', iat: Math.floor(clock.now() / 1000), exp: Math.floor(clock.now() / 1000) + 20, grants: ALL });

  it('cloudevents and felix close 4116; panel v2 says AUTH_ERROR "session expired" and closes 4116', async () => {
    const ce = await CeClient.connect(r.ws('/cloudevents'), await soon());
    const felix = await FelixClient.connect(r.ws('/felix'), await soon());
    const v2 = await PanelClient.connect(r.ws('/server/events'));
    v2.send('AUTHENTICATE', { sessionId: await soon() });
    assert.equal((await v2.next()).action, 'AUTH_SUCCESS');
    await clock.advance(10_000);
    assert.equal(ce.ws.readyState, ce.ws.OPEN, 'still open before exp');
    await clock.advance(11_000);
    assert.equal((await ce.closed).code, 4116);
    assert.equal((await felix.closed).code, 4116);
    const last = await v2.next();
    assert.deepEqual([last.action, last.data], ['AUTH_ERROR', { message: 'session expired' }]);
    assert.equal((await v2.closed).code, 4116);
    assert.ok((await r.metric('jwt', 'session_expired')) >= 3);
  });
});
