/**
 * Defect 7 of issue 9: an upstream that accepts and then closes at once was reconnected 91 times in
 * 20 s. The Felix link reports ready on socket open, and `ready` reset the backoff, so every delay
 * was drawn below the first ceiling (500 ms). The backoff now starts over only after a link has
 * stayed ready for `limits.backoffResetMs`, for every adapter.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { Relay } from '../../src/relay.ts';
import { closingUpstream, felixAt, relayWith, type HostileUpstream } from '../helpers/hostile-upstream.ts';
import { seeded } from '../helpers/random.ts';
import { eventually } from '../helpers/wings-client.ts';

let relay: Relay | undefined;
let upstream: HostileUpstream | undefined;
after(async () => {
  await relay?.stop(200);
  await upstream?.close();
});

test('an upstream that closes every socket at once is retried with growing delays', async () => {
  const clock = new ManualClock();
  upstream = await closingUpstream();
  relay = await relayWith(felixAt(upstream.url), {
    clock,
    random: seeded(9),
    limits: { backoffInitialMs: 500, backoffMaxMs: 30_000, backoffMultiplier: 2, backoffResetMs: 10_000 },
  });
  const link = relay.supervisor.link('felix', 'bot', '_')!;
  const delays: number[] = [];
  let counted = -1;
  const started = clock.now();
  while (clock.now() - started < 20_000) {
    // Each attempt is real socket I/O: let it end (the link is back in backoff) before time moves.
    await eventually(() => link.state === 'backoff', 4000, 'the attempt in flight to end');
    if (upstream.connections !== counted) {
      // One new socket came and went: note the delay the link chose after it.
      counted = upstream.connections;
      delays.push(Number(/retry in (\d+) ms/.exec(link.reason)?.[1]));
    }
    await clock.advance(100);
  }
  assert.ok(upstream.connections >= 3, `the upstream was tried (${upstream.connections} sockets)`);
  assert.ok(upstream.connections <= 10, `at most 10 sockets in 20 s of clock time, saw ${upstream.connections} (delays ${delays.join(', ')})`);
  assert.ok(delays.some((d) => d >= 500), `some delay went past the first ceiling (delays ${delays.join(', ')})`);
});
