/**
 * Small core modules: backoff, the manual clock, JWTs, permissions, API clients
 * and BridgeEvent construction. Time comes from ManualClock throughout; nothing sleeps.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { clientDirectory, bearerKey } from '../../src/auth/clients.ts';
import { signJwt, verifyJwt, peekJwt } from '../../src/auth/jwt.ts';
import { hasPermission } from '../../src/auth/permissions.ts';
import { ManualClock } from '../../src/clock.ts';
import { BridgeEventSchema, eventUpstream, makeEvent } from '../../src/events.ts';
import { Backoff } from '../../src/upstream/backoff.ts';
import { seeded } from '../helpers/random.ts';


describe('Backoff', () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2 };

  test('the ceiling grows ×multiplier per attempt and caps at maxMs', () => {
    const b = new Backoff(policy, () => 0.5);
    const ceilings: number[] = [];
    for (let i = 0; i < 8; i++) {
      ceilings.push(b.ceiling());
      b.next();
    }
    assert.deepEqual(ceilings, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    assert.equal(b.attempt, 8);
  });

  test('random → 0.999999 gives delays just below the ceiling', () => {
    const b = new Backoff(policy, () => 0.999999);
    const delays = Array.from({ length: 7 }, () => b.next());
    assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999]);
  });

  test('random → 0 gives zero delays', () => {
    const b = new Backoff(policy, () => 0);
    for (let i = 0; i < 10; i++) assert.equal(b.next(), 0);
    assert.equal(b.attempt, 10);
  });

  test('full jitter: 0 ≤ delay < ceiling, integer, for seeded randoms and a fractional multiplier', () => {
    const b = new Backoff({ initialMs: 250, maxMs: 30000, multiplier: 1.7 }, seeded(11));
    for (let i = 0; i < 200; i++) {
      if (i % 25 === 0) b.reset();
      const ceiling = b.ceiling();
      assert.ok(ceiling <= 30000);
      const d = b.next();
      assert.ok(Number.isInteger(d), `delay ${d} is an integer`);
      assert.ok(d >= 0 && d < ceiling, `delay ${d} within [0, ${ceiling})`);
    }
  });

  test('many attempts never overflow past maxMs', () => {
    const b = new Backoff(policy, () => 0.999999);
    for (let i = 0; i < 5000; i++) b.next();
    assert.equal(b.ceiling(), 1000);
    assert.equal(b.next(), 999);
  });

  test('reset() returns to the initial ceiling', () => {
    const b = new Backoff(policy, () => 0.999999);
    b.next();
    b.next();
    b.next();
    assert.equal(b.ceiling(), 800);
    b.reset();
    assert.equal(b.attempt, 0);
    assert.equal(b.ceiling(), 100);
    assert.equal(b.next(), 99);
  });

  test('uses Math.random by default, within bounds', () => {
    const b = new Backoff(policy);
    for (let i = 0; i < 50; i++) {
      const c = b.ceiling();
      const d = b.next();
      assert.ok(d >= 0 && d < c);
    }
  });
});

describe('ManualClock', () => {
  test('starts at the given time and only moves on advance()', async () => {
    const clock = new ManualClock(1_000_000);
    assert.equal(clock.now(), 1_000_000);
    await clock.advance(250);
    assert.equal(clock.now(), 1_000_250);
    assert.equal(new ManualClock().now(), Date.UTC(2026, 0, 1));
  });

  test('timers fire in time order (ties in arming order), at their own time', async () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b'), 20);
    clock.setTimeout(at('a2'), 10);
    await clock.advance(9);
    assert.deepEqual(fired, []);
    await clock.advance(21);
    assert.deepEqual(fired, [['a', 10], ['a2', 10], ['b', 20], ['c', 30]]);
    assert.equal(clock.now(), 30);
  });

  test('intervals repeat until cancelled', async () => {
    const clock = new ManualClock(0);
    const times: number[] = [];
    const t = clock.setInterval(() => times.push(clock.now()), 10);
    await clock.advance(35);
    assert.deepEqual(times, [10, 20, 30]);
    await clock.advance(5);
    assert.deepEqual(times, [10, 20, 30, 40]);
    t.cancel();
    await clock.advance(100);
    assert.deepEqual(times, [10, 20, 30, 40]);
    assert.equal(clock.pending, 0);
  });

  test('cancel before firing prevents it; cancel is idempotent and harmless after firing', async () => {
    const clock = new ManualClock(0);
    let a = 0;
    let b = 0;
    const ta = clock.setTimeout(() => a++, 10);
    const tb = clock.setTimeout(() => b++, 10);
    ta.cancel();
    ta.cancel();
    await clock.advance(20);
    assert.equal(a, 0);
    assert.equal(b, 1);
    tb.cancel();
    await clock.advance(20);
    assert.equal(b, 1);
  });

  test('an interval cancelled from its own callback stops', async () => {
    const clock = new ManualClock(0);
    let n = 0;
    const t = clock.setInterval(() => {
      if (++n === 3) t.cancel();
    }, 5);
    await clock.advance(100);
    assert.equal(n, 3);
  });

  test('timers armed inside callbacks during advance fire if due, and not if not', async () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    clock.setTimeout(() => {
      fired.push(['outer', clock.now()]);
      clock.setTimeout(() => fired.push(['inner', clock.now()]), 5);
      clock.setTimeout(() => fired.push(['zero', clock.now()]), 0);
      clock.setTimeout(() => fired.push(['late', clock.now()]), 50);
    }, 10);
    clock.setTimeout(() => fired.push(['other', clock.now()]), 12);
    await clock.advance(20);
    assert.deepEqual(fired, [['outer', 10], ['zero', 10], ['other', 12], ['inner', 15]]);
    assert.equal(clock.pending, 1, 'the late timer is still armed');
    await clock.advance(40);
    assert.deepEqual(fired.at(-1), ['late', 60]);
    assert.equal(clock.pending, 0);
  });

  test('a timer cancelled by an earlier callback in the same advance does not fire', async () => {
    const clock = new ManualClock(0);
    let fired = false;
    const victim = clock.setTimeout(() => {
      fired = true;
    }, 20);
    clock.setTimeout(() => victim.cancel(), 10);
    await clock.advance(30);
    assert.equal(fired, false);
  });

  test('pending counts armed timers only', async () => {
    const clock = new ManualClock(0);
    assert.equal(clock.pending, 0);
    const t1 = clock.setTimeout(() => {}, 10);
    clock.setTimeout(() => {}, 20);
    const iv = clock.setInterval(() => {}, 5);
    assert.equal(clock.pending, 3);
    t1.cancel();
    assert.equal(clock.pending, 2);
    await clock.advance(25);
    assert.equal(clock.pending, 1, 'fired one-shots are gone, the interval stays');
    iv.cancel();
    assert.equal(clock.pending, 0);
  });

  test('advance settles promise work started by a timer', async () => {
    const clock = new ManualClock(0);
    let done = false;
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => {
          done = true;
        });
    }, 10);
    await clock.advance(10);
    assert.equal(done, true);
  });
});

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

describe('hasPermission', () => {
  test('* matches everything except admin permissions', () => {
    assert.equal(hasPermission(['*'], 'control.console'), true);
    assert.equal(hasPermission(['*'], 'websocket.connect'), true);
    assert.equal(hasPermission(['*'], 'admin.websocket.errors'), false);
    assert.equal(hasPermission(['*'], 'admin.websocket.install'), false);
    assert.equal(hasPermission(['*', 'admin.websocket.errors'], 'admin.websocket.errors'), true);
    assert.equal(hasPermission(['*', 'admin.websocket.errors'], 'admin.websocket.install'), false);
  });

  test('exact names match only themselves', () => {
    assert.equal(hasPermission(['control.console'], 'control.console'), true);
    assert.equal(hasPermission(['control.console'], 'control.start'), false);
    assert.equal(hasPermission(['control.console'], 'control.console.extra'), false);
    assert.equal(hasPermission([], 'control.console'), false);
  });

  test('prefix.* covers a family and nothing else', () => {
    assert.equal(hasPermission(['control.*'], 'control.start'), true);
    assert.equal(hasPermission(['control.*'], 'control.console'), true);
    assert.equal(hasPermission(['control.*'], 'controlx.start'), false);
    assert.equal(hasPermission(['control.*'], 'control'), false);
    assert.equal(hasPermission(['control.*'], 'websocket.connect'), false);
    assert.equal(hasPermission(['admin.*'], 'admin.websocket.errors'), true);
    assert.equal(hasPermission(['websocket.*', 'control.console'], 'control.console'), true);
  });
});

describe('clientDirectory', () => {
  const dir = clientDirectory([
    {
      name: 'alpha',
      key: 'key-alpha',
      grants: [
        { upstream: 'eu', resources: ['s1', 's2'], permissions: ['control.console', 'websocket.connect'] },
        { upstream: '*', resources: ['*'], permissions: ['websocket.connect', 'backup.read'] },
      ],
    },
    { name: 'beta', key: 'key-beta', grants: [{ upstream: 'us', resources: ['s9'], permissions: ['*'] }] },
    { name: 'gamma', key: 'key-gamma', grants: [] },
  ]);

  test('authenticate finds the client with the right key, and nobody for a wrong one', () => {
    assert.equal(dir.authenticate('key-alpha')?.name, 'alpha');
    assert.equal(dir.authenticate('key-beta')?.name, 'beta');
    assert.equal(dir.authenticate('key-gamma')?.name, 'gamma');
    for (const wrong of ['key-delta', '', 'key-alph', 'key-alpha ', 'KEY-ALPHA', 'key-alphaa']) {
      assert.equal(dir.authenticate(wrong), null, `key ${JSON.stringify(wrong)}`);
    }
  });

  test('permissionsFor: union of every matching grant, upstream * included', () => {
    const alpha = dir.authenticate('key-alpha')!;
    assert.deepEqual([...(dir.permissionsFor(alpha, 'eu', 's1') ?? [])].sort(), ['backup.read', 'control.console', 'websocket.connect']);
    assert.deepEqual([...(dir.permissionsFor(alpha, 'eu', 's3') ?? [])].sort(), ['backup.read', 'websocket.connect'], 'only the * grant covers s3');
    assert.deepEqual([...(dir.permissionsFor(alpha, 'other', 's1') ?? [])].sort(), ['backup.read', 'websocket.connect'], 'upstream * covers any upstream');
    const perms = dir.permissionsFor(alpha, 'eu', 's2')!;
    assert.equal(new Set(perms).size, perms.length, 'no duplicates in the union');
  });

  test('permissionsFor respects resource lists and returns null without a grant', () => {
    const beta = dir.authenticate('key-beta')!;
    assert.deepEqual(dir.permissionsFor(beta, 'us', 's9'), ['*']);
    assert.equal(dir.permissionsFor(beta, 'us', 's8'), null, 'resource not listed');
    assert.equal(dir.permissionsFor(beta, 'eu', 's9'), null, 'other upstream');
    const gamma = dir.authenticate('key-gamma')!;
    assert.equal(dir.permissionsFor(gamma, 'us', 's9'), null, 'no grants at all');
  });

  test('bearerKey reads Bearer and Token headers, case-insensitively', () => {
    assert.equal(bearerKey('Bearer abc'), 'abc');
    assert.equal(bearerKey('bearer abc'), 'abc');
    assert.equal(bearerKey('BEARER abc'), 'abc');
    assert.equal(bearerKey('Token abc'), 'abc');
    assert.equal(bearerKey('token  ptlc_123 '), 'ptlc_123');
    assert.equal(bearerKey('  Bearer abc  '), 'abc');
  });

  test('bearerKey returns null for missing or other headers', () => {
    for (const h of [undefined, '', 'Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearerabc', 'abc', 'Token']) {
      assert.equal(bearerKey(h), null, `header ${JSON.stringify(h)}`);
    }
  });
});

describe('makeEvent', () => {
  const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

  test('sets the CloudEvents attributes', () => {
    const receivedAt = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const e = makeEvent({ upstream: 'eu', node: 'node-1', receivedAt }, 'server.console', '8a4b', { line: 'hello' });
    assert.equal(e.specversion, '1.0');
    assert.equal(e.source, 'bridge://eu');
    assert.equal(e.type, 'server.console');
    assert.equal(e.subject, '8a4b');
    assert.equal(e.datacontenttype, 'application/json');
    assert.deepEqual(e.data, { line: 'hello' });
    assert.equal(e.bridgenode, 'node-1');
    assert.equal(e.bridgehop, 0);
    assert.equal(e.time, '2026-01-02T03:04:05.678Z');
    assert.match(e.time, RFC3339);
    assert.equal(Date.parse(e.time), receivedAt);
    assert.equal(eventUpstream(e), 'eu');
  });

  test('hop is carried; time defaults to now', () => {
    const before = Date.now();
    const e = makeEvent({ upstream: 'u', node: 'n', hop: 2 }, 'upstream.state', '_', { state: 'up', reason: '' });
    const after = Date.now();
    assert.equal(e.bridgehop, 2);
    assert.match(e.time, RFC3339);
    const t = Date.parse(e.time);
    assert.ok(t >= before && t <= after, `${e.time} between ${before} and ${after}`);
  });

  test('ids are unique and non-empty', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) ids.add(makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 'x', { line: String(i) }).id);
    assert.equal(ids.size, 2000);
    for (const id of ids) assert.ok(id.length > 0);
  });

  test('passes BridgeEventSchema, also after a JSON round trip; the schema rejects broken events', () => {
    const e = makeEvent({ upstream: 'eu', node: 'n', receivedAt: 0 }, 'server.install.output', 'id.with.dots', { line: 'x' });
    assert.equal(Value.Check(BridgeEventSchema, e), true, JSON.stringify([...Value.Errors(BridgeEventSchema, e)]));
    assert.equal(Value.Check(BridgeEventSchema, JSON.parse(JSON.stringify(e))), true);
    assert.equal(Value.Check(BridgeEventSchema, { ...e, specversion: '0.3' }), false);
    assert.equal(Value.Check(BridgeEventSchema, { ...e, source: 'http://eu' }), false);
    assert.equal(Value.Check(BridgeEventSchema, { ...e, type: 'Console' }), false);
    assert.equal(Value.Check(BridgeEventSchema, { ...e, bridgehop: -1 }), false);
  });
});
