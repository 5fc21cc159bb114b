/**
 * Pterodactyl pass-through (config `auth.panel` on a Wings upstream): dashboards present their own
 * panel client API keys at the relay's token endpoint; the Wings simulator is the real panel, with
 * per-user keys and per-server permissions. The relay's token carries exactly the user's
 * permissions; the panel sees one token request per user and server per cache period; Wings sees
 * one socket per server however many dashboards there are.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { S1, S2, startAuthRelay, type AuthRelay } from '../helpers/auth-relay.ts';
import { useNatsServer } from '../helpers/nats-server.ts';

const ALICE = 'ptlc_alice_client_key_000000000000';
const BOB = 'ptlc_bob_client_key_0000000000000000';
const CAROL = 'ptlc_carol_client_key_00000000000000';
const DAVE = 'ptlc_dave_client_key_000000000000000';

function claims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
}

async function commandsSeen(r: AuthRelay, line: string, waitMs = 300): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  return r.wings.received.filter((f) => f.event === 'send command' && f.args[0] === line).length;
}

const nats = useNatsServer();

for (const bus of ['memory', 'nats'] as const) describe(`Pterodactyl pass-through (${bus} bus)`, () => {
  let r: AuthRelay;
  before(async () => {
    r = await startAuthRelay({ auth: { panel: { cacheSeconds: 60 } }, sources: ['static', 'panel'], bus, ...(bus === 'nats' ? { natsUrl: nats.url } : {}) });
    r.wings.setUser(ALICE, { [S1]: ['websocket.connect', 'control.console', 'control.start'], [S2]: ['websocket.connect'] }, 'alice-uuid');
    r.wings.setUser(BOB, { [S1]: ['websocket.connect'] }, 'bob-uuid');
    r.wings.setUser(CAROL, { [S2]: ['websocket.connect', 'control.console'] }, 'carol-uuid');
    r.wings.setUser(DAVE, { [S1]: ['control.console'] }, 'dave-uuid');
    await eventually(() => r.relay.supervisor.link('wings', 'server', S1)?.state === 'ready', 5000, 'link ready');
  });
  after(() => r.stop());

  it('the relay token carries exactly the user\'s permissions on that server; a console user can send commands', async () => {
    const res = await r.wingsToken(ALICE);
    assert.equal(res.status, 200);
    const t = claims(res.body.data.token);
    assert.deepEqual([...t.permissions].sort(), ['control.console', 'control.start', 'websocket.connect']);
    assert.equal(t.user_uuid, 'panel:wings:alice-uuid');
    assert.equal(t.server_uuid, S1);
    // The panel's own token never reaches the dashboard: the relay signs its own.
    assert.notEqual(res.body.data.token, r.wings.lastToken);
    assert.deepEqual(claims((await r.wingsToken(ALICE, S2)).body.data.token).permissions, ['websocket.connect']);
    const c = await WingsClient.connect(r.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [res.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['say from alice']);
    await eventually(() => r.wings.received.some((f) => f.event === 'send command' && f.args[0] === 'say from alice'), 4000, 'alice\'s command upstream');
    c.close();
  });

  it('a user without control.console cannot send commands through the relay', async () => {
    const res = await r.wingsToken(BOB);
    assert.deepEqual(claims(res.body.data.token).permissions, ['websocket.connect']);
    const c = await WingsClient.connect(r.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [res.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['say from bob']);
    assert.equal(await commandsSeen(r, 'say from bob'), 0);
    c.close();
  });

  it('no access is the panel-shaped 404, no websocket.connect the 403, an unknown key 401', async () => {
    const carol = await r.wingsToken(CAROL, S1);
    assert.equal(carol.status, 404);
    assert.equal(carol.body.errors[0].code, 'NotFoundHttpException');
    assert.equal((await r.wingsToken(CAROL, S2)).status, 200);
    const dave = await r.wingsToken(DAVE, S1);
    assert.equal(dave.status, 403);
    assert.equal(dave.body.errors[0].status, '403');
    const nobody = await r.wingsToken('ptlc_nobody_key_0000000000000000000');
    assert.equal(nobody.status, 401);
    assert.equal(nobody.body.errors[0].code, 'AuthenticationException');
    assert.ok((await r.metric('panel', 'not_found')) >= 1);
    assert.ok((await r.metric('panel', 'forbidden')) >= 1);
  });

  it('many dashboards of many users on one server: one Wings socket, one panel request per user per period', async () => {
    const users = Array.from({ length: 6 }, (_, i) => `ptlc_many_user_${i}_key_0000000000000`);
    for (const [i, key] of users.entries()) r.wings.setUser(key, { [S1]: ['websocket.connect', 'control.console'] }, `many-${i}`);
    const tabs = users.flatMap((key) => Array.from({ length: 5 }, () => key));
    const clients = await Promise.all(
      tabs.map(async (key) => {
        const res = await r.wingsToken(key);
        assert.equal(res.status, 200);
        const c = await WingsClient.connect(r.ws(`/api/servers/${S1}/ws`));
        c.send('auth', [res.body.data.token]);
        await c.event('auth success');
        return c;
      }),
    );
    for (const key of users) assert.equal(r.wings.tokenRequests(key), 1, 'one panel request per user however many tabs');
    assert.equal(r.wings.connectionCount(S1), 1, 'Wings still sees one socket for the server');
    assert.equal(r.wings.peakConnections(S1), 1);
    r.wings.console(S1, 'line for everyone');
    await Promise.all(clients.map((c) => c.next((f) => f.event === 'console output' && f.args?.[0] === 'line for everyone')));
    for (const c of clients) c.close();
  });
});

describe('Pterodactyl pass-through: what the panel takes away is gone at the next refresh (manual clock)', () => {
  const clock = new ManualClock();
  let r: AuthRelay;
  const REV = 'ptlc_revoked_user_key_0000000000000';
  before(async () => {
    r = await startAuthRelay({ auth: { panel: { cacheSeconds: 30 } }, sources: ['panel'], clock });
    r.wings.setUser(REV, { [S1]: ['websocket.connect', 'control.console'] }, 'rev-uuid');
    await eventually(() => r.relay.supervisor.link('wings', 'server', S1)?.state === 'ready', 5000, 'link ready');
  });
  after(() => r.stop());

  it('a revoked permission holds until the cache period ends, then the refreshed token lacks it; a removed key is refused', async () => {
    const first = await r.wingsToken(REV);
    const c = await WingsClient.connect(r.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [first.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['before revocation']);
    await eventually(() => r.wings.received.some((f) => f.args[0] === 'before revocation'), 4000, 'command before revocation');

    r.wings.setUser(REV, { [S1]: ['websocket.connect'] }, 'rev-uuid');
    await clock.advance(10_000);
    assert.ok(claims((await r.wingsToken(REV)).body.data.token).permissions.includes('control.console'), 'still cached');
    assert.equal(r.wings.tokenRequests(REV), 1);

    await clock.advance(21_000);
    const refreshed = await r.wingsToken(REV);
    assert.deepEqual(claims(refreshed.body.data.token).permissions, ['websocket.connect']);
    assert.equal(r.wings.tokenRequests(REV), 2);
    c.send('auth', [refreshed.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['after revocation']);
    assert.equal(await commandsSeen(r, 'after revocation'), 0);
    c.close();

    r.wings.setUser(REV, { [S2]: ['websocket.connect'] }, 'rev-uuid');
    await clock.advance(31_000);
    assert.equal((await r.wingsToken(REV)).status, 404);
    r.wings.removeUser(REV);
    await clock.advance(31_000);
    assert.equal((await r.wingsToken(REV)).status, 401);
  });
});
