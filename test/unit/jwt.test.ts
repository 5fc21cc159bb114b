/** HS256 JWTs (src/auth/jwt.ts): signing, verifying and peeking. Time comes from ManualClock; nothing sleeps. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signJwt, verifyJwt, peekJwt } from '../../src/auth/jwt.ts';
import { ManualClock } from '../../src/clock.ts';

describe('JWT', () => {
  const SECRET = 'unit-test-secret';

  async function fresh(ttl = 60, extra: Record<string, unknown> = {}) {
    const clock = new ManualClock();
    const nowSec = Math.floor(clock.now() / 1000);
    const token = await signJwt(SECRET, { sub: 'user-1', exp: nowSec + ttl, ...extra }, clock);
    return { clock, nowSec, token };
  }

  test('a fresh token verifies, with iat from the clock', async () => {
    const { clock, nowSec, token } = await fresh();
    assert.equal(token.split('.').length, 3);
    const r = await verifyJwt(SECRET, token, clock);
    assert.equal(r.ok, true);
    assert.ok(r.ok);
    assert.equal(r.claims.sub, 'user-1');
    assert.equal(r.claims.iat, nowSec);
    assert.equal(r.claims.exp, nowSec + 60);
    assert.deepEqual(peekJwt(token)?.sub, 'user-1');
  });

  test('still valid just before exp, expired after it', async () => {
    const { clock, token } = await fresh(60);
    await clock.advance(59_000);
    assert.equal((await verifyJwt(SECRET, token, clock)).ok, true);
    await clock.advance(2_000);
    const r = await verifyJwt(SECRET, token, clock);
    assert.equal(r.ok, false);
    assert.ok(!r.ok);
    assert.equal(r.error, 'expired');
    assert.equal(r.claims?.sub, 'user-1', 'expired tokens still report their claims');
  });

  test('a wrong secret or a tampered payload is a signature failure', async () => {
    const { clock, token } = await fresh();
    const wrong = await verifyJwt('another-secret', token, clock);
    assert.deepEqual(wrong, { ok: false, error: 'signature' });
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', exp: 9_999_999_999 })).toString('base64url');
    assert.deepEqual(await verifyJwt(SECRET, `${h}.${forged}.${s}`, clock), { ok: false, error: 'signature' });
  });

  test('a token not valid yet (nbf) is not_yet_valid', async () => {
    const clock = new ManualClock();
    const nowSec = Math.floor(clock.now() / 1000);
    const token = await signJwt(SECRET, { exp: nowSec + 600, nbf: nowSec + 300 }, clock);
    const r = await verifyJwt(SECRET, token, clock);
    assert.ok(!r.ok);
    assert.equal(r.error, 'not_yet_valid');
    await clock.advance(301_000);
    assert.equal((await verifyJwt(SECRET, token, clock)).ok, true);
  });

  test('garbage is malformed, and verification never throws', async () => {
    const clock = new ManualClock();
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`;
    const inputs: unknown[] = ['', 'garbage', 'a.b.c', '...', 'Bearer x.y.z', '€€€.€€€.€€€', none, 'x'.repeat(10_000), null, undefined, 42, {}];
    for (const input of inputs) {
      const r = await verifyJwt(SECRET, input as string, clock);
      assert.deepEqual(r, { ok: false, error: 'malformed' }, `input ${JSON.stringify(input)?.slice(0, 40)}`);
    }
    assert.equal(peekJwt('garbage'), null);
  });

  test('an HS512 token (algorithm not allowed) is rejected, not accepted', async () => {
    const { SignJWT } = await import('jose');
    const clock = new ManualClock();
    const token = await new SignJWT({ exp: Math.floor(clock.now() / 1000) + 60 })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(new TextEncoder().encode(SECRET));
    const r = await verifyJwt(SECRET, token, clock);
    assert.equal(r.ok, false);
  });
});
