/**
 * The event vocabulary (src/event-types.ts) is the one list of canonical types: every name is a
 * valid BridgeEvent type with a spec, the bus retention comes from it, and what each adapter's
 * codec reads from its protocol (the recorded fixtures, which the codec tests hold the decoders
 * to) has the data schema the vocabulary states.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { ALL_EVENT_TYPES, EVENT_SPECS, EVENT_TYPES, isEventType, retentionOf, typesRetained } from '../../src/event-types.ts';
import { BridgeEventSchema, makeEvent } from '../../src/events.ts';
import { retainedTails } from '../../src/subjects.ts';

interface Recorded {
  name: string;
  event?: { type: string; data: unknown } | null;
  events?: { type: string; data: unknown }[] | null;
}

describe('event vocabulary', () => {
  test('every named type has a spec, and every spec a name; each is a valid BridgeEvent type', () => {
    assert.deepEqual([...Object.values(EVENT_TYPES)].sort(), [...ALL_EVENT_TYPES].sort());
    assert.equal(new Set(ALL_EVENT_TYPES).size, ALL_EVENT_TYPES.length);
    for (const type of ALL_EVENT_TYPES) {
      assert.ok(isEventType(type));
      assert.ok(Value.Check(BridgeEventSchema, makeEvent({ upstream: 'u', node: 'n' }, type, 'id', {})), type);
      assert.ok(EVENT_SPECS[type].about.length > 10, `${type} is described`);
    }
    assert.equal(isEventType('server.consol'), false);
  });

  test('retention: console-like lines keep a history, states keep the last value, the rest nothing', () => {
    assert.deepEqual(typesRetained('history'), ['server.console', 'server.install.output', 'server.transfer.logs', 'room.message']);
    assert.deepEqual(typesRetained('last'), ['server.status', 'server.stats', 'bot.health', 'upstream.state']);
    assert.equal(retentionOf('server.patch'), 'none');
    assert.equal(retentionOf('not.known'), 'none');
    assert.deepEqual(retainedTails('last').map((t) => `${t.resource}.${t.tail}`), typesRetained('last'));
  });

  for (const protocol of ['wings', 'felix', 'gateway', 'panel']) {
    test(`what the ${protocol} codec reads has the vocabulary's type and data schema`, () => {
      const cases = JSON.parse(readFileSync(new URL(`../fixtures/${protocol}/server-frames.json`, import.meta.url), 'utf8')) as Recorded[];
      let checked = 0;
      for (const c of cases) {
        for (const e of [...(c.events ?? []), ...(c.event ? [c.event] : [])]) {
          assert.ok(isEventType(e.type), `${c.name}: ${e.type}`);
          const schema = EVENT_SPECS[e.type as keyof typeof EVENT_SPECS].data;
          assert.ok(Value.Check(schema, e.data), `${c.name}: ${JSON.stringify([...Value.Errors(schema, e.data)].map((x) => x.path + ' ' + x.message))}`);
          checked++;
        }
      }
      assert.ok(checked > 3, `${checked} events checked`);
    });
  }
});
