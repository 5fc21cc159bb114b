import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InterestTable, type Interest } from '../../src/upstream/interest.ts';

const plain = (i: Interest) => Object.fromEntries([...i].map(([r, ids]) => [r, [...ids].sort()]));

test('the union over sessions grows, shrinks and is announced only when it changes', () => {
  const t = new InterestTable();
  const seen: Record<string, string[]>[] = [];
  t.onChange('felix', (u) => seen.push(plain(u)));
  t.declare('s1', 'felix', 'guild', ['g1']);
  t.declare('s2', 'felix', 'guild', ['g2', 'g1']);
  t.declare('s2', 'felix', 'user', ['u1']);
  t.declare('s1', 'felix', 'guild', ['g1']); // unchanged: no announcement
  t.declare('s3', 'other', 'guild', ['x']); // another upstream: not announced here
  assert.deepEqual(plain(t.union('felix')), { guild: ['g1', 'g2'], user: ['u1'] });
  t.drop('s2');
  assert.deepEqual(plain(t.union('felix')), { guild: ['g1'] });
  t.declare('s1', 'felix', 'guild', []);
  assert.deepEqual(seen, [
    { guild: ['g1'] },
    { guild: ['g1', 'g2'] },
    { guild: ['g1', 'g2'], user: ['u1'] },
    { guild: ['g1'] },
    { guild: [] },
  ]);
});
