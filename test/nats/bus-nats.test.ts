/**
 * NatsBus against a real nats-server with JetStream that this file starts itself (free port,
 * temporary store). No nats-server binary is a FAILURE with one line saying how to install it, not
 * a skip: a green run must mean the NATS bus was exercised. The reconnect test runs a second server
 * of its own, so that stopping it disturbs nothing else.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { NatsBus, streamNames, type NatsBusOptions } from '../../src/bus/nats.ts';
import type { BusState } from '../../src/bus/bus.ts';
import { makeEvent } from '../../src/events.ts';
import { Subjects } from '../../src/subjects.ts';
import { runBusSuite, uid, waitFor } from '../helpers/bus-suite.ts';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';

/** This file's server, shared by its tests; started and stopped around the admin buses below. */
let nats: NatsServerHandle;
const prefix = `t${uid()}`;
const errors: unknown[] = [];
/** Buses whose streams must go at the end, keyed by prefix (one admin bus per prefix). */
const admins = new Map<string, NatsBus>();

function natsBus(over: Partial<NatsBusOptions> = {}): NatsBus {
  return new NatsBus({ servers: [nats.url], prefix, name: 'bus-nats-test', onError: (err) => errors.push(err), ...over });
}

/** A started bus kept until the end of the file so that `after` can delete that prefix's streams. */
async function adminFor(p: string): Promise<NatsBus> {
  let admin = admins.get(p);
  if (!admin) {
    admin = natsBus({ prefix: p });
    await admin.start();
    admins.set(p, admin);
  }
  return admin;
}

before(async () => {
  nats = await startNatsServer();
  await adminFor(prefix);
});

after(async () => {
  for (const admin of admins.values()) {
    await admin.deleteStreams();
    await admin.drain();
  }
  await nats?.stop();
});

runBusSuite(
  'nats',
  async () => {
    const bus = natsBus();
    return { bus, cleanup: () => bus.drain() };
  },
  { prefix },
);

describe('NatsBus specifics', () => {
  const subjects = new Subjects(prefix);

  test('stream names are derived from the prefix one-to-one', () => {
    assert.deepEqual(streamNames('bridge'), { history: 'BRIDGE_HISTORY', last: 'BRIDGE_LAST' });
    const names = ['a.b', 'a_b', 'A_B', 'a-b', 'ab'].map((p) => streamNames(p).history);
    assert.equal(new Set(names).size, names.length, names.join(' '));
    for (const n of names) assert.match(n, /^[A-Z0-9_-]+$/);
  });

  test('history and last come from JetStream for a late-joining connection', async () => {
    const up = `u${uid()}`;
    const early = natsBus();
    const late = natsBus({ name: 'late-joiner' });
    try {
      await early.start();
      const lines = Array.from({ length: 5 }, (_, n) => makeEvent({ upstream: up, node: 'node-a' }, 'server.console', 's1', { n }));
      for (const e of lines) early.publish(subjects.ofEvent(e), e);
      const status = makeEvent({ upstream: up, node: 'node-a' }, 'server.status', 's1', { state: 'running' });
      early.publish(subjects.ofEvent(status), status);
      await early.flush();
      await early.drain(); // the publisher is gone: only JetStream can answer now

      await late.start();
      const consoleSubj = subjects.event(up, 'server.console', 's1');
      await waitFor('stored history', async () => (await late.history(consoleSubj, 150)).length === 5);
      assert.deepEqual(await late.history(consoleSubj, 150), lines);
      assert.deepEqual(await late.last(consoleSubj), lines[4]);
      assert.deepEqual(await late.last(subjects.event(up, 'server.status', 's1')), status);
    } finally {
      await early.drain();
      await late.drain();
    }
  });

  test('start() updates an existing stream to the configured history limit', async () => {
    const p = `t${uid()}`;
    const subj = new Subjects(p).event('u', 'server.console', 's1');
    const publishAll = async (bus: NatsBus, count: number): Promise<void> => {
      for (let n = 0; n < count; n++) bus.publish(subj, makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's1', { n }));
      await bus.flush();
    };
    const small = natsBus({ prefix: p, historyLimit: 5 });
    const big = natsBus({ prefix: p, historyLimit: 10 });
    try {
      await small.start();
      await publishAll(small, 8);
      await waitFor('5 retained', async () => (await small.history(subj, 150)).length === 5);
      await big.start();
      await publishAll(big, 12);
      const h = await waitFor('10 retained', async () => {
        const got = await big.history(subj, 150);
        return got.length === 10 && (got.at(-1)?.data as { n: number }).n === 11 && got;
      });
      assert.deepEqual(h.map((e) => (e.data as { n: number }).n), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    } finally {
      await [big, small].find((b) => b.state === 'connected')?.deleteStreams();
      await small.drain();
      await big.drain();
    }
  });

  describe('reconnect (own nats-server)', () => {
    let server: NatsServerHandle | undefined;

    before(async () => {
      server = await startNatsServer();
    });

    after(() => server?.stop());

    test('goes reconnecting → connected across a server restart, and subscriptions work again', async () => {
      const p = `t${uid()}`;
      const subs = new Subjects(p);
      const bus = natsBus({ prefix: p, servers: [server!.url] });
      const states: BusState[] = [];
      bus.onStateChange((s) => states.push(s));
      try {
        await bus.start();
        const got: number[] = [];
        bus.subscribe(subs.resourceEvents('u', 'server', 's1'), (e) => got.push((e.data as { n: number }).n));
        await bus.flush();
        const send = (n: number): void => bus.publish(subs.event('u', 'server.console', 's1'), makeEvent({ upstream: 'u', node: 'n' }, 'server.console', 's1', { n }));
        send(1);
        await waitFor('delivery before restart', () => got.length === 1);
        await waitFor('stored before restart', async () => (await bus.history(subs.event('u', 'server.console', 's1'), 10)).length === 1);

        await server!.shutdown();
        await waitFor('reconnecting', () => bus.state === 'reconnecting');
        await server!.restart();
        await waitFor('connected again', () => bus.state === 'connected', 15_000);
        assert.deepEqual(states.slice(states.indexOf('reconnecting')), ['reconnecting', 'connected']);

        await bus.flush();
        send(2);
        await waitFor('delivery after restart', () => got.length === 2);
        assert.deepEqual(got, [1, 2]);
        // File storage (the default) kept what was retained before the restart.
        const h = await waitFor('history after restart', async () => {
          const events = await bus.history(subs.event('u', 'server.console', 's1'), 10);
          return events.length === 2 && events;
        });
        assert.deepEqual(h.map((e) => (e.data as { n: number }).n), [1, 2]);

        // Draining while the server is gone must not wait for it to come back.
        await server!.shutdown();
        await waitFor('reconnecting again', () => bus.state === 'reconnecting');
        await bus.drain();
        assert.equal(bus.state, 'closed');
      } finally {
        await bus.drain();
      }
    });
  });
});
