/** The text of a NATS connection error as /readyz and the log show it: useful, and never a secret. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeConnectError } from '../../src/bus/nats-connect.ts';

test('a refused connection names its code and cause', () => {
  const err = Object.assign(new Error('CONNECTION_REFUSED'), { code: 'CONNECTION_REFUSED', chainedError: new Error('connect ECONNREFUSED 127.0.0.1:4222') });
  assert.equal(describeConnectError(err, []), 'CONNECTION_REFUSED: connect ECONNREFUSED 127.0.0.1:4222');
});

test('user info in a URL and configured secrets are removed', () => {
  const err = new Error('could not reach nats://relay:hunter2@nats.internal:4222 (token tok-123)');
  const text = describeConnectError(err, ['tok-123', 'hunter2']);
  assert.equal(text, 'could not reach nats://nats.internal:4222 (token ***)');
  assert.ok(!text.includes('hunter2') && !text.includes('relay:'));
});

test('a code missing from the message is added; a non-Error is still described', () => {
  assert.equal(describeConnectError(Object.assign(new Error('getaddrinfo failed'), { code: 'ENOTFOUND' }), []), 'ENOTFOUND: getaddrinfo failed');
  assert.equal(describeConnectError('boom', []), 'boom');
});
