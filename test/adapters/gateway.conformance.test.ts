/**
 * The shared conformance suite, run against the room gateway adapter: its codec, 1014 for a room
 * that is not bridged, 4001 for a silent dashboard, and the relay's own heartbeat duty towards the
 * simulator, all over real sockets on a ManualClock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runConformance, type ConformanceHarness, type ConformanceKit } from '../helpers/conformance.ts';
import { ADAPTERS, adapterFor } from '../../src/registry.ts';
import { decodeFrame, encodeFrame, helloFrame, type GatewayPacket } from '../../adapters/gateway/codec.ts';
import type { GatewaySimulator } from '../../adapters/gateway/simulator.ts';
import { SEED_UP, gatewayLinksReady, startGatewayHarness, type GatewayHarness } from '../helpers/gateway-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

const INTERVAL = 1000;

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/gateway/${name}`, import.meta.url), 'utf8')) as T;
}
const dashboard = fixture<{ seed: string | null; latest: string | null }[]>('dashboard-frames.json');
const server = fixture<{ frame: string }[]>('server-frames.json');
const malformed = fixture<{ notJson: string[]; notPacket: string[] }>('malformed.json');

/** The full harness behind each ConformanceHarness the suite holds. */
const harnesses = new WeakMap<ConformanceHarness, GatewayHarness>();
function full(h: ConformanceHarness): GatewayHarness {
  const g = harnesses.get(h);
  assert.ok(g, 'a harness started by this kit');
  return g;
}

/** Heartbeats the relay's link for room `lobby` has sent the seed simulator. */
function relayBeats(sim: GatewaySimulator): number {
  return sim.received.filter((p) => p.roomId === 'lobby' && p.participantId === 'relay' && p.e === 1).length;
}

const kit: ConformanceKit = {
  name: 'gateway',
  adapter: adapterFor(ADAPTERS, 'gateway'),
  decode: (text) => decodeFrame(text),
  encode: (packet) => encodeFrame(packet as GatewayPacket) ?? '',
  validFrames: [
    helloFrame(60000, 'seed'),
    helloFrame(60000, 'anonroom-latest'),
    '{"e":1,"d":{}}',
    '{"e":2,"d":{}}',
    ...dashboard.flatMap((c) => [c.seed, c.latest]).filter((f): f is string => f !== null),
    ...server.map((c) => c.frame),
  ],
  malformedFrames: [...malformed.notJson, ...malformed.notPacket],
  nativeCloseCodes: [1014, 4001],

  async start(clock) {
    const g = await startGatewayHarness({
      clock,
      seed: { sim: { heartbeatIntervalMs: INTERVAL }, listener: { heartbeatIntervalMs: INTERVAL } },
      latest: { sim: { heartbeatIntervalMs: INTERVAL } },
    });
    await gatewayLinksReady(g);
    const h: ConformanceHarness = { relay: g.relay, clock, stop: () => g.stop() };
    harnesses.set(h, g);
    return h;
  },

  async connect(h, credentials) {
    const g = full(h);
    const client = await g.connect(credentials === 'good' ? 'lobby' : 'no-such-room', 'alice');
    // A hello means accepted; a close before any hello (next() then throws) means refused.
    const hello = await client.next((f) => f.e === 0).then(() => true, () => false);
    if (hello) return { accepted: true, close: () => client.close() };
    assert.equal(client.frames.length, 0, 'a refused dashboard gets no hello');
    return { accepted: false, closeCode: (await client.waitClose()).code };
  },

  async heartbeatTimeout(h) {
    const g = full(h);
    const silent = await g.open('lobby', 'alice');
    const polite = await g.open('lobby', 'bob');
    await g.clock.advance(INTERVAL);
    // Both got the first server heartbeat; only one answers it.
    await Promise.all([silent.next((f) => f.e === 1), polite.next((f) => f.e === 1)]);
    polite.beat();
    await polite.flush();
    await g.clock.advance(INTERVAL);
    const { code } = await silent.waitClose();
    assert.equal(polite.ws.readyState, polite.ws.OPEN, 'the client that answered stays');
    return code;
  },

  async upstreamHeartbeat(h) {
    const g = full(h);
    const link = g.relay.supervisor.link(SEED_UP, 'room', 'lobby')!;
    // One beat at hello, then one answer per server tick and an own beat every ¾ interval.
    const expected = (t: number) => 1 + Math.floor(t / INTERVAL) + Math.floor(t / ((INTERVAL * 3) / 4));
    assert.equal(relayBeats(g.seedSim), expected(0));
    for (let step = 1; step <= 6; step++) {
      await g.clock.advance(INTERVAL);
      await eventually(() => relayBeats(g.seedSim) === expected(step * INTERVAL), 2000, `relay heartbeats after ${step} intervals`);
      assert.equal(link.state, 'ready');
    }
    assert.equal(g.seedSim.connectionCount('lobby'), 1, 'the simulator never closed the relay (no second socket)');
    const metrics = await (await fetch(`${g.relay.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /bridge_upstream_reconnects_total\{protocol="gateway"[^}]*\} [1-9]/);
    assert.doesNotMatch(metrics, /bridge_heartbeat_timeouts_total\{dialect="gateway",direction="upstream"\} [1-9]/);
  },
};

runConformance(kit);
