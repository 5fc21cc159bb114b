/**
 * The memory ticket service (src/auth/tickets.ts, what a panel listener gets on the memory bus) on a
 * ManualClock: single-use by default, reusable as an option, the TTL to the millisecond, "expired"
 * versus "invalid", and bounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { ApiClient } from '../../src/adapter-kit.ts';
import { MemoryTickets, type TicketService } from '../../src/auth/tickets.ts';

const ALICE: ApiClient = { name: 'alice', grants: [] };
const BOB: ApiClient = { name: 'bob', grants: [] };

async function mint(store: TicketService, client: ApiClient): Promise<string> {
  const issued = await store.issue(client);
  assert.ok(issued.ok, 'issued');
  return issued.ticket;
}

test('a ticket names its client and opens one socket (single-use)', async () => {
  const store = new MemoryTickets(new ManualClock(), { ttlSeconds: 60, reusable: false });
  const a = await mint(store, ALICE);
  const b = await mint(store, BOB);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.notEqual(a, b);
  assert.deepEqual(await store.redeem(b), { ok: true, client: BOB });
  assert.deepEqual(await store.redeem(a), { ok: true, client: ALICE });
  assert.deepEqual(await store.redeem(a), { ok: false, reason: 'invalid' });
});

test('missing and unknown tickets', async () => {
  const store = new MemoryTickets(new ManualClock(), { ttlSeconds: 60, reusable: false });
  assert.deepEqual(await store.redeem(null), { ok: false, reason: 'missing' });
  assert.deepEqual(await store.redeem(''), { ok: false, reason: 'missing' }, 'Semoxy tests `not ticket`');
  assert.deepEqual(await store.redeem('made-up'), { ok: false, reason: 'invalid' });
});

test('the TTL ends a ticket to the millisecond; an expired ticket is reported once, then forgotten', async () => {
  const clock = new ManualClock();
  const store = new MemoryTickets(clock, { ttlSeconds: 60, reusable: false });
  const early = await mint(store, ALICE);
  const late = await mint(store, ALICE);
  await clock.advance(59_999);
  assert.equal((await store.redeem(early)).ok, true);
  await clock.advance(1);
  assert.deepEqual(await store.redeem(late), { ok: false, reason: 'expired' });
  assert.deepEqual(await store.redeem(late), { ok: false, reason: 'invalid' });
});

test('reusable tickets open any number of sockets until they expire', async () => {
  const clock = new ManualClock();
  const store = new MemoryTickets(clock, { ttlSeconds: 7200, reusable: true });
  const t = await mint(store, ALICE);
  for (let i = 0; i < 3; i++) assert.deepEqual(await store.redeem(t), { ok: true, client: ALICE });
  await clock.advance(7_200_000);
  assert.deepEqual(await store.redeem(t), { ok: false, reason: 'expired' });
});

test('memory is bounded: long-expired tickets are swept on issue, and past maxPerClient the oldest ticket of that client goes', async () => {
  const clock = new ManualClock();
  const store = new MemoryTickets(clock, { ttlSeconds: 60, reusable: true });
  for (let i = 0; i < 10; i++) await mint(store, ALICE);
  await clock.advance(61_000);
  const recent = await mint(store, ALICE);
  assert.equal(store.size, 11, 'just expired: still remembered, so a client hears "expired"');
  await clock.advance(60_000);
  await mint(store, ALICE);
  assert.equal(store.size, 2, 'the first ten were swept');
  assert.equal((await store.redeem(recent)).ok, false);

  const small = new MemoryTickets(clock, { ttlSeconds: 60, reusable: false, maxPerClient: 3 });
  const alices = await mint(small, ALICE);
  const bobs: string[] = [];
  for (let i = 0; i < 5; i++) bobs.push(await mint(small, BOB));
  assert.equal(small.size, 4, 'alice 1 + bob 3');
  assert.deepEqual(await small.redeem(alices), { ok: true, client: ALICE });
  const used: boolean[] = [];
  for (const t of bobs) used.push((await small.redeem(t)).ok);
  assert.deepEqual(used, [false, false, true, true, true]);
});
