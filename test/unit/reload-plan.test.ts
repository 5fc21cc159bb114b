/**
 * The pure parts of a config reload: which changed keys may change in place (reload-plan.ts), the
 * client registry's swap and bindings (auth/clients.ts), which sessions lost a grant
 * (auth/withdrawn.ts), and the limit holders that take new values for new work (admission, the
 * deadline queues).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientRegistry } from '../../src/auth/clients.ts';
import { WithdrawalCheck, patternScope } from '../../src/auth/withdrawn.ts';
import { ManualClock } from '../../src/clock.ts';
import { FIXED_LIMITS, LIVE_LIMITS, changedPaths, planReload } from '../../src/config/reload-plan.ts';
import { LimitsSection } from '../../src/config/schema.ts';
import { AddressAdmission } from '../../src/downstream/admission.ts';
import { DeadlineQueue } from '../../src/downstream/deadlines.ts';
import { loadMulti, multiConfig } from '../helpers/reload-config.ts';

describe('reload plan', () => {
  test('every limit is either live or fixed, never both and never forgotten', () => {
    const keys = Object.keys(LimitsSection.properties).sort();
    assert.deepEqual([...LIVE_LIMITS, ...FIXED_LIMITS].sort(), keys);
    for (const k of LIVE_LIMITS) assert.equal(FIXED_LIMITS.has(k), false, k);
  });

  test('changedPaths names leaves, and an array of another length by its own path', () => {
    assert.deepEqual(changedPaths({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] } }), ['/b/c/1']);
    assert.deepEqual(changedPaths({ a: [1] }, { a: [1, 2], d: 'x' }), ['/a', '/d']);
    assert.deepEqual(changedPaths({ 'a/b': 1 }, { 'a/b': 2 }), ['/a~1b']);
  });

  test('clients, live limits, log level, publicUrl and TLS sources change in place; the rest is refused', () => {
    const base = multiConfig();
    const next = structuredClone(base);
    next.clients[0].key = 'another-key';
    next.clients[1].grants.pop();
    next.limits.commandRate = { burst: 1, refillMs: 10 };
    next.limits.maxConnections = 5;
    next.log.level = 'debug';
    next.http.publicUrl = 'https://relay.example.com';
    const ok = planReload(loadMulti(base), loadMulti(next));
    assert.deepEqual(ok.refused, []);
    assert.ok(ok.changed.includes('/clients/0/key') && ok.changed.includes('/log/level'), JSON.stringify(ok.changed));

    next.limits.maxPayloadBytes = 1024;
    next.http.port = 9999;
    next.upstreams[0].servers = [next.upstreams[0].servers[0]];
    next.simulators[1].port = 1234;
    next.bus.prefix = 'other';
    const refused = planReload(loadMulti(base), loadMulti(next));
    assert.deepEqual([...refused.refused].sort(), ['/bus/prefix', '/http/port', '/limits/maxPayloadBytes', '/simulators/1/port', '/upstreams/0/servers']);
  });

  test('TLS: new sources in place, turning it on or off refused', () => {
    const plain = loadMulti(multiConfig());
    const withTls = (cert: string) => ({ ...plain, http: { ...plain.http, tls: { cert: { file: cert }, key: { file: '/k.pem' } } } });
    assert.deepEqual(planReload(withTls('/a.pem'), withTls('/b.pem')).refused, []);
    assert.deepEqual(planReload(plain, withTls('/a.pem')).refused, ['/http/tls']);
    assert.deepEqual(planReload(withTls('/a.pem'), plain).refused, ['/http/tls']);
  });
});

describe('client registry across a reload', () => {
  const before = [
    { name: 'ops', key: 'k-ops', grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }] },
    { name: 'one', key: 'k-one', grants: [{ upstream: 'up', resources: ['s1', 's2'], permissions: ['a', 'b'] }] },
  ];

  test('keys and grants are the new ones at once, also for an ApiClient kept from before', () => {
    const reg = new ClientRegistry(before);
    const one = reg.authenticate('k-one')!;
    assert.deepEqual(reg.permissionsFor(one, 'up', 's2'), ['a', 'b']);
    const g0 = reg.generation;
    reg.replace([{ name: 'one', key: 'k-one-2', grants: [{ upstream: 'up', resources: ['s1'], permissions: ['a'] }] }]);
    assert.notEqual(reg.generation, g0);
    assert.equal(reg.authenticate('k-one'), null);
    assert.equal(reg.authenticate('k-one-2')?.name, 'one');
    assert.equal(reg.permissionsFor(one, 'up', 's2'), null, 'the old object answers with the grants in force');
    assert.deepEqual(reg.permissionsFor(one, 'up', 's1'), ['a']);
  });

  test('bind: bound, unknown (never configured), withdrawn (removed, or no grant on the resource)', () => {
    const reg = new ClientRegistry(before);
    assert.equal(reg.bind('one', { upstream: 'up', id: 's1' }), 'bound');
    assert.equal(reg.bind('a-panel-user-uuid'), 'unknown');
    reg.replace([before[1]!]);
    assert.equal(reg.bind('ops'), 'withdrawn');
    assert.equal(reg.bind('one', { upstream: 'up', id: 's9' }), 'withdrawn');
    reg.replace(before);
    assert.equal(reg.bind('ops'), 'bound', 'a client brought back is bound again');
  });

  test('withdrawal: a lost or narrowed grant on what a pattern reads; never what was never granted', () => {
    const reg = new ClientRegistry(before);
    const old = reg.current;
    reg.replace([
      { name: 'ops', key: 'k-ops', grants: [{ upstream: 'up', resources: ['*'], permissions: ['*'] }] },
      { name: 'one', key: 'k-one', grants: [{ upstream: 'up', resources: ['s1'], permissions: ['a', 'b', 'c'] }, { upstream: 'up', resources: ['s2'], permissions: ['a'] }] },
    ]);
    const check = new WithdrawalCheck(old, reg.current, 'bridge');
    assert.equal(check.withdrawn('one', ['bridge.evt.up.server.s1.>']), false, 'more permissions is no loss');
    assert.equal(check.withdrawn('one', ['bridge.evt.up.server.s2.console']), true, 'b was taken away on s2');
    assert.equal(check.withdrawn('one', ['bridge.evt.up.upstream._.state']), false, 'never granted: nothing to lose');
    assert.equal(check.withdrawn('ops', ['bridge.evt.up.server.*.>']), false);
    assert.equal(check.withdrawn('ops', ['bridge.evt.other.>']), true, 'the upstream * grant is gone');
    assert.equal(check.withdrawn('gone', []), true, 'a removed client loses its sessions even without subscriptions');
    assert.deepEqual(patternScope('bridge.evt.up%2Ex.server.a%2Eb.>', 'bridge'), { upstream: 'up.x', id: 'a.b' });
    assert.deepEqual(patternScope('bridge.evt.>', 'bridge'), { upstream: '*', id: '*' });
    assert.deepEqual(patternScope('bridge.evt.up.*.x.console', 'bridge'), { upstream: 'up', id: 'x' });
    assert.equal(patternScope('other.evt.up.>', 'bridge'), null);
  });
});

describe('limit holders take new values for new work', () => {
  test('admission: a lower maxConnectionsPerAddress and a smaller burst apply to the next upgrade', () => {
    const clock = new ManualClock();
    const limits = { maxConnections: 100, maxConnectionsPerAddress: 5, connectRatePerAddress: { burst: 10, refillMs: 1000 }, authFailuresPerAddress: { burst: 10, refillMs: 1000 } };
    const adm = new AddressAdmission(limits, clock);
    assert.equal(adm.admit('10.0.0.1'), null);
    assert.equal(adm.admit('10.0.0.1'), null);
    adm.setLimits({ ...limits, maxConnectionsPerAddress: 2 });
    assert.equal(adm.admit('10.0.0.1'), 'BRIDGE_ERR_ADDRESS_LIMIT');
    adm.setLimits({ ...limits, maxConnectionsPerAddress: 100, connectRatePerAddress: { burst: 3, refillMs: 1000 } });
    const admitted = [1, 2, 3, 4].map(() => adm.admit('10.0.0.1'));
    assert.deepEqual(admitted, [null, null, null, 'BRIDGE_ERR_RATE_LIMITED'], 'the bucket held 8, cut to 3');
  });

  test('deadline queue: a shorter delay brings the scheduled deadlines forward, in order', async () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const q = new DeadlineQueue<string>(clock, 10_000, (x) => void fired.push(x));
    q.schedule('a');
    await clock.advance(1000);
    q.schedule('b');
    q.setDelay(2000);
    await clock.advance(500);
    q.schedule('c');
    await clock.advance(1499);
    assert.deepEqual(fired, []);
    await clock.advance(1);
    assert.deepEqual(fired, ['a', 'b'], 'due one new delay after the change');
    await clock.advance(500);
    assert.deepEqual(fired, ['a', 'b', 'c']);
    q.setDelay(5000);
    q.schedule('d');
    await clock.advance(4999);
    assert.equal(fired.length, 3);
    await clock.advance(1);
    assert.deepEqual(fired, ['a', 'b', 'c', 'd']);
  });
});
