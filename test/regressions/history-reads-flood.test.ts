/**
 * Defect 5 of issue 9, the bus part: on NATS every `send logs` cost a consumer create, a fetch and
 * a `last` get, with no bound across the node. Now overlapping reads of one subject share one
 * round trip, and at most `historyConcurrency` reads are in flight per node. A second connection
 * watches the JetStream API subjects, so the test counts the requests the bus really made.
 * Runs its own nats-server (test/helpers/nats-server.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import { NatsBus, streamNames } from '../../src/bus/nats.ts';
import { makeEvent } from '../../src/events.ts';
import { Subjects } from '../../src/subjects.ts';
import { uid, waitFor } from '../helpers/bus-suite.ts';
import { useNatsServer } from '../helpers/nats-server.ts';

const prefix = `reads${uid()}`;
const subjects = new Subjects(prefix);
const streams = streamNames(prefix);

let spy: NatsConnection;
/** JetStream API subjects requested since the last `reset`, in order, for this prefix's streams. */
let api: string[] = [];
let bus: NatsBus;

async function publishLines(up: string, id: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const e = makeEvent({ upstream: up, node: 'n' }, 'server.console', id, { line: `${id} ${i}` });
    bus.publish(subjects.ofEvent(e), e);
  }
  const status = makeEvent({ upstream: up, node: 'n' }, 'server.status', id, { state: 'running' });
  bus.publish(subjects.ofEvent(status), status);
  await bus.flush();
  const subj = subjects.event(up, 'server.console', id);
  await waitFor(`${n} lines of ${id} stored`, async () => (await bus.history(subj, 150)).length === n);
}

/** Lets the spy receive what the bus sent. */
const settleSpy = () => spy.flush();

describe('NatsBus history reads', () => {
  // Hooks of a kind run in the order made: the server starts first and stops last.
  after(async () => {
    await bus?.drain();
    await spy?.close();
  });
  const nats = useNatsServer();
  before(async () => {
    spy = await connect({ servers: [nats.url], name: 'bus-nats-reads-spy' });
    spy.subscribe('$JS.API.>', {
      callback: (_err, msg) => {
        if (msg.subject.includes(streams.history) || msg.subject.includes(streams.last)) api.push(msg.subject);
      },
    });
    await spy.flush();
    bus = new NatsBus({ servers: [nats.url], prefix, storage: 'memory', historyConcurrency: 2, name: 'bus-nats-reads' });
    await bus.start();
  });

  test('overlapping reads of one subject share one JetStream round trip', async () => {
    const up = `u${uid()}`;
    await publishLines(up, 's1', 7);
    await settleSpy();
    api = [];
    const consoleSubj = subjects.event(up, 'server.console', 's1');
    const statusSubj = subjects.event(up, 'server.status', 's1');
    const histories = await Promise.all(Array.from({ length: 30 }, (_, i) => bus.history(consoleSubj, 3 + (i % 5))));
    const lasts = await Promise.all(Array.from({ length: 30 }, () => bus.last(statusSubj)));
    await settleSpy();
    for (const [i, h] of histories.entries()) {
      const want = 3 + (i % 5);
      assert.deepEqual(h.map((e) => (e.data as { line: string }).line), Array.from({ length: want }, (_, k) => `s1 ${7 - want + k}`));
    }
    for (const l of lasts) assert.deepEqual(l?.data, { state: 'running' });
    const creates = api.filter((s) => s.startsWith('$JS.API.CONSUMER.CREATE.'));
    const gets = api.filter((s) => s.startsWith('$JS.API.STREAM.MSG.GET.'));
    assert.equal(creates.length, 1, `one consumer for 30 history reads (${creates.join(', ')})`);
    assert.equal(gets.length, 1, 'one get for 30 last-value reads');
    // Once done, the next read reads again: sharing is for overlapping reads only.
    await bus.history(consoleSubj, 1);
    await settleSpy();
    assert.equal(api.filter((s) => s.startsWith('$JS.API.CONSUMER.CREATE.')).length, 2);
  });

  test('at most historyConcurrency reads are in flight on one node', async () => {
    const up = `u${uid()}`;
    const ids = Array.from({ length: 8 }, (_, i) => `c${i}`);
    for (const id of ids) await publishLines(up, id, 2);
    await settleSpy();
    api = [];
    const got = await Promise.all(ids.map((id) => bus.history(subjects.event(up, 'server.console', id), 150)));
    await settleSpy();
    assert.deepEqual(got.map((h) => h.length), ids.map(() => 2));
    // A read holds its slot from consumer create to consumer delete; the spy sees them in order.
    let open = 0;
    let most = 0;
    for (const s of api) {
      if (s.startsWith('$JS.API.CONSUMER.CREATE.')) most = Math.max(most, ++open);
      else if (s.startsWith('$JS.API.CONSUMER.DELETE.')) open--;
    }
    assert.equal(api.filter((s) => s.startsWith('$JS.API.CONSUMER.CREATE.')).length, 8);
    assert.equal(most, 2, 'historyConcurrency 2: never more than two consumers at once');
  });
});
