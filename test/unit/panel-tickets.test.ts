/**
 * The panel listener's ticket store on a ManualClock: single-use by default, reusable as an option,
 * the TTL to the millisecond, "expired" versus "invalid", and bounded memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { ApiClient } from '../../src/adapter-kit.ts';
import { TicketStore } from '../../adapters/panel/tickets.ts';

const ALICE: ApiClient = { name: 'alice', grants: [] };
const BOB: ApiClient = { name: 'bob', grants: [] };

test('a ticket names its client and opens one socket (single-use)', () => {
  const store = new TicketStore(new ManualClock(), { ttlSeconds: 60, reusable: false });
  const a = store.issue(ALICE);
  const b = store.issue(BOB);
  assert.match(a, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
  assert.notEqual(a, b);
  assert.deepEqual(store.redeem(b), { ok: true, client: BOB });
  assert.deepEqual(store.redeem(a), { ok: true, client: ALICE });
  assert.deepEqual(store.redeem(a), { ok: false, reason: 'invalid' });
});

test('missing and unknown tickets', () => {
  const store = new TicketStore(new ManualClock(), { ttlSeconds: 60, reusable: false });
  assert.deepEqual(store.redeem(null), { ok: false, reason: 'missing' });
  assert.deepEqual(store.redeem(''), { ok: false, reason: 'missing' }, 'Semoxy tests `not ticket`');
  assert.deepEqual(store.redeem('made-up'), { ok: false, reason: 'invalid' });
});

test('the TTL ends a ticket to the millisecond; an expired ticket is reported once, then forgotten', async () => {
  const clock = new ManualClock();
  const store = new TicketStore(clock, { ttlSeconds: 60, reusable: false });
  const early = store.issue(ALICE);
  const late = store.issue(ALICE);
  await clock.advance(59_999);
  assert.equal(store.redeem(early).ok, true);
  await clock.advance(1);
  assert.deepEqual(store.redeem(late), { ok: false, reason: 'expired' });
  assert.deepEqual(store.redeem(late), { ok: false, reason: 'invalid' });
});

test('reusable tickets open any number of sockets until they expire', async () => {
  const clock = new ManualClock();
  const store = new TicketStore(clock, { ttlSeconds: 7200, reusable: true });
  const t = store.issue(ALICE);
  for (let i = 0; i < 3; i++) assert.deepEqual(store.redeem(t), { ok: true, client: ALICE });
  await clock.advance(7_200_000);
  assert.deepEqual(store.redeem(t), { ok: false, reason: 'expired' });
});

test('memory is bounded: long-expired tickets are swept on issue, and past maxPerClient the oldest ticket of that client goes', async () => {
  const clock = new ManualClock();
  const store = new TicketStore(clock, { ttlSeconds: 60, reusable: true });
  for (let i = 0; i < 10; i++) store.issue(ALICE);
  await clock.advance(61_000);
  const recent = store.issue(ALICE);
  assert.equal(store.size, 11, 'just expired: still remembered, so a client hears "expired"');
  await clock.advance(60_000);
  store.issue(ALICE);
  assert.equal(store.size, 2, 'the first ten were swept');
  assert.equal(store.redeem(recent).ok, false);

  const small = new TicketStore(clock, { ttlSeconds: 60, reusable: false, maxPerClient: 3 });
  const alices = small.issue(ALICE);
  const bobs = Array.from({ length: 5 }, () => small.issue(BOB));
  assert.equal(small.size, 4, 'alice 1 + bob 3');
  assert.deepEqual(small.redeem(alices), { ok: true, client: ALICE });
  assert.deepEqual(bobs.map((t) => small.redeem(t).ok), [false, false, true, true, true]);
});
