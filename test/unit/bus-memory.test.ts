import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { SubjectIndex, isValidPattern } from '../../src/bus/subject-index.ts';
import { makeEvent, type BridgeEvent } from '../../src/events.ts';
import { Subjects, subjectMatches } from '../../src/subjects.ts';
import { command, runBusSuite } from '../helpers/bus-suite.ts';

runBusSuite('memory', async () => {
  const bus = new MemoryBus({ onError: () => {} });
  return { bus, cleanup: () => bus.drain() };
});

const subjects = new Subjects();
const ev = (type: string, id: string, data: unknown): BridgeEvent => makeEvent({ upstream: 'u', node: 'n' }, type, id, data);

describe('MemoryBus specifics', () => {
  test('delivers synchronously inside publish()', () => {
    const bus = new MemoryBus();
    const got: BridgeEvent[] = [];
    bus.subscribe(subjects.allEvents(), (e) => got.push(e));
    const e = ev('server.console', 'a', { line: 'x' });
    bus.publish(subjects.ofEvent(e), e);
    assert.deepEqual(got, [e]);
  });

  test('a handler that publishes does not reorder events for later handlers', () => {
    const bus = new MemoryBus();
    const subj = subjects.event('u', 'server.console', 'a');
    const first = ev('server.console', 'a', { n: 1 });
    const second = ev('server.console', 'a', { n: 2 });
    const seen: unknown[] = [];
    bus.subscribe(subj, (e) => {
      if (e === first) bus.publish(subj, second);
    });
    bus.subscribe(subj, (e) => seen.push(e.data));
    bus.publish(subj, first);
    assert.deepEqual(seen, [{ n: 1 }, { n: 2 }], 'both delivered, in publish order, before publish() returned');
  });

  test('handler errors are reported to onError', () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus({ onError: (err) => errors.push(err) });
    bus.subscribe('a.b', () => {
      throw new Error('bug');
    });
    bus.publish('a.b', ev('server.console', 'a', {}));
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as Error).message, 'bug');
  });

  test('an unsubscribe during delivery takes effect for the same event', () => {
    const bus = new MemoryBus();
    const got: string[] = [];
    const subs: { unsubscribe(): void }[] = [];
    subs.push(bus.subscribe('a.b', () => subs[1]?.unsubscribe()));
    subs.push(bus.subscribe('a.b', () => got.push('second')));
    bus.publish('a.b', ev('server.console', 'a', {}));
    assert.deepEqual(got, []);
  });

  test('historyLimit bounds the ring; publishes after drain are ignored', async () => {
    const bus = new MemoryBus({ historyLimit: 3 });
    const subj = subjects.event('u', 'server.console', 'a');
    for (let n = 0; n < 5; n++) bus.publish(subj, ev('server.console', 'a', { n }));
    assert.deepEqual((await bus.history(subj, 150)).map((e) => e.data), [{ n: 2 }, { n: 3 }, { n: 4 }]);
    await bus.drain();
    bus.publish(subj, ev('server.console', 'a', { n: 5 }));
    assert.deepEqual((await bus.last(subj))?.data, { n: 4 });
  });

  test('drain waits for a command already being served', async () => {
    const bus = new MemoryBus();
    let answered = false;
    bus.serve('c.>', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      answered = true;
      return { ok: true };
    });
    const reply = bus.request('c.x', command('u', 'x'), 1000);
    await Promise.resolve();
    await bus.drain();
    assert.equal(answered, true);
    assert.deepEqual(await reply, { ok: true });
  });

  test('the command timeout runs on the injected clock', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    bus.serve('c.>', () => new Promise(() => {}));
    let reply: unknown;
    void bus.request('c.x', command('u', 'x'), 5000).then((r) => (reply = r));
    await clock.advance(4999);
    assert.equal(reply, undefined, 'no real or manual time has reached the timeout yet');
    await clock.advance(1);
    assert.deepEqual(reply, { ok: false, code: 'BRIDGE_ERR_COMMAND_TIMEOUT', message: 'no reply within 5000 ms' });
    assert.equal(clock.pending, 0);
  });

  test('a reply in time cancels the command timeout', async () => {
    const clock = new ManualClock();
    const bus = new MemoryBus({ clock });
    bus.serve('c.>', async () => ({ ok: true }));
    assert.deepEqual(await bus.request('c.x', command('u', 'x'), 5000), { ok: true });
    await clock.advance(0);
    assert.equal(clock.pending, 0, 'no timer left armed');
  });

  test('rejects invalid patterns and ignores wildcard publishes', () => {
    const errors: unknown[] = [];
    const bus = new MemoryBus({ onError: (err) => errors.push(err) });
    for (const bad of ['', 'a..b', '.a', 'a.', 'a.>.b', 'a b']) {
      assert.equal(isValidPattern(bad), false, bad);
      assert.throws(() => bus.subscribe(bad, () => {}), TypeError);
    }
    const got: string[] = [];
    bus.subscribe('a.>', (_e, s) => got.push(s));
    bus.publish('a.*', ev('server.console', 'a', {}));
    bus.publish('a.>', ev('server.console', 'a', {}));
    assert.deepEqual(got, []);
    assert.equal(errors.length, 2);
  });
});

