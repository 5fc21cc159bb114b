/**
 * Who may subscribe to what: subjects against grants (config `clients`) and the listener's
 * upstreams, through the core's real client directory. Pure, no sockets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authorizeSubject, type Access } from '../../adapters/cloudevents/access.ts';
import { parseSubject } from '../../adapters/cloudevents/subject.ts';
import { clientDirectory } from '../../src/auth/clients.ts';

const directory = clientDirectory([
  { name: 'one', key: 'k1', grants: [{ upstream: 'eu', resources: ['srv-1', 'a.b'], permissions: ['*'] }] },
  { name: 'all-eu', key: 'k2', grants: [{ upstream: 'eu', resources: ['*'], permissions: ['*'] }] },
  { name: 'star', key: 'k3', grants: [{ upstream: '*', resources: ['*'], permissions: ['*'] }] },
  { name: 'star-one', key: 'k4', grants: [{ upstream: '*', resources: ['srv-1'], permissions: ['*'] }] },
  { name: 'two', key: 'k5', grants: [{ upstream: 'eu', resources: ['srv-1'], permissions: [] }, { upstream: 'us', resources: ['*'], permissions: [] }] },
]);
const SERVED = ['eu', 'us'];

function decide(key: string, subject: string, served: readonly string[] = SERVED): Access {
  const client = directory.authenticate(key);
  assert.ok(client);
  const check = parseSubject(subject);
  assert.ok(check.ok, subject);
  return authorizeSubject(check.parsed, client, directory, served, 'bridge');
}

function patterns(key: string, subject: string, served?: readonly string[]): readonly string[] {
  const access = decide(key, subject, served);
  assert.ok(access.ok, `${key} ${subject}: ${access.ok ? '' : access.message}`);
  return access.patterns;
}

function refused(key: string, subject: string, served?: readonly string[]): string {
  const access = decide(key, subject, served);
  assert.equal(access.ok, false, `${key} ${subject} was allowed`);
  return access.ok ? '' : access.code;
}

test('a concrete granted id on a granted upstream: one pattern, the subject under <prefix>.evt.', () => {
  assert.deepEqual(patterns('k1', 'eu.server.srv-1.console'), ['bridge.evt.eu.server.srv-1.console']);
  assert.deepEqual(patterns('k1', 'eu.server.srv-1.>'), ['bridge.evt.eu.server.srv-1.>']);
  assert.deepEqual(patterns('k1', 'eu.*.srv-1.*'), ['bridge.evt.eu.*.srv-1.*']);
  // Ids are granted raw and subscribed escaped.
  assert.deepEqual(patterns('k1', 'eu.server.a%2Eb.console'), ['bridge.evt.eu.server.a%2Eb.console']);
});

test('an id that is not granted, or an id wildcard without `*` in resources, is FORBIDDEN', () => {
  assert.equal(refused('k1', 'eu.server.srv-2.console'), 'BRIDGE_ERR_FORBIDDEN');
  assert.equal(refused('k1', 'eu.server.*.console'), 'BRIDGE_ERR_FORBIDDEN');
  assert.equal(refused('k1', 'eu.server.>'), 'BRIDGE_ERR_FORBIDDEN');
  assert.equal(refused('k1', 'eu.>'), 'BRIDGE_ERR_FORBIDDEN');
  assert.equal(refused('k4', '*.server.*.console'), 'BRIDGE_ERR_FORBIDDEN');
  assert.deepEqual(patterns('k2', 'eu.server.*.console'), ['bridge.evt.eu.server.*.console']);
  assert.deepEqual(patterns('k2', 'eu.>'), ['bridge.evt.eu.>']);
});

test('another upstream, or an upstream wildcard without an `upstream: "*"` grant, is FORBIDDEN', () => {
  assert.equal(refused('k1', 'us.server.srv-1.console'), 'BRIDGE_ERR_FORBIDDEN');
  assert.equal(refused('k2', '*.server.srv-1.console'), 'BRIDGE_ERR_FORBIDDEN');
  assert.equal(refused('k2', '>'), 'BRIDGE_ERR_FORBIDDEN');
  // Grants on two named upstreams are still not a grant on every upstream.
  assert.equal(refused('k5', '*.server.srv-1.console'), 'BRIDGE_ERR_FORBIDDEN');
  assert.deepEqual(patterns('k5', 'us.server.*.console'), ['bridge.evt.us.server.*.console']);
});

test('an upstream wildcard is expanded over the served upstreams only', () => {
  assert.deepEqual(patterns('k3', '*.server.*.console'), ['bridge.evt.eu.server.*.console', 'bridge.evt.us.server.*.console']);
  assert.deepEqual(patterns('k3', '>'), ['bridge.evt.eu.>', 'bridge.evt.us.>']);
  assert.deepEqual(patterns('k4', '*.server.srv-1.>', ['us']), ['bridge.evt.us.server.srv-1.>']);
});

test('a granted upstream the listener does not serve is NOT_FOUND; an ungranted one stays FORBIDDEN', () => {
  assert.equal(refused('k3', 'asia.server.x.console'), 'BRIDGE_ERR_NOT_FOUND');
  assert.equal(refused('k5', 'us.server.x.console', ['eu']), 'BRIDGE_ERR_NOT_FOUND');
  assert.equal(refused('k1', 'asia.server.x.console'), 'BRIDGE_ERR_FORBIDDEN');
});
