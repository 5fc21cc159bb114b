/** API clients (src/auth/clients.ts): the client directory and bearer keys. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientDirectory, bearerKey } from '../../src/auth/clients.ts';

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