describe('SubjectIndex (the token trie)', () => {
  /** A tiny deterministic PRNG so a failure reproduces. */
  function rng(seed: number): () => number {
    return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  }

  test('agrees with subjectMatches on random patterns and subjects', () => {
    const rand = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const tokens = ['a', 'b', 'c'];
    const index = new SubjectIndex<number>();
    const patterns: string[] = [];
    for (let i = 0; i < 400; i++) {
      const len = 1 + Math.floor(rand() * 4);
      const toks = Array.from({ length: len }, (_, j) => (j === len - 1 && rand() < 0.2 ? '>' : pick([...tokens, '*'])));
      patterns.push(toks.join('.'));
      index.add(toks.join('.'), i);
    }
    for (let i = 0; i < 300; i++) {
      const subject = Array.from({ length: 1 + Math.floor(rand() * 5) }, () => pick(tokens)).join('.');
      const expected = patterns.flatMap((p, n) => (subjectMatches(p, subject) ? [n] : []));
      assert.deepEqual(index.match(subject).map((e) => e.handler), expected, subject);
    }
  });

  test('caches matches and invalidates the cache on subscribe and unsubscribe', () => {
    const bus = new MemoryBus();
    const got: string[] = [];
    bus.subscribe('x.*', () => got.push('star'));
    bus.publish('x.y', ev('server.console', 'a', {}));
    const late = bus.subscribe('x.>', () => got.push('late'));
    bus.publish('x.y', ev('server.console', 'a', {}));
    late.unsubscribe();
    bus.publish('x.y', ev('server.console', 'a', {}));
    assert.deepEqual(got, ['star', 'star', 'late', 'star']);

    const index = new SubjectIndex<number>();
    const entry = index.add('x.*', 1);
    index.match('x.y');
    assert.equal(index.cachedSubjects, 1);
    index.add('q', 2);
    assert.equal(index.cachedSubjects, 0, 'subscribe drops cached matches');
    index.match('x.y');
    index.remove(entry);
    index.remove(entry);
    assert.equal(index.cachedSubjects, 0, 'unsubscribe drops cached matches');
    assert.deepEqual(index.match('x.y'), []);
    assert.equal(index.size, 1);
  });

  test('the cache stays bounded under many one-off subjects', () => {
    const index = new SubjectIndex<number>();
    index.add('s.>', 1);
    for (let i = 0; i < 10_000; i++) index.match(`s.${i}`);
    assert.ok(index.cachedSubjects <= 4096, `cache holds ${index.cachedSubjects}`);
  });

  test('thousands of distinct patterns stay cheap to match (far cheaper than a linear scan)', () => {
    const patterns = Array.from({ length: 10_000 }, (_, i) => subjects.resourceEvents('u', 'server', `srv${i}`));
    const index = new SubjectIndex<number>();
    patterns.forEach((p, i) => index.add(p, i));
    const subject = (i: number): string => subjects.event('u', 'server.console', `srv${i}`);
    for (let i = 0; i < 500; i++) index.match(subject(i)); // warm up the JIT
    // Distinct subjects defeat the cache, so this times the trie walk itself.
    let started = performance.now();
    for (let i = 500; i < 2500; i++) assert.deepEqual(index.match(subject(i)).map((e) => e.handler), [i]);
    const triePerLookup = (performance.now() - started) / 2000;
    started = performance.now();
    for (let i = 0; i < 50; i++) assert.equal(patterns.filter((p) => subjectMatches(p, subject(i))).length, 1);
    const linearPerLookup = (performance.now() - started) / 50;
    // Timed side by side so machine load affects both; the real gap is several hundred times.
    assert.ok(triePerLookup * 20 < linearPerLookup, `trie ${triePerLookup.toFixed(4)} ms vs linear ${linearPerLookup.toFixed(4)} ms per lookup`);
  });
});
