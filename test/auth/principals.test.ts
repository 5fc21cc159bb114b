/**
 * The core of the principal sources without sockets: the answer cache (hashed keys, TTL on the
 * injected clock, one call for concurrent lookups, bounded), grant matching and reading, the
 * resolver's order and refusal ranking, and the config checks of the `auth` section.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { AnswerCache, credentialDigest } from '../../src/auth/cache.ts';
import { grantPermissions, readGrants } from '../../src/auth/grants.ts';
import { ClientRegistry } from '../../src/auth/clients.ts';
import { Principals } from '../../src/auth/principals.ts';
import { Metrics } from '../../src/metrics.ts';
import { ThrottledLog } from '../../src/throttled-log.ts';
import { validateConfig, ConfigError } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import type { HttpCall, HttpResult, PassThrough } from '../../src/contracts.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('AnswerCache', () => {
  it('keeps an answer for its TTL on the injected clock and shares one call among concurrent lookups', async () => {
    const clock = new ManualClock();
    const cache = new AnswerCache<number>(clock, 10);
    let calls = 0;
    const ask = () => new Promise<number>((resolve) => setImmediate(() => resolve(++calls)));
    const answers = await Promise.all(Array.from({ length: 5 }, () => cache.get('k', ask, () => 1000)));
    assert.deepEqual(answers, [1, 1, 1, 1, 1]);
    await clock.advance(999);
    assert.equal(await cache.get('k', ask, () => 1000), 1);
    await clock.advance(1);
    assert.equal(await cache.get('k', ask, () => 1000), 2);
    // A TTL of 0 is not kept.
    assert.equal(await cache.get('z', ask, () => 0), 3);
    assert.equal(await cache.get('z', ask, () => 0), 4);
  });

  it('is bounded: past maxEntries the oldest answer goes', async () => {
    const cache = new AnswerCache<string>(new ManualClock(), 2);
    for (const k of ['a', 'b', 'c']) await cache.get(k, async () => k, () => 60_000);
    assert.equal(cache.size, 2);
    assert.equal(await cache.get('a', async () => 'again', () => 60_000), 'again');
  });

  it('keys are digests: the credential does not appear in them', () => {
    const d = credentialDigest('panel', 'ptlc_secret_key', 'up', 'id');
    assert.equal(d.includes('ptlc_secret_key'), false);
    assert.notEqual(d, credentialDigest('panel', 'ptlc_secret_key', 'up', 'other'));
  });
});

describe('grants', () => {
  const grants = readGrants([
    { upstream: 'eu', resources: ['s1'], permissions: ['websocket.connect'] },
    { upstream: '*', resources: ['*'], permissions: ['backup.read'] },
  ])!;
  it('union of the covering grants; a wildcard is covered only by a wildcard grant', () => {
    assert.deepEqual(grantPermissions(grants, 'eu', 's1'), ['websocket.connect', 'backup.read']);
    assert.deepEqual(grantPermissions(grants, 'us', 'x'), ['backup.read']);
    assert.deepEqual(grantPermissions(grants.slice(0, 1), 'eu', '*'), null);
  });
  it('grants from outside must state every field', () => {
    assert.equal(readGrants([{ upstream: 'eu', permissions: ['*'] }]), null);
    assert.equal(readGrants('everything'), null);
    assert.equal(readGrants([{ upstream: 'bad name!', resources: ['*'], permissions: ['*'] }]), null);
  });
});

describe('Principals', () => {
  function build(results: Record<string, HttpResult | Error>) {
    const calls: HttpCall[] = [];
    const http = async (call: HttpCall): Promise<HttpResult> => {
      calls.push(call);
      const r = results[call.url];
      if (r instanceof Error || r === undefined) throw r ?? new Error('down');
      return r;
    };
    const pt: PassThrough = {
      perResource: false,
      request: (credential) => ({ method: 'GET', url: `http://panel/${credential}` }),
      read: (res) => (res.status === 200 ? { ok: true, resources: ['*'], permissions: ['*'] } : res.status === 401 ? { ok: false, reason: 'invalid' } : { ok: false, reason: 'unavailable' }),
    };
    const clock = new ManualClock();
    const metrics = new Metrics({ defaultMetrics: false });
    const principals = new Principals({
      auth: { panel: { cacheSeconds: 30, cacheEntries: 100, timeoutMs: 1000 }, hook: { url: 'http://hook/', timeoutMs: 100, maxCacheSeconds: 60, cacheEntries: 100 } },
      clients: new ClientRegistry([{ name: 'ops', key: 'static-key', grants: [] }]),
      clock,
      metrics,
      notes: new ThrottledLog(silent, clock),
      tokenPolicy: { clockSkewSeconds: 60, maxLifetimeSeconds: 86400 },
      http,
      passThrough: (u) => (u === 'semoxy' ? pt : undefined),
    });
    return { principals, calls, metrics, clock };
  }

  it('tries the listener\'s sources in order; the first that admits wins', async () => {
    const { principals, calls } = build({ 'http://panel/user-session': { status: 200, headers: {}, json: {}, text: '' } });
    const r = principals.forListener({ name: 'l', dialect: 'panel', upstreams: ['semoxy'], auth: ['static', 'panel', 'hook'] });
    const s = await r.resolve('static-key', { remoteAddress: '1.2.3.4' });
    assert.ok(s.ok && s.principal.name === 'ops');
    assert.equal(calls.length, 0);
    const p = await r.resolve('user-session', { remoteAddress: '1.2.3.4' });
    assert.ok(p.ok && p.principal.source === 'panel' && p.principal.name.startsWith('panel:semoxy:'));
    assert.equal(calls.length, 1, 'the hook was not asked');
  });

  it('with no admission the most telling refusal wins: unavailable over invalid over unknown', async () => {
    const { principals } = build({ 'http://panel/revoked': { status: 401, headers: {}, json: {}, text: '' } });
    const r = principals.forListener({ name: 'l', dialect: 'panel', upstreams: ['semoxy'], auth: ['static', 'panel', 'hook'] });
    const answer = await r.resolve('revoked', { remoteAddress: '1.2.3.4' });
    // The panel said invalid; the hook is down: the dashboard hears "unavailable".
    assert.deepEqual(answer, { ok: false, reason: 'unavailable' });
    const onlyPanel = principals.forListener({ name: 'm', dialect: 'panel', upstreams: ['semoxy'], auth: ['panel'] });
    assert.deepEqual(await onlyPanel.resolve('revoked', { remoteAddress: '1.2.3.4' }), { ok: false, reason: 'invalid' });
    const onlyStatic = principals.forListener({ name: 'n', dialect: 'panel', upstreams: ['semoxy'], auth: ['static'] });
    assert.deepEqual(await onlyStatic.resolve('revoked', { remoteAddress: '1.2.3.4' }), { ok: false, reason: 'unknown' });
  });

  it('counts every answer by source and result, never with the credential', async () => {
    const { principals, metrics } = build({});
    const r = principals.forListener({ name: 'l', dialect: 'panel', upstreams: ['semoxy'], auth: ['static', 'panel'] });
    await r.resolve('some-secret-credential', { remoteAddress: '1.2.3.4' });
    const text = await metrics.registry.metrics();
    assert.match(text, /bridge_auth_source_results_total\{source="static",result="unknown"\} 1/);
    assert.match(text, /bridge_auth_source_results_total\{source="panel",result="unavailable"\} 1/);
    assert.equal(text.includes('some-secret-credential'), false);
  });
});

describe('auth config', () => {
  const base = { upstreams: [{ name: 'bot', protocol: 'felix', url: 'ws://x', token: 't' }] };
  it('a listener naming a source needs its section; jwt needs a key', () => {
    assert.throws(
      () => validateConfig({ ...base, listeners: [{ dialect: 'felix', upstreams: ['bot'], auth: ['static', 'hook'] }] }, ADAPTERS),
      (err: ConfigError) => err.issues.some((i) => i.path === '/listeners/0/auth/1' && /auth\.hook/.test(i.message)),
    );
    assert.throws(
      () => validateConfig({ ...base, auth: { jwt: { issuer: 'x' } }, listeners: [{ dialect: 'felix', upstreams: ['bot'], auth: ['jwt'] }] }, ADAPTERS),
      (err: ConfigError) => err.issues.some((i) => i.path === '/auth/jwt'),
    );
    assert.throws(() => validateConfig({ ...base, listeners: [{ dialect: 'felix', upstreams: ['bot'], auth: ['ldap'] }] }, ADAPTERS), ConfigError);
  });
  it('defaults: listeners accept static keys only', () => {
    const config = validateConfig({ ...base, listeners: [{ dialect: 'felix', upstreams: ['bot'] }] }, ADAPTERS);
    assert.deepEqual(config.listeners[0]!.auth, ['static']);
    assert.deepEqual(config.auth, {});
  });
});
