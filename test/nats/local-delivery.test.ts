/**
 * Issue 15: with `localDelivery` (as the relay runs it), an event a NATS bus publishes reaches
 * that bus's own subscribers before `publish` returns, once, without the round trip through the
 * server; its echoes are dropped; other connections still get it through NATS, and what they
 * publish still arrives through NATS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatsBus } from '../../src/bus/nats.ts';
import { idOf, LocalDelivery } from '../../src/bus/local-delivery.ts';
import { makeEvent, type BridgeEvent } from '../../src/events.ts';
import { Subjects } from '../../src/subjects.ts';
import { uid, waitFor } from '../helpers/bus-suite.ts';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';

let nats: NatsServerHandle;
const prefix = `t${uid()}`;
const subs = new Subjects(prefix);
const errors: unknown[] = [];
let local: NatsBus;
let other: NatsBus;

before(async () => {
  nats = await startNatsServer();
  local = new NatsBus({ servers: [nats.url], prefix, localDelivery: true, onError: (e) => errors.push(e) });
  other = new NatsBus({ servers: [nats.url], prefix, onError: (e) => errors.push(e) });
  await Promise.all([local.start(), other.start()]);
});

after(async () => {
  await local?.deleteStreams();
  await Promise.all([local?.drain(), other?.drain()]);
  await nats?.stop();
});

const settle = async () => {
  // Two round trips on each connection: every echo and every delivery has arrived by then.
  for (let i = 0; i < 2; i++) await Promise.all([local.flush(), other.flush()]);
  await new Promise((r) => setTimeout(r, 50));
};

describe('NATS local delivery', () => {
  test('own events: before publish returns, the same object, once; other connections once', async () => {
    const pattern = subs.resourceEvents('u', 'server', 's1');
    const mine: BridgeEvent[] = [];
    const wide: BridgeEvent[] = [];
    const theirs: BridgeEvent[] = [];
    const a = local.subscribe(pattern, (e) => mine.push(e));
    const b = local.subscribe(`${prefix}.evt.u.server.*.console`, (e) => wide.push(e));
    const c = other.subscribe(pattern, (e) => theirs.push(e));
    await settle();
    const event = makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's1', { line: 'hello' });
    local.publish(subs.event('u', 'server.console', 's1'), event);
    assert.deepEqual(mine, [event], 'delivered before publish returned');
    assert.equal(mine[0], event, 'the published object itself');
    assert.equal(wide[0], event, 'to each matching subscription');
    await waitFor('the other connection', () => theirs.length === 1);
    await settle();
    assert.equal(mine.length, 1, 'the echo was dropped');
    assert.equal(wide.length, 1, 'for each subscription');
    assert.equal(theirs[0]!.id, event.id);

    // What another connection publishes arrives through NATS, once.
    const remote = makeEvent({ upstream: 'u', node: 'm' }, 'server.console', 's1', { line: 'from afar' });
    other.publish(subs.event('u', 'server.console', 's1'), remote);
    await waitFor('the remote event', () => mine.length === 2);
    await settle();
    assert.deepEqual(mine.map((e) => e.id), [event.id, remote.id]);
    assert.equal(theirs.length, 2, 'the other bus gets its own event through NATS (no local delivery there)');
    for (const s of [a, b, c]) s.unsubscribe();
    assert.deepEqual(errors, []);
  });

  test('an event not laid out as makeEvent builds it is recognised by its decoded id', async () => {
    const pattern = subs.resourceEvents('u', 'server', 's2');
    const got: BridgeEvent[] = [];
    const s = local.subscribe(pattern, (e) => got.push(e));
    await settle();
    const { id, ...rest } = makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's2', { line: 'x' });
    const reordered = { ...rest, id } as BridgeEvent;
    local.publish(subs.event('u', 'server.console', 's2'), reordered);
    assert.equal(got.length, 1);
    await settle();
    assert.equal(got.length, 1, 'its echo was dropped too');
    s.unsubscribe();
  });

  test('unsubscribed local subscriptions get nothing more, locally or through NATS', async () => {
    const pattern = subs.resourceEvents('u', 'server', 's3');
    const got: BridgeEvent[] = [];
    const s = local.subscribe(pattern, (e) => got.push(e));
    await settle();
    s.unsubscribe();
    local.publish(subs.event('u', 'server.console', 's3'), makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's3', {}));
    other.publish(subs.event('u', 'server.console', 's3'), makeEvent({ upstream: 'u', node: 'm' }, 'server.console', 's3', {}));
    await settle();
    assert.equal(got.length, 0);
  });
});

describe('LocalDelivery echoes', () => {
  test('an id with an escape or a non-ASCII character is parsed, not read in place', () => {
    const d = new LocalDelivery(() => {}, () => {});
    const sub = d.add('p.>', () => {});
    for (const id of ['a"b', 'a\\b', 'é1']) {
      d.deliver('p.x', { ...makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's', {}), id });
      const bytes = new TextEncoder().encode(JSON.stringify({ specversion: '1.0', id, x: 1 }));
      assert.equal(idOf(bytes), id, JSON.stringify(id));
      assert.equal(sub.echo(bytes), true);
    }
    assert.equal(d.expected, 0, 'each echo expected once per subscription, then forgotten');
    assert.equal(idOf(new TextEncoder().encode('not json')), undefined);
  });

  test('local subscribers have an event before it goes to NATS; one a handler publishes follows it, in order', () => {
    const log: string[] = [];
    const ev = (n: number) => makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's', { n });
    const d = new LocalDelivery(() => {}, (_s, e) => void log.push(`nats ${(e.data as { n: number }).n}`));
    d.add('p.>', (e) => {
      const n = (e.data as { n: number }).n;
      log.push(`local ${n}`);
      if (n === 1) d.deliver('p.x', ev(2));
    });
    d.deliver('p.x', ev(1));
    d.deliver('q.x', ev(3)); // no local subscriber: straight on
    assert.deepEqual(log, ['local 1', 'nats 1', 'local 2', 'nats 2', 'nats 3']);
  });

  test('a subscription made after the publish drops the echo without counting it', () => {
    const d = new LocalDelivery(() => {}, () => {});
    const first = d.add('p.>', () => {});
    const event = makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's', {});
    d.deliver('p.x', event);
    const late = d.add('p.>', () => {});
    const bytes = new TextEncoder().encode(JSON.stringify(event));
    assert.equal(idOf(bytes), event.id, 'read in place');
    assert.equal(late.echo(bytes), true);
    assert.equal(d.expected, 1, 'still waiting for the first subscription’s echo');
    assert.equal(first.echo(bytes), true);
    assert.equal(d.expected, 0);
    assert.equal(first.echo(bytes), false, 'a third copy would be a new delivery');
  });
});
