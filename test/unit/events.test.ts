/** BridgeEvent construction (src/events.ts): makeEvent and the event schema. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Value } from '@sinclair/typebox/value';
import { BridgeEventSchema, eventUpstream, makeEvent } from '../../src/events.ts';

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
