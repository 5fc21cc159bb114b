/**
 * Defect 8 of issue 9: after an ack/hello timeout the link closed its socket gracefully and waited
 * for the peer's close frame; a stalled peer never sends one, so the link stayed `ready` (or
 * `authenticating`) until ws's 30 s close timeout, and /readyz said so. A link the adapter closes
 * now leaves that state at once (the retry is scheduled, `upstream.state` published) and its
 * socket is terminated after a short grace on the injected clock, without waiting for the peer.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { Relay } from '../../src/relay.ts';
import type { BridgeEvent } from '../../src/events.ts';
import { felixAt, relayWith, stalledUpstream, type HostileUpstream } from '../helpers/hostile-upstream.ts';
import { eventually } from '../helpers/wings-client.ts';

/**
 * Keeps the retry past the close grace, so the only socket at the peer is the stalled one. The
 * delay is jittered below the ceiling, so the jitter is pinned too: a draw under 1/60 would retry
 * within the grace and open a second socket (a flake seen about once in fifty runs).
 */
const NO_EARLY_RETRY = { backoffInitialMs: 60_000 };
const LATE_JITTER = () => 0.99;

let relay: Relay | undefined;
let upstream: HostileUpstream | undefined;
afterEach(async () => {
  await relay?.stop(200);
  await upstream?.close();
  relay = undefined;
  upstream = undefined;
});

async function readyzLink(r: Relay, name: string): Promise<{ state: string; reason: string }> {
  const body = (await (await fetch(`${r.url}/readyz`)).json()) as { upstreams: Record<string, { state: string; reason: string }[]> };
  return body.upstreams[name]![0]!;
}

function stateEvents(r: Relay): string[] {
  const seen: string[] = [];
  r.bus.subscribe(r.subjects.allEvents(), (e: BridgeEvent) => {
    if (e.type === 'upstream.state') seen.push((e.data as { state: string }).state);
  });
  return seen;
}

test('a felix link whose peer stops answering leaves `ready` as soon as the ack timeout fires', async () => {
  const clock = new ManualClock();
  upstream = await stalledUpstream();
  relay = await relayWith(felixAt(upstream.url, { heartbeatIntervalMs: 1000, ackTimeoutMs: 3000 }), { clock, limits: NO_EARLY_RETRY, random: LATE_JITTER });
  const link = relay.supervisor.link('felix', 'bot', '_')!;
  await eventually(() => link.state === 'ready', 4000, 'the link to the stalled peer is open');
  const states = stateEvents(relay);
  await clock.advance(2000);
  assert.equal(link.state, 'ready', 'within the ack timeout the link stays');
  await clock.advance(1000);
  // No real time passes for a close handshake: the state changed inside the timer's turn.
  assert.equal(link.state, 'backoff');
  assert.match(link.reason, /4101 heartbeat timeout/);
  assert.deepEqual(relay.supervisor.status().felix!.map((l) => l.state), ['backoff']);
  assert.equal((await readyzLink(relay, 'felix')).state, 'backoff');
  assert.deepEqual(states, ['backoff'], 'upstream.state was published at once');
  // The socket itself is cut after a short grace, though the peer never answered the close frame.
  assert.equal(upstream.open, 1, 'the close frame went out; the peer has not answered');
  await clock.advance(1000);
  await eventually(() => upstream!.open === 0, 2000, 'the stalled socket to be terminated');
});

test('a gateway link that never gets hello leaves `authenticating` as soon as the hello timeout fires', async () => {
  const clock = new ManualClock();
  upstream = await stalledUpstream();
  relay = await relayWith(
    { name: 'room', protocol: 'gateway', url: upstream.url, helloTimeoutMs: 5000, rooms: [{ roomId: 'r1', participantId: 'p1' }] },
    { clock, limits: NO_EARLY_RETRY, random: LATE_JITTER },
  );
  const link = relay.supervisor.link('room', 'room', 'r1')!;
  await eventually(() => link.state === 'authenticating', 4000, 'the socket to the stalled peer is open');
  await clock.advance(5000);
  assert.equal(link.state, 'backoff');
  assert.match(link.reason, /4106 upstream did not answer in time/);
  assert.equal((await readyzLink(relay, 'room')).state, 'backoff');
  await clock.advance(1000);
  await eventually(() => upstream!.open === 0, 2000, 'the stalled socket to be terminated');
});
