/**
 * The spreading of links over nodes (src/cluster/balance.ts) and the presence table that feeds it
 * (src/cluster/presence.ts, on a ManualClock): every node computes the same assignment, each node
 * gets its share rounded up at most, a joining or leaving node moves few links, and nodes that
 * lease other links, or were not heard of for the TTL, are not counted.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { assignOwners, keySetDigest, rendezvousWeight } from '../../src/cluster/balance.ts';
import { Presence } from '../../src/cluster/presence.ts';

function keys(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `up.server.${(i * 2654435761 % 2 ** 32).toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`);
}
function nodes(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `relay-${i + 1}`);
}
function loads(owners: Map<string, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const node of owners.values()) out.set(node, (out.get(node) ?? 0) + 1);
  return out;
}
function moved(a: Map<string, string>, b: Map<string, string>): string[] {
  return [...a.keys()].filter((k) => a.get(k) !== b.get(k));
}

describe('balance: rendezvous hashing with bounded loads', () => {
  test('the weight is a fixed function of node and key', () => {
    assert.equal(rendezvousWeight('n1', 'up.server.a'), rendezvousWeight('n1', 'up.server.a'));
    assert.notEqual(rendezvousWeight('n1', 'up.server.a'), rendezvousWeight('n2', 'up.server.a'));
    assert.notEqual(rendezvousWeight('n1', 'up.server.a'), rendezvousWeight('n1', 'up.server.b'));
    // Pinned: a change here would move links between relays of two versions in one cluster.
    assert.equal(rendezvousWeight('n1', 'up.server.a'), 0x9b9e5fabb070);
  });

  for (const [k, n] of [[6, 3], [4, 3], [7, 2], [100, 7], [1000, 3], [3, 5]] as const) {
    test(`spread: ${k} links over ${n} nodes, each node between ⌊k/n⌋-ish and ⌈k/n⌉, every link placed once`, () => {
      const owners = assignOwners(keys(k), nodes(n));
      assert.equal(owners.size, k);
      const cap = Math.ceil(k / n);
      for (const [node, count] of loads(owners)) assert.ok(count <= cap, `${node} has ${count} > ${cap}`);
      for (const node of owners.values()) assert.ok(nodes(n).includes(node));
      // With the cap at the share rounded up, at most n − 1 nodes can fall short of ⌊k/n⌋.
      const total = [...loads(owners).values()].reduce((a, b) => a + b, 0);
      assert.equal(total, k);
      if (k % n === 0) assert.deepEqual([...loads(owners).values()].sort(), Array(n).fill(k / n), 'an even split when it divides');
    });
  }

  test('stability: the same answer whatever the order of the inputs, and with duplicates', () => {
    const ks = keys(50);
    const a = assignOwners(ks, nodes(4));
    const b = assignOwners([...ks].reverse().concat(ks.slice(0, 5)), [...nodes(4)].reverse());
    assert.deepEqual([...a].sort(), [...b].sort());
  });

  test('stability: a node that joins takes about its share and moves little else; one that leaves frees about its own', () => {
    for (const [k, n] of [[60, 5], [100, 7], [300, 9], [600, 5], [1000, 3]] as const) {
      const before = assignOwners(keys(k), nodes(n));
      const joined = assignOwners(keys(k), [...nodes(n), 'relay-new']);
      const share = k / (n + 1);
      const onNew = [...joined.values()].filter((v) => v === 'relay-new').length;
      assert.ok(onNew >= Math.floor(share) - 1 && onNew <= Math.ceil(share), `${k}/${n}: the new node took ${onNew}, its share is ${share}`);
      // Rendezvous alone would move exactly the new node's links; the load bound cascades a few
      // more (the cap drops, so some links move on to their next choice).
      assert.ok(moved(before, joined).length <= 1.75 * share, `${k}/${n}: ${moved(before, joined).length} links moved on a join (share ${share})`);

      const left = assignOwners(keys(k), nodes(n).slice(1));
      const freed = [...before.values()].filter((v) => v === 'relay-1').length;
      const others = moved(before, left).filter((key) => before.get(key) !== 'relay-1');
      assert.ok(others.length <= 0.35 * freed, `${k}/${n}: ${others.length} links of the staying nodes moved on a leave (the leaver held ${freed})`);
    }
  });

  test('bounded load: a node that rendezvous alone would overload keeps only its share', () => {
    // Links whose first choice is relay-1: plain rendezvous would put all of them there.
    const mine = keys(400).filter((key) => nodes(3).every((n) => rendezvousWeight('relay-1', key) >= rendezvousWeight(n, key))).slice(0, 6);
    assert.equal(mine.length, 6);
    const owners = assignOwners(mine, nodes(3));
    assert.deepEqual([...loads(owners).entries()].sort(), [['relay-1', 2], ['relay-2', 2], ['relay-3', 2]]);
  });

  test('no nodes: nothing is assigned', () => {
    assert.equal(assignOwners(keys(3), []).size, 0);
  });

  test('the key set digest names a set: order and duplicates do not matter, content does', () => {
    assert.equal(keySetDigest(['a', 'b', 'c']), keySetDigest(['c', 'a', 'b', 'a']));
    assert.notEqual(keySetDigest(['a', 'b']), keySetDigest(['a', 'b', 'c']));
  });
});

describe('presence', () => {
  const TTL = 1000;
  const ks = keys(6);
  const group = keySetDigest(ks);
  function table(self: string, clock: ManualClock, own = ks): Presence {
    return new Presence({ self, ttlMs: TTL, clock, keys: () => own });
  }

  test('members: itself always; others of its group until not heard of for the TTL, or deleted', async () => {
    const clock = new ManualClock(0);
    const p = table('relay-1', clock);
    assert.deepEqual(p.members(), ['relay-1']);
    p.observe('relay-2', { node: 'relay-2', instance: 'a', group }, 1);
    p.observe('relay-3', { node: 'relay-3', instance: 'b', group }, 2);
    p.observe('tool', { node: 'tool', instance: 'c', group: keySetDigest([ks[0]!]) }, 3);
    assert.deepEqual(p.members(), ['relay-1', 'relay-2', 'relay-3'], 'a node leasing other links is not a member');
    await clock.advance(TTL / 2);
    p.observe('relay-2', { node: 'relay-2', instance: 'a', group }, 4);
    await clock.advance(TTL / 2);
    assert.deepEqual(p.members(), ['relay-1', 'relay-2'], 'relay-3 not heard of for the TTL');
    p.observe('relay-2', null, 99);
    assert.deepEqual(p.members(), ['relay-1'], 'relay-2 deleted its entry');
  });

  test('a watcher made again replays the last entries: a node already known keeps the time it was first seen', async () => {
    const clock = new ManualClock(0);
    const p = table('relay-1', clock);
    p.observe('relay-2', { node: 'relay-2', instance: 'a', group }, 7);
    await clock.advance(TTL * 0.9);
    // relay-2 died after its last put; the replay of that same entry must not revive it.
    p.observe('relay-2', { node: 'relay-2', instance: 'a', group }, 7);
    await clock.advance(TTL * 0.2);
    assert.deepEqual(p.members(), ['relay-1']);
  });

  test('every node of a group prefers the same owner for each link, and the answer follows the members', async () => {
    const clock = new ManualClock(0);
    const tables = nodes(3).map((n) => table(n, clock));
    for (const t of tables) for (const n of nodes(3)) t.observe(n, { node: n, instance: n, group }, 1);
    const expected = assignOwners(ks, nodes(3));
    for (const t of tables) for (const key of ks) assert.equal(t.preferred(key), expected.get(key));
    // Without a node presumed gone: as if it had left.
    const without = assignOwners(ks, ['relay-1', 'relay-2']);
    for (const key of ks) assert.equal(tables[0]!.preferred(key, 'relay-3'), without.get(key));
    assert.equal(tables[0]!.preferred('not.one.of.mine'), null);
  });

  test('a new lease changes the group: members of the old one are not counted until they ask for it too', async () => {
    const clock = new ManualClock(0);
    const own = [...ks];
    const p = table('relay-1', clock, own);
    p.observe('relay-2', { node: 'relay-2', instance: 'a', group }, 5);
    assert.deepEqual(p.members(), ['relay-1', 'relay-2']);
    own.push('up.server.new');
    p.keysChanged();
    assert.deepEqual(p.members(), ['relay-1']);
    p.observe('relay-2', { node: 'relay-2', instance: 'a', group: keySetDigest(own) }, 6);
    assert.deepEqual(p.members(), ['relay-1', 'relay-2']);
  });
});
