/**
 * The hub's fan-out promises, on a real memory bus: one bus subscription per pattern however
 * many sessions share it, and each event encoded once per (dialect, variant) — also when it
 * matches two patterns — with the same bytes handed to every session of that key.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BridgeEvent } from '../../src/events.ts';
import type { SessionHooks } from '../../src/contracts.ts';
import { makeEvent } from '../../src/events.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { Metrics } from '../../src/metrics.ts';
import { Hub, type HubMember } from '../../src/downstream/hub.ts';

interface Probe extends HubMember {
  frames: Buffer[];
}

function member(dialect: string, variant: string, encode: HubMember['encode']): Probe {
  const frames: Buffer[] = [];
  const hooks: SessionHooks = {
    variant,
    onMessage() {},
    onEvent(_event: BridgeEvent, frame: Buffer) {
      frames.push(frame);
    },
    onClose() {},
  };
  return { dialect, encode, hooks, frames };
}

function counting(): { encode: HubMember['encode']; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    encode(event, variant) {
      calls.push(`${event.type}/${variant}`);
      return JSON.stringify({ t: event.type, v: variant });
    },
  };
}

const SUBJECT = 'bridge.evt.up.server.s1.console';

describe('hub', () => {
  test('one bus subscription per pattern, released by the last member out', () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, new Metrics());
    const { encode } = counting();
    const members = Array.from({ length: 50 }, () => member('wings', '', encode));
    for (const m of members) hub.subscribe('bridge.evt.up.server.s1.>', m);
    assert.equal(hub.subscriptions, 1);
    for (const m of members.slice(1)) hub.unsubscribe('bridge.evt.up.server.s1.>', m);
    assert.equal(hub.subscriptions, 1, 'one member still wants it');
    hub.unsubscribe('bridge.evt.up.server.s1.>', members[0]!);
    hub.unsubscribe('bridge.evt.up.server.s1.>', members[0]!); // idempotent
    assert.equal(hub.subscriptions, 0);
  });

  test('an event is encoded once per (dialect, variant), across patterns, and the bytes are shared', () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, new Metrics());
    const wings = counting();
    const panel = counting();
    const plain = Array.from({ length: 40 }, () => member('wings', '', wings.encode));
    const admins = Array.from({ length: 10 }, () => member('wings', 'errors', wings.encode));
    const panels = Array.from({ length: 20 }, () => member('panel', '', panel.encode));
    // Interleaved, so the per-member shortcut meets every key more than once.
    const all = plain.flatMap((m, i) => [m, admins[i % 10]!, panels[i % 20]!]);
    for (const m of new Set(all)) hub.subscribe('bridge.evt.up.server.s1.>', m);
    for (const m of panels) hub.subscribe('bridge.evt.up.server.*.console', m);

    bus.publish(SUBJECT, makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line: 'x' }));

    assert.deepEqual(wings.calls.sort(), ['server.console/', 'server.console/errors']);
    assert.deepEqual(panel.calls, ['server.console/'], 'a second matching pattern does not encode again');
    const shared = (ms: Probe[]) => new Set(ms.flatMap((m) => m.frames));
    assert.equal(shared(plain).size, 1);
    assert.equal(shared(admins).size, 1);
    assert.notEqual([...shared(plain)][0], [...shared(admins)][0], 'each variant gets its own bytes');
    assert.ok(plain.every((m) => m.frames.length === 1));
    assert.ok(panels.every((m) => m.frames.length === 2), 'a member of two matching patterns hears the event on each');
    assert.equal(shared(panels).size, 1);

    bus.publish(SUBJECT, makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line: 'y' }));
    assert.equal(wings.calls.length, 4, 'the next event is encoded afresh');
  });

  test('an event the dialect cannot express reaches no member of it', () => {
    const bus = new MemoryBus();
    const hub = new Hub(bus, new Metrics());
    const none = member('felix', '', () => null);
    const some = member('wings', '', counting().encode);
    hub.subscribe('bridge.evt.>', none);
    hub.subscribe('bridge.evt.>', some);
    bus.publish(SUBJECT, makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line: 'x' }));
    assert.equal(none.frames.length, 0);
    assert.equal(some.frames.length, 1);
  });
});
