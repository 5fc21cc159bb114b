/**
 * Issue 9, defect 10 (token times): the Wings listener accepted a token whose `iat` was in the
 * future and one whose `exp` was years away. Tokens the relay verifies itself now need `iat` at
 * most `limits.clockSkewSeconds` ahead and `exp - iat` at most `limits.maxTokenLifetimeSeconds`;
 * a dashboard presenting another sees what Wings shows for a token it cannot accept (a generic
 * `daemon error`), and the failure is counted.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { signJwt, verifyJwt } from '../../src/auth/jwt.ts';
import { JWT_SECRET, S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient } from '../helpers/wings-client.ts';
import { GENERIC_DAEMON_ERROR } from '../../adapters/wings/vocabulary.ts';

const SKEW = 60;
const MAX_LIFETIME = 3600;

let h: Harness | undefined;
const clients: WingsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await h?.stop();
  h = undefined;
});

async function authFailures(harness: Harness, reason: string): Promise<number> {
  const m = await harness.relay.metrics.authFailures.get();
  return m.values.find((v) => v.labels.dialect === 'wings' && v.labels.reason === reason)?.value ?? 0;
}

describe('the Wings listener bounds a token\'s time claims', () => {
  async function tryAuth(claims: { iat?: number; exp?: number }): Promise<string> {
    const token = await signJwt(JWT_SECRET, { server_uuid: S1, permissions: ['*'], scope: 'websocket', ...claims }, h!.relay.clock);
    const c = await WingsClient.connect(h!.socketUrl(S1));
    clients.push(c);
    c.send('auth', [token]);
    const answer = await c.next((f) => f.event === 'auth success' || f.event === 'daemon error' || f.event === 'jwt error');
    return answer.event === 'auth success' ? 'accepted' : `${answer.event}: ${answer.args?.[0] ?? ''}`;
  }

  test('iat beyond the allowed skew, or a lifetime beyond the maximum, gets a generic daemon error', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ clock, limits: { clockSkewSeconds: SKEW, maxTokenLifetimeSeconds: MAX_LIFETIME } });
    await linksReady(h);
    const now = Math.floor(clock.now() / 1000);
    const refused = `daemon error: ${GENERIC_DAEMON_ERROR}`;

    assert.equal(await tryAuth({ iat: now + SKEW + 3600, exp: now + SKEW + 4000 }), refused, 'iat an hour ahead');
    assert.equal(await authFailures(h, 'issued_in_future'), 1);
    assert.equal(await tryAuth({ iat: now, exp: now + 10 * 365 * 86400 }), refused, 'exp ten years away');
    assert.equal(await tryAuth({ iat: now - 30 * 86400, exp: now + 600 }), refused, 'a month between iat and exp');
    assert.equal(await authFailures(h, 'lifetime'), 2);

    // The edges are accepted: a small skew, and exactly the maximum lifetime.
    assert.equal(await tryAuth({ iat: now + SKEW, exp: now + 600 }), 'accepted');
    assert.equal(await tryAuth({ iat: now, exp: now + MAX_LIFETIME }), 'accepted');
  });

  test('tokens from the relay\'s own endpoint are accepted as before', async () => {
    h = await startHarness({ limits: { clockSkewSeconds: SKEW, maxTokenLifetimeSeconds: MAX_LIFETIME } });
    await linksReady(h);
    const { body } = await h.token(S1);
    const c = await WingsClient.connect(body.data.socket);
    clients.push(c);
    c.send('auth', [body.data.token]);
    await c.event('auth success');
  });
});

describe('verifyJwt with a token policy', () => {
  const SECRET = 'policy-secret';
  const policy = { clockSkewSeconds: SKEW, maxLifetimeSeconds: MAX_LIFETIME };

  test('names why a token\'s times are refused, and keeps the old checks first', async () => {
    const clock = new ManualClock();
    const now = Math.floor(clock.now() / 1000);
    const sign = (claims: Record<string, unknown>) => signJwt(SECRET, claims, clock);
    assert.equal((await verifyJwt(SECRET, await sign({ iat: now + SKEW + 1, exp: now + 600 }), clock, policy) as { error?: string }).error, 'issued_in_future');
    assert.equal((await verifyJwt(SECRET, await sign({ iat: now, exp: now + MAX_LIFETIME + 1 }), clock, policy) as { error?: string }).error, 'lifetime');
    assert.equal((await verifyJwt(SECRET, await sign({ iat: now }), clock, policy) as { error?: string }).error, 'lifetime', 'no exp at all');
    assert.equal((await verifyJwt(SECRET, await sign({ iat: now - 7200, exp: now - 1 }), clock, policy) as { error?: string }).error, 'expired');
    assert.equal((await verifyJwt(SECRET, await sign({ iat: now, exp: now + 600 }), clock, policy)).ok, true);
    // Without a policy (the Wings simulator plays real Wings, which has no such bound) nothing changes.
    assert.equal((await verifyJwt(SECRET, await sign({ iat: now + 86400, exp: now + 10 * 86400 }), clock)).ok, true);
  });
});
