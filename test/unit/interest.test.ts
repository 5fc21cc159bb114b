import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, settle } from '../../src/clock.ts';
import { InterestTable, type Interest } from '../../src/upstream/interest.ts';

const plain = (i: Interest) => Object.fromEntries([...i].map(([r, ids]) => [r, [...ids].sort()]));

test('the union over sessions grows, shrinks and is announced only when it changes', async () => {
  const t = new InterestTable();
  const seen: Record<string, string[]>[] = [];
  t.onChange('felix', (u) => seen.push(plain(u)));
  t.declare('s1', 'felix', 'guild', ['g1']);
  await settle();
  t.declare('s2', 'felix', 'guild', ['g2', 'g1']);
  await settle();
  t.declare('s2', 'felix', 'user', ['u1']);
  await settle();
  t.declare('s1', 'felix', 'guild', ['g1']); // unchanged: no announcement
  t.declare('s3', 'other', 'guild', ['x']); // another upstream: not announced here
  await settle();
  assert.deepEqual(plain(t.union('felix')), { guild: ['g1', 'g2'], user: ['u1'] });
  t.drop('s2');
  await settle();
  assert.deepEqual(plain(t.union('felix')), { guild: ['g1'], user: [] });
  t.declare('s1', 'felix', 'guild', []);
  await settle();
  assert.deepEqual(seen, [
    { guild: ['g1'] },
    { guild: ['g1', 'g2'] },
    { guild: ['g1', 'g2'], user: ['u1'] },
    { guild: ['g1'], user: [] },
    { guild: [], user: [] },
  ]);
});

test('an id two sessions want stays in the union until both let it go', async () => {
  const t = new InterestTable();
  t.declare('s1', 'felix', 'user', ['u1', 'u2']);
  t.declare('s2', 'felix', 'user', ['u2', 'u3']);
  t.declare('s1', 'felix', 'user', ['u3']);
  assert.deepEqual(plain(t.union('felix')), { user: ['u2', 'u3'] });
  t.drop('s2');
  assert.deepEqual(plain(t.union('felix')), { user: ['u3'] });
  t.drop('s1');
  assert.deepEqual(plain(t.union('felix')), { user: [] });
});

test('changes are coalesced: never within the turn, then at most one update per window with the final union', async () => {
  const clock = new ManualClock();
  const t = new InterestTable({ clock, coalesceMs: 100 });
  const seen: Record<string, string[]>[] = [];
  t.onChange('felix', (u) => seen.push(plain(u)));
  t.declare('s1', 'felix', 'user', ['u1']);
  t.declare('s1', 'felix', 'guild', ['g1']);
  assert.equal(seen.length, 0, 'not within the turn that changed it');
  await settle();
  assert.deepEqual(seen, [{ user: ['u1'], guild: ['g1'] }], 'one update for both changes of the turn');
  for (let i = 2; i <= 50; i++) {
    t.declare('s1', 'felix', 'user', [`u${i}`]);
    await settle();
  }
  assert.equal(seen.length, 1, 'changes inside the window wait for its end');
  await clock.advance(99);
  assert.equal(seen.length, 1);
  await clock.advance(1);
  assert.deepEqual(seen.slice(1), [{ user: ['u50'], guild: ['g1'] }], 'the final union, once');
  await clock.advance(1000);
  assert.equal(seen.length, 2, 'no change, no update');
  assert.equal(clock.pending, 0, 'an idle table holds no timer');
  t.declare('s1', 'felix', 'user', ['u1']);
  await settle();
  assert.deepEqual(seen.slice(2), [{ user: ['u1'], guild: ['g1'] }], 'after a quiet window the next change goes at once');
});
