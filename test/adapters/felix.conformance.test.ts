/**
 * The shared conformance suite, run against the Felix adapter: codec round trips on real frames of
 * both directions, malformed input, auth by raw key (403 before the upgrade), the relay's ping
 * duty to dashboards and its `20001` duty to Felix, all on a ManualClock.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runConformance, type ConformanceHarness, type ConformanceKit } from '../helpers/conformance.ts';
import { decodeFrame, encodeFrame, type FelixPacket } from '../../adapters/felix/codec.ts';
import { ADAPTERS, adapterFor } from '../../src/registry.ts';
import { DASH_KEY, metricValue, startFelixRelay, type FelixHarness } from '../helpers/felix-harness.ts';
import { FelixClient, waitFor } from '../helpers/felix-client.ts';

const malformed = JSON.parse(readFileSync(new URL('../fixtures/felix/malformed.json', import.meta.url), 'utf8')) as string[];
const PING_MS = 30_000;
const HEARTBEAT_MS = 1000;

const felix = (h: ConformanceHarness) => h as FelixHarness;
const sentHeartbeats = (h: FelixHarness) => h.sim.received.filter((f) => f.code === 20001).length;

export const felixKit: ConformanceKit = {
  name: 'felix',
  adapter: adapterFor(ADAPTERS, 'felix'),
  decode: decodeFrame,
  encode: (packet) => encodeFrame(packet as FelixPacket),
  validFrames: [
    '{"code":20001}',
    '{"code":20002,"data":{"users":["140149699486154753"],"guilds":["328842643746324481","g2"]}}',
    '{"code":10001,"name":"Heartbeat ACK","data":{"receivedAt":1767225600000,"shards":[{"id":0,"status":"ready","ping":42}],"guildsCount":1312,"memoryUsage":"4.85","uptime":86400000}}',
    '{"code":10002,"name":"GDB Update","data":{"guildID":"328842643746324481","guildData":{"prefix":"f!"}}}',
    '{"code":10003,"name":"UDB Update","data":{"userID":"140149699486154753","userData":{"points":1}}}',
    '{"code":10001,"data":{"receivedAt":1,"shards":[],"guildsCount":0,"memoryUsage":4.85,"uptime":0}}',
  ],
  malformedFrames: malformed,

  start: (clock) => startFelixRelay({ clock }),

  async connect(h, credentials) {
    const { url } = felix(h);
    if (credentials === 'good') {
      const c = await FelixClient.connect(url, DASH_KEY);
      return { accepted: true, close: () => c.close() };
    }
    return { accepted: false, httpStatus: await FelixClient.refusal(url, 'not-a-key') };
  },

  /** A client that never pongs is terminated at the second ping tick; one that pongs stays. */
  async heartbeatTimeout(ch) {
    const h = felix(ch);
    const quiet = await h.connect(DASH_KEY, { autoPong: false });
    const lively = await h.connect(DASH_KEY);
    await h.clock.advance(PING_MS);
    // The ack proves the relay has read the pong that the client wrote before the heartbeat.
    await lively.roundTrip();
    assert.equal(quiet.open, true, 'one missed pong is allowed until the next tick');
    await h.clock.advance(PING_MS);
    const closed = await quiet.waitClose();
    assert.equal(closed.code, 1006, 'terminated, without a close frame (as Felix)');
    await lively.roundTrip();
    assert.equal(lively.open, true, 'the ponging client stays');
    const metrics = await h.metrics();
    assert.equal(metricValue(metrics, 'bridge_heartbeat_timeouts_total', { dialect: 'felix', direction: 'downstream' }), 1);
    lively.close();
    return 'terminated';
  },

  /** Sixty-five heartbeat intervals (past Felix's 30 s ping sweeps and the ack deadline): one socket, ready, 20001 each interval. */
  async upstreamHeartbeat(ch) {
    const h = felix(ch);
    const before = sentHeartbeats(h);
    const steps = 65;
    for (let i = 0; i < steps; i++) await h.clock.advance(HEARTBEAT_MS);
    await waitFor(() => sentHeartbeats(h) >= before + steps, `${steps} heartbeats at the simulator`);
    assert.equal(h.linkState(), 'ready');
    assert.equal(h.sim.connectionCount(), 1, 'the same socket all along');
    const metrics = await h.metrics();
    assert.equal(metricValue(metrics, 'bridge_upstream_reconnects_total', { protocol: 'felix', upstream: 'felix' }), 0);
    const health = await h.relay.bus.last(h.relay.subjects.event('felix', 'bot.health', '_'));
    assert.ok(health, 'acks became bot.health');
    assert.ok(h.clock.now() - (health.data as { receivedAt: number }).receivedAt <= 2 * HEARTBEAT_MS, 'the last ack is recent');
  },
};

runConformance(felixKit);
