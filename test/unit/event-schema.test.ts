/**
 * bridge.events.schema.json is generated from the vocabulary (src/event-schema.ts): the checked-in
 * file is current, what the CloudEvents dialect sends for every event the adapters' codecs read
 * from their protocols (the recorded fixtures) is valid against it, and it refuses an event whose
 * data does not fit its type, or a type it does not know.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { encodeEvent } from '../../adapters/cloudevents/codec.ts';
import { canonicalEventSchema, eventSchemaText } from '../../src/event-schema.ts';
import { ALL_EVENT_TYPES } from '../../src/event-types.ts';
import { makeEvent } from '../../src/events.ts';

interface Recorded {
  name: string;
  event?: { type: string; data: unknown; id?: string } | null;
  events?: { type: string; data: unknown; id?: string }[] | null;
}

const schema = canonicalEventSchema();
const origin = { upstream: 'node-1', node: 'relay-a' };
/** What a CloudEvents dashboard receives for the event, parsed back. */
const onTheWire = (type: string, data: unknown) => JSON.parse(encodeEvent(makeEvent(origin, type, 'res-1', data), '') ?? 'null') as unknown;
const errorsOf = (value: unknown) => [...Value.Errors(schema, value)].slice(0, 3).map((e) => `${e.path} ${e.message}`);

describe('bridge.events.schema.json', () => {
  test('the checked-in file is current (npm run schema) and has one branch per canonical type', () => {
    const onDisk = readFileSync(new URL('../../bridge.events.schema.json', import.meta.url), 'utf8');
    assert.ok(onDisk === eventSchemaText(), 'bridge.events.schema.json is stale: run `npm run schema`');
    const parsed = JSON.parse(onDisk) as { anyOf: { title: string; properties: { type: { const: string } } }[] };
    assert.deepEqual(parsed.anyOf.map((b) => b.properties.type.const), [...ALL_EVENT_TYPES]);
  });

  for (const protocol of ['wings', 'felix', 'gateway', 'panel']) {
    test(`what CloudEvents dashboards get for every ${protocol} fixture event is valid`, () => {
      const cases = JSON.parse(readFileSync(new URL(`../fixtures/${protocol}/server-frames.json`, import.meta.url), 'utf8')) as Recorded[];
      let checked = 0;
      for (const c of cases) {
        for (const e of [...(c.events ?? []), ...(c.event ? [c.event] : [])]) {
          const wire = onTheWire(e.type, e.data);
          assert.ok(Value.Check(schema, wire), `${c.name}: ${JSON.stringify(errorsOf(wire))}`);
          checked++;
        }
      }
      assert.ok(checked > 3, `${checked} events checked`);
    });
  }

  test('refuses data that does not fit its type, an unknown type and an extra envelope attribute', () => {
    assert.ok(Value.Check(schema, onTheWire('server.status', { state: 'running' })));
    assert.equal(Value.Check(schema, onTheWire('server.status', { state: 'exploded' })), false);
    assert.equal(Value.Check(schema, onTheWire('server.console', { text: 'no line field' })), false);
    assert.equal(Value.Check(schema, onTheWire('server.consol', { line: 'typo in the type' })), false);
    const extra = { ...(onTheWire('server.console', { line: 'x' }) as object), secretheader: 'y' };
    assert.equal(Value.Check(schema, extra), false);
  });
});
