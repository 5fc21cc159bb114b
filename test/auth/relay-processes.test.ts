/**
 * Pterodactyl pass-through across two relay processes (test/helpers/relay-cluster.ts) on one real
 * nats-server, in front of one Wings simulator playing the real panel with per-user keys: a token
 * a user got on one relay works on the other only through its signature (the shared jwtSecret),
 * with the permissions the panel gave; each relay asks the panel for itself (nothing is cached
 * across nodes); Wings sees one socket per server; no key reaches a relay's log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { useNatsServer } from '../helpers/nats-server.ts';
import { JWT_SECRET, RelayProcess, untilLinks } from '../helpers/relay-cluster.ts';
import { S1, startUpstreams, until, type Upstreams } from '../helpers/cluster-upstreams.ts';
import { WingsClient } from '../helpers/wings-client.ts';

const ALICE = 'ptlc_process_alice_key_00000000000000';
const BOB = 'ptlc_process_bob_key_0000000000000000';
const prefix = `pt${randomBytes(3).toString('hex')}`;

describe('pass-through across relay processes', () => {
  const nats = useNatsServer();
  let up: Upstreams;
  let relays: RelayProcess[] = [];
  before(async () => {
    up = await startUpstreams(JWT_SECRET);
    up.wings.setUser(ALICE, { [S1]: ['websocket.connect', 'control.console'] }, 'alice-uuid');
    up.wings.setUser(BOB, { [S1]: ['websocket.connect'] }, 'bob-uuid');
    const listeners = (up.listeners as Record<string, unknown>[]).map((l) => (l.dialect === 'wings' ? { ...l, auth: ['static', 'panel'] } : l));
    relays = await Promise.all(
      ['pa', 'pb'].map((id) => RelayProcess.start({ id, natsUrls: [nats.url], prefix, leaseTtlMs: 3000, replicas: 1, upstreams: up.upstreams, listeners, auth: { panel: { cacheSeconds: 60 } } })),
    );
    await untilLinks(relays, 'up', S1, (ls) => ls.filter((l) => l?.ownership === 'owned' && l.state === 'ready').length === 1, 20_000, 'one owner of S1');
  });
  after(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await up?.close();
  });

  const token = async (relay: RelayProcess, key: string) => {
    const res = await fetch(`${relay.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { data: { token: string } }).data.token;
  };
  const connect = async (relay: RelayProcess, jwt: string) => {
    const c = await WingsClient.connect(`${relay.url.replace(/^http/, 'ws')}/api/servers/${S1}/ws`);
    c.send('auth', [jwt]);
    await c.event('auth success', 10_000);
    return c;
  };

  test('a user\'s token from one relay works on the other, with exactly the panel\'s permissions', async () => {
    const [a, b] = relays as [RelayProcess, RelayProcess];
    const alice = await connect(b, await token(a, ALICE));
    alice.send('send command', ['alice across relays']);
    await until(() => up.wings.received.some((f) => f.event === 'send command' && f.args[0] === 'alice across relays'), 10_000, 'alice\'s command upstream');
    const bob = await connect(a, await token(b, BOB));
    bob.send('send command', ['bob across relays']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(up.wings.received.filter((f) => f.args[0] === 'bob across relays').length, 0, 'no control.console, no command');
    alice.close();
    bob.close();
  });

  test('each relay asks the panel for itself, once per period; Wings sees one socket; no key in any log', async () => {
    const [a, b] = relays as [RelayProcess, RelayProcess];
    for (const relay of [a, b, a, b]) await token(relay, ALICE);
    assert.equal(up.wings.tokenRequests(ALICE), 2, 'one request per relay');
    assert.equal(up.wings.connectionCount(S1), 1);
    up.assertNeverTwoSockets();
    const logs = JSON.stringify([...a.logs, ...b.logs]);
    for (const key of [ALICE, BOB]) assert.equal(logs.includes(key), false);
  });
});
