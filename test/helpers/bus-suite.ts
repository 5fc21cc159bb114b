/**
 * The conformance suite every Bus implementation passes (DESIGN §5). Each test gets a fresh bus
 * from `makeBus` (not yet started: the suite starts it) and its own upstream name, so tests never
 * see each other's traffic even on a shared nats-server.
 *
 * Negative checks ("X is not delivered") never sleep: they publish a sentinel that the same
 * subscriber does receive after X. One publisher's events reach one subscription in order, so once
 * the sentinel arrived, X would have too.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Bus } from '../../src/bus/bus.ts';
import { makeEvent, type BridgeCommand, type BridgeEvent } from '../../src/events.ts';
import { Subjects } from '../../src/subjects.ts';
import { eventually } from './frame-queue.ts';

export interface BusUnderTest {
  bus: Bus;
  cleanup(): Promise<void>;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 3000): Promise<Truthy<T>> {
  return (await eventually(probe, timeoutMs, `${what} (${timeoutMs} ms)`)) as Truthy<T>;
}

export const uid = (): string => randomBytes(4).toString('hex');

export function command(upstream: string, id: string, data: unknown = {}): BridgeCommand {
  return { type: 'server.command', upstream, resource: 'server', id, data };
}

/** Registers the shared Bus conformance tests under `describe(name)`. */
export function runBusSuite(name: string, makeBus: () => Promise<BusUnderTest>, opts: { prefix?: string } = {}): void {
  const subjects = new Subjects(opts.prefix ?? 'bridge');
  const ev = <D>(up: string, type: string, id: string, data: D): BridgeEvent<D> => makeEvent({ upstream: up, node: 'n1' }, type, id, data);

  /** Runs `fn` against a started bus with a fresh upstream name; always cleans up. */
  async function withBus(fn: (bus: Bus, up: string) => Promise<void>): Promise<void> {
    const { bus, cleanup } = await makeBus();
    try {
      await bus.start();
      await fn(bus, `u${uid()}`);
    } finally {
      await cleanup();
    }
  }

  /** Publishes an event on its canonical subject and returns it. */
  function pub<D>(bus: Bus, event: BridgeEvent<D>): BridgeEvent<D> {
    bus.publish(subjects.ofEvent(event), event);
    return event;
  }

  describe(`Bus conformance: ${name}`, () => {
    test('delivers an event to a subscriber of its exact subject, and not of a sibling', () =>
      withBus(async (bus, up) => {
        const got: [BridgeEvent, string][] = [];
        const sibling: BridgeEvent[] = [];
        const subj = subjects.event(up, 'server.console', 'x');
        bus.subscribe(subj, (e, s) => got.push([e, s]));
        bus.subscribe(subjects.event(up, 'server.console', 'y'), (e) => sibling.push(e));
        await bus.flush();
        const sent = pub(bus, ev(up, 'server.console', 'x', { line: 'hello' }));
        const sentinel = pub(bus, ev(up, 'server.console', 'y', { line: 'done' }));
        await waitFor('delivery', () => got.length === 1 && sibling.length === 1);
        assert.deepEqual(got, [[sent, subj]]);
        assert.deepEqual(sibling, [sentinel]);
      }));

    test('`*` matches exactly one token', () =>
      withBus(async (bus, up) => {
        const got: string[] = [];
        bus.subscribe(subjects.typeAcross(up, 'server.console'), (e) => got.push(`${e.subject}:${e.type}`));
        await bus.flush();
        pub(bus, ev(up, 'server.console', 'a', { line: '1' }));
        pub(bus, ev(up, 'server.install.output', 'a', { line: 'no: two tokens after the id' }));
        pub(bus, ev(up, 'server.status', 'a', { state: 'running' }));
        pub(bus, ev(`${up}x`, 'server.console', 'a', { line: 'no: other upstream' }));
        pub(bus, ev(up, 'server.console', 'b', { line: '2' }));
        await waitFor('two consoles', () => got.length >= 2);
        assert.deepEqual(got, ['a:server.console', 'b:server.console']);
      }));

    test('`>` matches one or more trailing tokens, never zero', () =>
      withBus(async (bus, up) => {
        const got: string[] = [];
        const consoleSubj = subjects.event(up, 'server.console', 'a');
        bus.subscribe(subjects.resourceEvents(up, 'server', 'a'), (_e, s) => got.push(s));
        const deeper: string[] = [];
        bus.subscribe(`${consoleSubj}.>`, (_e, s) => deeper.push(s));
        await bus.flush();
        const e = ev(up, 'server.console', 'a', { line: 'x' });
        bus.publish(consoleSubj, e);
        bus.publish(subjects.event(up, 'server.install.output', 'a'), e);
        bus.publish(subjects.event(up, 'server.console', 'b'), e);
        bus.publish(`${consoleSubj}.more`, e);
        await waitFor('deliveries', () => got.length >= 3 && deeper.length >= 1);
        assert.deepEqual(got, [consoleSubj, subjects.event(up, 'server.install.output', 'a'), `${consoleSubj}.more`]);
        assert.deepEqual(deeper, [`${consoleSubj}.more`], '`console.>` must not match `console` itself');
      }));

    test('keeps publish order on one subject', () =>
      withBus(async (bus, up) => {
        const got: number[] = [];
        bus.subscribe(subjects.event(up, 'server.console', 'a'), (e) => got.push((e.data as { n: number }).n));
        await bus.flush();
        for (let n = 0; n < 100; n++) pub(bus, ev(up, 'server.console', 'a', { n }));
        await waitFor('100 events', () => got.length >= 100);
        assert.deepEqual(got, Array.from({ length: 100 }, (_, n) => n));
      }));

    test('unsubscribe stops delivery and is idempotent', () =>
      withBus(async (bus, up) => {
        const subj = subjects.event(up, 'server.console', 'a');
        const a: BridgeEvent[] = [];
        const b: BridgeEvent[] = [];
        const subA = bus.subscribe(subj, (e) => a.push(e));
        bus.subscribe(subj, (e) => b.push(e));
        await bus.flush();
        pub(bus, ev(up, 'server.console', 'a', { line: '1' }));
        await waitFor('first event', () => a.length === 1 && b.length === 1);
        subA.unsubscribe();
        subA.unsubscribe();
        await bus.flush();
        pub(bus, ev(up, 'server.console', 'a', { line: '2' }));
        await waitFor('second event on the other subscriber', () => b.length === 2);
        assert.equal(a.length, 1);
      }));

    test('a throwing handler stops neither other handlers nor later events', () =>
      withBus(async (bus, up) => {
        const subj = subjects.event(up, 'server.console', 'a');
        let thrown = 0;
        const ok: string[] = [];
        bus.subscribe(subj, () => {
          thrown++;
          throw new Error('handler bug');
        });
        bus.subscribe(subj, (e) => ok.push((e.data as { line: string }).line));
        await bus.flush();
        pub(bus, ev(up, 'server.console', 'a', { line: '1' }));
        pub(bus, ev(up, 'server.console', 'a', { line: '2' }));
        await waitFor('both events', () => ok.length === 2 && thrown === 2);
        assert.deepEqual(ok, ['1', '2']);
      }));

    test('request/reply round trip carries command and reply data', () =>
      withBus(async (bus, up) => {
        const seen: [BridgeCommand, string][] = [];
        bus.serve(subjects.upstreamCommands(up), async (cmd, subject) => {
          seen.push([cmd, subject]);
          return { ok: true, data: { echo: cmd.data } };
        });
        await bus.flush();
        const cmd = command(up, 'srv.1', { line: 'say hi' });
        const reply = await bus.request(subjects.command(up, 'server', 'srv.1'), cmd, 2000);
        assert.deepEqual(reply, { ok: true, data: { echo: { line: 'say hi' } } });
        assert.deepEqual(seen, [[cmd, subjects.command(up, 'server', 'srv.1')]]);
      }));

    test('request with no server answers BRIDGE_ERR_UPSTREAM_UNAVAILABLE', () =>
      withBus(async (bus, up) => {
        bus.serve(subjects.command(up, 'server', 'other'), async () => ({ ok: true }));
        await bus.flush();
        const reply = await bus.request(subjects.command(up, 'server', 'a'), command(up, 'a'), 2000);
        assert.equal(reply.ok, false);
        assert.equal(!reply.ok && reply.code, 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE');
      }));

    test('request without a reply in time answers BRIDGE_ERR_COMMAND_TIMEOUT', () =>
      withBus(async (bus, up) => {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let called = 0;
        bus.serve(subjects.command(up, 'server', 'a'), async () => {
          called++;
          await held;
          return { ok: true };
        });
        await bus.flush();
        const started = Date.now();
        const reply = await bus.request(subjects.command(up, 'server', 'a'), command(up, 'a'), 100);
        release();
        assert.equal(!reply.ok && reply.code, 'BRIDGE_ERR_COMMAND_TIMEOUT');
        assert.equal(called, 1, 'the server was reached');
        assert.ok(Date.now() - started < 2000, 'the timeout was honoured');
      }));

    test('a serve handler that throws answers BRIDGE_ERR_INTERNAL', () =>
      withBus(async (bus, up) => {
        bus.serve(subjects.command(up, 'server', 'a'), async () => {
          throw new Error('boom');
        });
        await bus.flush();
        const reply = await bus.request(subjects.command(up, 'server', 'a'), command(up, 'a'), 2000);
        assert.equal(!reply.ok && reply.code, 'BRIDGE_ERR_INTERNAL');
      }));

    test('history keeps the last 150 of 200 console lines, oldest first', () =>
      withBus(async (bus, up) => {
        const subj = subjects.event(up, 'server.console', 'a');
        for (let n = 0; n < 200; n++) pub(bus, ev(up, 'server.console', 'a', { n }));
        const nums = (events: BridgeEvent[]): number[] => events.map((e) => (e.data as { n: number }).n);
        const all = await waitFor('history to fill', async () => {
          const h = await bus.history(subj, 150);
          return h.length === 150 && nums(h).at(-1) === 199 && h;
        });
        assert.deepEqual(nums(all), Array.from({ length: 150 }, (_, i) => 50 + i));
        assert.deepEqual(nums(await bus.history(subj, 10)), Array.from({ length: 10 }, (_, i) => 190 + i));
        assert.deepEqual(await bus.last(subj), all.at(-1));
      }));

    test('history and last of an unknown subject are empty', () =>
      withBus(async (bus, up) => {
        assert.deepEqual(await bus.history(subjects.event(up, 'server.console', `nobody${uid()}`), 150), []);
        assert.equal(await bus.last(subjects.event(up, 'server.status', `nobody${uid()}`)), undefined);
      }));

    test('last of server.status returns only the latest', () =>
      withBus(async (bus, up) => {
        const subj = subjects.event(up, 'server.status', 'a');
        pub(bus, ev(up, 'server.status', 'a', { state: 'starting' }));
        const latest = pub(bus, ev(up, 'server.status', 'a', { state: 'running' }));
        await waitFor('latest status', async () => (await bus.last(subj))?.id === latest.id);
        assert.deepEqual(await bus.last(subj), latest);
        assert.deepEqual(await bus.history(subj, 150), [latest], 'a last-value subject keeps one event');
      }));

    test('a none-retention type is delivered but not retained', () =>
      withBus(async (bus, up) => {
        const subj = subjects.event(up, 'server.daemon.message', 'a');
        const got: BridgeEvent[] = [];
        bus.subscribe(subj, (e) => got.push(e));
        await bus.flush();
        pub(bus, ev(up, 'server.daemon.message', 'a', { message: 'hi' }));
        // A retained event published afterwards: once it is stored, the daemon message was handled.
        const marker = pub(bus, ev(up, 'server.console', 'a', { line: 'marker' }));
        await waitFor('delivery and marker', async () => got.length === 1 && (await bus.last(subjects.ofEvent(marker)))?.id === marker.id);
        assert.deepEqual(await bus.history(subj, 150), []);
        assert.equal(await bus.last(subj), undefined);
      }));

    test('escaped ids are isolated: a.b, a*, a>, a%2Eb and "a b" never reach a subscriber of a, nor vice versa', () =>
      withBus(async (bus, up) => {
        const ids = ['a', 'a.b', 'a*', 'a>', 'a%2Eb', 'a b'];
        const got = new Map<string, string[]>(ids.map((id) => [id, []]));
        for (const id of ids) bus.subscribe(subjects.resourceEvents(up, 'server', id), (e) => got.get(id)?.push(e.subject));
        await bus.flush();
        for (const id of ids) pub(bus, ev(up, 'server.console', id, { line: id }));
        for (const id of ids) pub(bus, ev(up, 'server.status', id, { state: 'running' }));
        await waitFor('every sentinel', () => ids.every((id) => (got.get(id)?.length ?? 0) >= 2));
        for (const id of ids) assert.deepEqual(got.get(id), [id, id], `subscriber of ${JSON.stringify(id)}`);
      }));

    test('state is connected after start and closed after drain; drain twice is fine', async () => {
      const { bus, cleanup } = await makeBus();
      try {
        const seen: string[] = [];
        bus.onStateChange((s) => seen.push(s));
        await bus.start();
        assert.equal(bus.state, 'connected');
        await bus.drain();
        assert.equal(bus.state, 'closed');
        await bus.drain();
        assert.equal(bus.state, 'closed');
        assert.doesNotThrow(() => bus.publish(subjects.event('u', 'server.console', 'a'), ev('u', 'server.console', 'a', {})));
        assert.equal(seen[0], 'connected');
        assert.equal(seen.at(-1), 'closed');
        const reply = await bus.request(subjects.command('u', 'server', 'a'), command('u', 'a'), 100);
        assert.equal(!reply.ok && reply.code, 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE');
      } finally {
        await cleanup();
      }
    });
  });
}
