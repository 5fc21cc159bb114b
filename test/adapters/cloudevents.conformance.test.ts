/**
 * The shared conformance suite, run against the CloudEvents adapter: a relay with the CloudEvents
 * simulator as its upstream (relay chaining against a producer) and a CloudEvents listener, every
 * timer on the suite's ManualClock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ADAPTERS, adapterFor } from '../../src/registry.ts';
import { decodeClient, decodeEvent, decodeServerMessage, encodeClient, encodeEvent, encodeServerMessage, type ClientMessage, type ServerReply } from '../../adapters/cloudevents/codec.ts';
import type { CloudEventsSimulator } from '../../adapters/cloudevents/simulator.ts';
import type { BridgeEvent } from '../../src/events.ts';
import { runConformance, type ConformanceHarness, type ConformanceKit } from '../helpers/conformance.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { chainState, startRelay } from '../helpers/cloudevents-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/cloudevents/frames.json', import.meta.url), 'utf8')) as Record<string, string[]>;
const GOOD_KEY = 'ce_conformance_key';
/** Shorter than the simulator's, so a client's heartbeat test never crosses two simulator pings. */
const LISTENER_PING_MS = 1000;
const SIM_PING_MS = 5000;

type Packet = ClientMessage | ServerReply | BridgeEvent;

function url(h: ConformanceHarness): string {
  return `${h.relay.url.replace(/^http/, 'ws')}/cloudevents`;
}

async function heartbeatCount(h: ConformanceHarness, direction: string): Promise<string | undefined> {
  const text = await h.relay.metrics.registry.metrics();
  return new RegExp(`bridge_heartbeat_timeouts_total\\{dialect="cloudevents",direction="${direction}"\\} (\\d+)`).exec(text)?.[1];
}

const kit: ConformanceKit = {
  name: 'cloudevents',
  adapter: adapterFor(ADAPTERS, 'cloudevents'),
  decode: (text) => decodeClient(text) ?? decodeServerMessage(text) ?? decodeEvent(text),
  encode(packet) {
    const p = packet as Packet;
    if ('specversion' in p) return encodeEvent(p, '') ?? '';
    return p.op === 'subscribe' || p.op === 'unsubscribe' || p.op === 'auth' ? encodeClient(p) : encodeServerMessage(p as ServerReply);
  },
  validFrames: [...fixtures.client!, ...fixtures.server!, ...fixtures.events!],
  malformedFrames: fixtures.malformed!,

  async start(clock) {
    const h = await startRelay(
      {
        clients: [{ name: 'dash', key: GOOD_KEY, grants: [{ upstream: 'ce' }] }],
        simulators: [{ name: 'cesim', protocol: 'cloudevents', intervalMs: 0, pingIntervalMs: SIM_PING_MS }],
        upstreams: [{ name: 'ce', protocol: 'cloudevents', simulator: 'cesim' }],
        listeners: [{ dialect: 'cloudevents', upstreams: ['ce'], pingIntervalMs: LISTENER_PING_MS }],
      },
      { bus: 'memory', clock },
    );
    await eventually(() => chainState(h.relay, 'ce') === 'ready', 5000, 'cloudevents link ready').catch(async (err) => Promise.reject(await h.stop().then(() => err)));
    return { relay: h.relay, clock, stop: () => h.stop() };
  },

  async connect(h, credentials) {
    try {
      const c = await CeClient.connect(url(h), credentials === 'good' ? GOOD_KEY : 'not-the-key');
      return { accepted: true, close: () => c.close() };
    } catch (err) {
      const status = (err as { status?: number }).status;
      return status === undefined ? { accepted: false } : { accepted: false, httpStatus: status };
    }
  },

  async heartbeatTimeout(h) {
    // ws answers pings by itself unless told not to: this client never pongs.
    const c = await CeClient.connect(url(h), GOOD_KEY, { autoPong: false });
    await h.clock.advance(LISTENER_PING_MS);
    await c.waitPings(1);
    assert.equal(c.ws.readyState, c.ws.OPEN, 'one unanswered ping is allowed');
    await h.clock.advance(LISTENER_PING_MS);
    const closed = await Promise.race([c.closed, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    assert.ok(closed, 'the relay ended the connection');
    assert.equal(await heartbeatCount(h, 'downstream'), '1');
    return closed.code === 1006 ? 'terminated' : closed.code;
  },

  async upstreamHeartbeat(h) {
    const sim = h.relay.simulators.get('cesim') as CloudEventsSimulator;
    // One simulator ping per step; the pong must be back before the next ping checks for it.
    for (let i = 1; i <= 3; i++) {
      await h.clock.advance(SIM_PING_MS);
      await eventually(() => sim.pongs >= i, 3000, `pong ${i}`);
    }
    await h.clock.advance(SIM_PING_MS);
    assert.equal(chainState(h.relay, 'ce'), 'ready');
    assert.equal(sim.connectionCount(), 1);
    const text = await h.relay.metrics.registry.metrics();
    assert.doesNotMatch(text, /bridge_upstream_reconnects_total\{protocol="cloudevents",upstream="ce"\} [1-9]/);
  },
};

runConformance(kit);
