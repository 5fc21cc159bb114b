/**
 * The lease state machine's spreading steps (src/cluster/nats-lease.ts) against an in-memory
 * LeaseStore on a ManualClock: a hand-over drops the link before the entry is deleted and counts
 * no loss; a node that handed over and sees nobody take the link looks again on its own; a
 * standby that is not the preferred node adds D to its create, the preferred one does not.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from '../../src/cluster/lease-store.ts';
import { leaseTiming } from '../../src/cluster/lease-timing.ts';
import { NatsLease, type LossReason } from '../../src/cluster/nats-lease.ts';
import { createLog } from '../../src/log.ts';

const TTL = 1000;
const timing = leaseTiming(TTL);

/** One key's entries, with a journal of the calls that changed it (no ageing out: not needed here). */
class MemoryStore implements LeaseStore {
  entry: StoredLease | null = null;
  revision = 0;
  readonly journal: string[] = [];
  /** Called with the delete marker before the delete resolves (a watcher that is quick). */
  onDelete: ((e: StoredLease) => void) | null = null;
  /** When set, a delete waits for it (a slow answer). */
  gate: Promise<void> | null = null;
  async create(_key: string, record: LeaseRecord): Promise<number> {
    if (this.entry?.record) throw new LeaseConflict(_key);
    this.entry = { revision: ++this.revision, record };
    this.journal.push(`create ${record.node}`);
    return this.revision;
  }
  async update(key: string, record: LeaseRecord, revision: number): Promise<number> {
    if (this.entry?.revision !== revision) throw new LeaseConflict(key);
    this.entry = { revision: ++this.revision, record };
    return this.revision;
  }
  async get(): Promise<StoredLease | null> {
    return this.entry;
  }
  async delete(key: string, revision: number): Promise<void> {
    await this.gate;
    if (this.entry?.revision !== revision) throw new LeaseConflict(key);
    this.entry = { revision: ++this.revision, record: null };
    this.journal.push('delete');
    this.onDelete?.(this.entry);
  }
}

function lease(store: MemoryStore, clock: ManualClock, node: string, deferMs: () => number = () => 0): { lease: NatsLease; losses: LossReason[]; events: string[] } {
  const losses: LossReason[] = [];
  const events: string[] = [];
  const l = new NatsLease({ key: 'up.server.s1', node, instance: `${node}-i`, store, clock, log: createLog('silent'), random: () => 0, onLost: (r) => losses.push(r), deferMs });
  l.onChange((v) => events.push(`${node} ${v.ownership}`));
  return { lease: l, losses, events };
}

describe('nats lease: hand-over and deferral', () => {
  test('hand-over: the link is dropped before the delete, no loss is counted, and with nobody taking it the node looks again on its own', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const a = lease(store, clock, 'a', () => timing.deferMs);
    // The link follows the view: the journal shows when it was dropped.
    a.lease.onChange((v) => {
      if (v.ownership !== 'owned') store.journal.push('link dropped');
    });
    a.lease.activate(timing);
    await clock.advance(timing.deferMs);
    assert.equal(a.lease.ownership, 'owned');
    await clock.advance(timing.handOverAfterMs);
    assert.ok(a.lease.heldMs >= timing.handOverAfterMs);
    // The watcher brings the delete back while the hand-over is still finishing.
    store.onDelete = (e) => a.lease.observe(e);
    await a.lease.handOver();
    assert.deepEqual(store.journal, ['create a', 'link dropped', 'delete']);
    assert.equal(a.lease.ownership, 'unowned');
    assert.deepEqual(a.losses, []);
    // Nobody else: the node's own look comes after 1.5·R at the latest, and it takes the link back.
    await clock.advance(timing.standbyCheckMs + timing.deferMs + timing.retryMs);
    assert.equal(a.lease.ownership, 'owned', `events: ${a.events.join(', ')}`);
    assert.deepEqual(store.journal, ['create a', 'link dropped', 'delete', 'create a']);
  });

  test('deferral: on a delete the preferred standby creates at once, the other only D later', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const owner = lease(store, clock, 'o');
    owner.lease.activate(timing);
    await clock.advance(0);
    assert.equal(owner.lease.ownership, 'owned');
    const preferred = lease(store, clock, 'p', () => 0);
    const other = lease(store, clock, 'q', () => timing.deferMs);
    for (const s of [preferred, other]) {
      s.lease.activate(timing);
      s.lease.observe(store.entry!);
    }
    // The other standby's create goes first here; the preferred one must still win the delete.
    // release() waits (on the clock) for a taker: let it run while the standbys see the delete.
    const released = owner.lease.release();
    await clock.advance(0);
    const deleted = store.entry!;
    assert.equal(deleted.record, null);
    other.lease.observe(deleted);
    preferred.lease.observe(deleted);
    await clock.advance(timing.jitterMs);
    assert.equal(preferred.lease.ownership, 'owned');
    other.lease.observe(store.entry!);
    await clock.advance(timing.deferMs * 2);
    assert.equal(other.lease.ownership, 'standby');
    assert.equal(other.lease.owner, 'p');
    assert.deepEqual(store.journal, ['create o', 'delete', 'create p']);
    owner.lease.observe(store.entry!);
    await released;
  });

  test('a drain during a hand-over: the hand-over\'s delete is made (once), and the release waits for it and for the taker', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore();
    const a = lease(store, clock, 'a');
    a.lease.activate(timing);
    await clock.advance(0);
    assert.equal(a.lease.ownership, 'owned');
    let open!: () => void;
    store.gate = new Promise<void>((resolve) => (open = resolve));
    const handing = a.lease.handOver();
    let released = false;
    const release = a.lease.release().then(() => (released = true));
    await clock.advance(0);
    assert.deepEqual(store.journal, ['create a'], 'the delete is still on its way');
    assert.equal(released, false);
    open();
    await handing;
    await clock.advance(0);
    assert.deepEqual(store.journal, ['create a', 'delete'], 'deleted once, by the hand-over');
    const b = lease(store, clock, 'b');
    b.lease.activate(timing);
    await clock.advance(0);
    assert.equal(b.lease.ownership, 'owned');
    a.lease.observe(store.entry!);
    await release;
    assert.deepEqual(store.journal, ['create a', 'delete', 'create b']);
  });
});
