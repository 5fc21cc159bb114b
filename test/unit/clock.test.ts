/** ManualClock (src/clock.ts): time moves only when a test advances it. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';

describe('ManualClock', () => {
  test('starts at the given time and only moves on advance()', async () => {
    const clock = new ManualClock(1_000_000);
    assert.equal(clock.now(), 1_000_000);
    await clock.advance(250);
    assert.equal(clock.now(), 1_000_250);
    assert.equal(new ManualClock().now(), Date.UTC(2026, 0, 1));
  });

  test('timers fire in time order (ties in arming order), at their own time', async () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    const at = (name: string) => () => fired.push([name, clock.now()]);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b'), 20);
    clock.setTimeout(at('a2'), 10);
    await clock.advance(9);
    assert.deepEqual(fired, []);
    await clock.advance(21);
    assert.deepEqual(fired, [['a', 10], ['a2', 10], ['b', 20], ['c', 30]]);
    assert.equal(clock.now(), 30);
  });

  test('intervals repeat until cancelled', async () => {
    const clock = new ManualClock(0);
    const times: number[] = [];
    const t = clock.setInterval(() => times.push(clock.now()), 10);
    await clock.advance(35);
    assert.deepEqual(times, [10, 20, 30]);
    await clock.advance(5);
    assert.deepEqual(times, [10, 20, 30, 40]);
    t.cancel();
    await clock.advance(100);
    assert.deepEqual(times, [10, 20, 30, 40]);
    assert.equal(clock.pending, 0);
  });

  test('cancel before firing prevents it; cancel is idempotent and harmless after firing', async () => {
    const clock = new ManualClock(0);
    let a = 0;
    let b = 0;
    const ta = clock.setTimeout(() => a++, 10);
    const tb = clock.setTimeout(() => b++, 10);
    ta.cancel();
    ta.cancel();
    await clock.advance(20);
    assert.equal(a, 0);
    assert.equal(b, 1);
    tb.cancel();
    await clock.advance(20);
    assert.equal(b, 1);
  });

  test('an interval cancelled from its own callback stops', async () => {
    const clock = new ManualClock(0);
    let n = 0;
    const t = clock.setInterval(() => {
      if (++n === 3) t.cancel();
    }, 5);
    await clock.advance(100);
    assert.equal(n, 3);
  });

  test('timers armed inside callbacks during advance fire if due, and not if not', async () => {
    const clock = new ManualClock(0);
    const fired: [string, number][] = [];
    clock.setTimeout(() => {
      fired.push(['outer', clock.now()]);
      clock.setTimeout(() => fired.push(['inner', clock.now()]), 5);
      clock.setTimeout(() => fired.push(['zero', clock.now()]), 0);
      clock.setTimeout(() => fired.push(['late', clock.now()]), 50);
    }, 10);
    clock.setTimeout(() => fired.push(['other', clock.now()]), 12);
    await clock.advance(20);
    assert.deepEqual(fired, [['outer', 10], ['zero', 10], ['other', 12], ['inner', 15]]);
    assert.equal(clock.pending, 1, 'the late timer is still armed');
    await clock.advance(40);
    assert.deepEqual(fired.at(-1), ['late', 60]);
    assert.equal(clock.pending, 0);
  });

  test('a timer cancelled by an earlier callback in the same advance does not fire', async () => {
    const clock = new ManualClock(0);
    let fired = false;
    const victim = clock.setTimeout(() => {
      fired = true;
    }, 20);
    clock.setTimeout(() => victim.cancel(), 10);
    await clock.advance(30);
    assert.equal(fired, false);
  });

  test('pending counts armed timers only', async () => {
    const clock = new ManualClock(0);
    assert.equal(clock.pending, 0);
    const t1 = clock.setTimeout(() => {}, 10);
    clock.setTimeout(() => {}, 20);
    const iv = clock.setInterval(() => {}, 5);
    assert.equal(clock.pending, 3);
    t1.cancel();
    assert.equal(clock.pending, 2);
    await clock.advance(25);
    assert.equal(clock.pending, 1, 'fired one-shots are gone, the interval stays');
    iv.cancel();
    assert.equal(clock.pending, 0);
  });

  test('advance settles promise work started by a timer', async () => {
    const clock = new ManualClock(0);
    let done = false;
    clock.setTimeout(() => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => {
          done = true;
        });
    }, 10);
    await clock.advance(10);
    assert.equal(done, true);
  });
});
