/**
 * The shared conformance suite, run against the panel adapter: codec round trips over Semoxy's real
 * frames (both directions, both versions), malformed input, the v1 ticket handshake accepted and
 * refused, and the upstream keep-alive on a manual clock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Relay } from '../../src/relay.ts';
import { ADAPTERS, adapterFor } from '../../src/registry.ts';
import { decodeFrame, encodeFrame, type PanelPacket } from '../../adapters/panel/codec.ts';
import { runConformance, type ConformanceKit } from '../helpers/conformance.ts';
import { PanelClient, UpgradeRefused } from '../helpers/panel-client.ts';
import { startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/panel/${name}`, import.meta.url), 'utf8')) as T;
}
const serverFrames = fixture<{ frame: string }[]>('server-frames.json').map((c) => c.frame);
const dashboardFrames = fixture<{ frame: string | null }[]>('dashboard-frames.json').flatMap((c) => (c.frame === null ? [] : [c.frame]));

/** The conformance harness only carries the relay; the panel harness behind it is found here. */
const harnesses = new WeakMap<Relay, PanelHarness>();
const panelOf = (relay: Relay): PanelHarness => harnesses.get(relay)!;

const kit: ConformanceKit = {
  name: 'panel',
  adapter: adapterFor(ADAPTERS, 'panel'),
  decode: (text) => decodeFrame(text),
  encode: (packet) => encodeFrame(packet as PanelPacket),
  validFrames: [...serverFrames, ...dashboardFrames, ...fixture<string[]>('client-frames.json')],
  malformedFrames: fixture<string[]>('malformed.json'),
  async start(clock) {
    // The simulator keeps Semoxy's keep-alive here: a ping every 20 s, 1011 when one goes unanswered.
    const h = await startPanelHarness({ clock, sim: { pingIntervalMs: 20_000 } });
    harnesses.set(h.relay, h);
    return { relay: h.relay, clock, stop: () => h.stop() };
  },
  async connect(ch, credentials) {
    const h = panelOf(ch.relay);
    if (credentials === 'good') {
      const c = await h.v1();
      return { accepted: true, close: () => c.close() };
    }
    try {
      const c = await PanelClient.connect(h.eventsUrl('ticket=not-a-ticket-the-relay-issued'));
      return { accepted: true, close: () => c.close() };
    } catch (err) {
      if (err instanceof UpgradeRefused) return { accepted: false, httpStatus: err.status };
      throw err;
    }
  },
  async upstreamHeartbeat(ch) {
    const h = panelOf(ch.relay);
    for (let round = 0; round < 3; round++) {
      const pongs = h.sim.pongsReceived;
      await h.clock.advance(20_000);
      await eventually(() => h.sim.pongsReceived > pongs, 4000, 'the relay answered the panel\'s ping');
    }
    assert.equal(h.linkState(), 'ready');
    assert.equal(h.sim.connectionCount(), 1, 'the same socket all along');
    const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /bridge_upstream_reconnects_total\{protocol="panel",upstream="panel"\} [1-9]/);
  },
  // No `heartbeatTimeout`: Semoxy puts no heartbeat duty on dashboards. Its keep-alive is the
  // WebSocket ping, which every client library answers on its own; the relay's side of it (a ping
  // every 20 s, a dead peer dropped) is covered by test/helpers/panel-suite.ts.
};

runConformance(kit);
