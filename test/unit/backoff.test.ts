/** Backoff (src/upstream/backoff.ts): the reconnect delay ceiling and its full jitter. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Backoff } from '../../src/upstream/backoff.ts';
import { seeded } from '../helpers/random.ts';

describe('Backoff', () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2 };

  test('the ceiling grows ×multiplier per attempt and caps at maxMs', () => {
    const b = new Backoff(policy, () => 0.5);
    const ceilings: number[] = [];
    for (let i = 0; i < 8; i++) {
      ceilings.push(b.ceiling());
      b.next();
    }
    assert.deepEqual(ceilings, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    assert.equal(b.attempt, 8);
  });

  test('random → 0.999999 gives delays just below the ceiling', () => {
    const b = new Backoff(policy, () => 0.999999);
    const delays = Array.from({ length: 7 }, () => b.next());
    assert.deepEqual(delays, [99, 199, 399, 799, 999, 999, 999]);
  });

  test('random → 0 gives zero delays', () => {
    const b = new Backoff(policy, () => 0);
    for (let i = 0; i < 10; i++) assert.equal(b.next(), 0);
    assert.equal(b.attempt, 10);
  });

  test('full jitter: 0 ≤ delay < ceiling, integer, for seeded randoms and a fractional multiplier', () => {
    const b = new Backoff({ initialMs: 250, maxMs: 30000, multiplier: 1.7 }, seeded(11));
    for (let i = 0; i < 200; i++) {
      if (i % 25 === 0) b.reset();
      const ceiling = b.ceiling();
      assert.ok(ceiling <= 30000);
      const d = b.next();
      assert.ok(Number.isInteger(d), `delay ${d} is an integer`);
      assert.ok(d >= 0 && d < ceiling, `delay ${d} within [0, ${ceiling})`);
    }
  });

  test('many attempts never overflow past maxMs', () => {
    const b = new Backoff(policy, () => 0.999999);
    for (let i = 0; i < 5000; i++) b.next();
    assert.equal(b.ceiling(), 1000);
    assert.equal(b.next(), 999);
  });

  test('reset() returns to the initial ceiling', () => {
    const b = new Backoff(policy, () => 0.999999);
    b.next();
    b.next();
    b.next();
    assert.equal(b.ceiling(), 800);
    b.reset();
    assert.equal(b.attempt, 0);
    assert.equal(b.ceiling(), 100);
    assert.equal(b.next(), 99);
  });

  test('uses Math.random by default, within bounds', () => {
    const b = new Backoff(policy);
    for (let i = 0; i < 50; i++) {
      const c = b.ceiling();
      const d = b.next();
      assert.ok(d >= 0 && d < c);
    }
  });
});
