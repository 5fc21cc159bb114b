/**
 * Principals in a cluster, on the NATS bus: two relay nodes share a real nats-server and the
 * simulators (node A runs them; node B uses their endpoints). A principal established on one node
 * is honoured on the other only through the same checks (the relay token's signature, the app
 * JWT's), commands reach the one link over the bus, and nothing is cached across nodes: each node
 * asks the panel for itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { useNatsServer } from '../helpers/nats-server.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { RELAY_JWT_SECRET, S1, startAuthRelay, type AuthRelay } from '../helpers/auth-relay.ts';
import { appToken } from '../helpers/auth-servers.ts';

const nats = useNatsServer();
const ALICE = 'ptlc_cluster_alice_key_0000000000000';
const BOB = 'ptlc_cluster_bob_key_000000000000000';
const APP_SECRET = 'cluster-app-jwt-secret';

describe('principals across two nodes on NATS', () => {
  let a: AuthRelay;
  let b: AuthRelay;
  before(async () => {
    const prefix = `c${randomBytes(4).toString('hex')}`;
    const auth = { panel: { cacheSeconds: 60 }, jwt: { secret: APP_SECRET } };
    a = await startAuthRelay({ auth, bus: 'nats', natsUrl: nats.url, prefix, nodeId: 'node-a' });
    b = await startAuthRelay({ auth, bus: 'nats', natsUrl: nats.url, prefix, nodeId: 'node-b', simulators: a.endpoints });
    a.wings.setUser(ALICE, { [S1]: ['websocket.connect', 'control.console'] }, 'alice-uuid');
    a.wings.setUser(BOB, { [S1]: ['websocket.connect'] }, 'bob-uuid');
    await eventually(() => a.wings.connectionCount(S1) === 1, 10_000, 'one node holds the S1 link');
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('a token minted on node A works on node B through the same signature check; commands reach the one link', async () => {
    const res = await a.wingsToken(ALICE);
    assert.equal(res.status, 200);
    const c = await WingsClient.connect(b.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [res.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['alice via node b']);
    await eventually(() => a.wings.received.some((f) => f.event === 'send command' && f.args[0] === 'alice via node b'), 8000, 'command upstream');
    c.close();
  });

  it('permissions travel in the token, so node B enforces what the panel gave on node A', async () => {
    const res = await a.wingsToken(BOB);
    const c = await WingsClient.connect(b.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [res.body.data.token]);
    await c.event('auth success');
    c.send('send command', ['bob via node b']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(a.wings.received.filter((f) => f.args[0] === 'bob via node b').length, 0);
    c.close();
  });

  it('a token not signed with the shared secret is refused on node B, whatever it claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ server_uuid: S1, permissions: ['*'], user_uuid: 'panel:wings:alice-uuid', iat: now, exp: now + 300, scope: 'websocket' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(`${RELAY_JWT_SECRET}-not`));
    const c = await WingsClient.connect(b.ws(`/api/servers/${S1}/ws`));
    c.send('auth', [forged]);
    const answer = await c.next((f) => f.event === 'daemon error' || f.event === 'auth success');
    assert.equal(answer.event, 'daemon error');
    c.close();
  });

  it('nothing is cached across nodes: node B asks the panel for itself, once per period', async () => {
    const before = a.wings.tokenRequests(ALICE);
    assert.equal((await b.wingsToken(ALICE)).status, 200);
    assert.equal((await b.wingsToken(ALICE)).status, 200);
    assert.equal(a.wings.tokenRequests(ALICE) - before, 1);
    // …and the upstream still sees one socket per server for the whole cluster.
    assert.equal(a.wings.connectionCount(S1), 1);
  });

  it('an app JWT is verified by each node on its own', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await appToken(new TextEncoder().encode(APP_SECRET), { sub: 'app-user', iat: now, exp: now + 300, grants: [{ upstream: 'wings', resources: [S1], permissions: ['*'] }] });
    for (const node of [a, b]) {
      const c = await CeClient.connect(node.ws('/cloudevents'), token);
      assert.equal((await c.request('subscribe', `wings.server.${S1}.>`)).op, 'subscribed');
      c.ws.close();
    }
    assert.equal(await a.metric('jwt', 'ok'), 1);
    assert.equal(await b.metric('jwt', 'ok'), 1);
  });
});
