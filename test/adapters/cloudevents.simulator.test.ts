/**
 * The CloudEvents simulator against real sockets on port 0, with a ManualClock driving the demo
 * timer and the keep-alive. "Nothing else arrived" is proven with a barrier: a reply is queued
 * behind every event already sent to that socket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { CloudEventsSimulator, type CloudEventsSimulatorConfig } from '../../adapters/cloudevents/simulator.ts';
import type { Log } from '../../src/adapter-kit.ts';
import { ManualClock } from '../../src/clock.ts';
import { BridgeEventSchema } from '../../src/events.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { eventually } from '../helpers/wings-client.ts';

const KEY = 'ce_sim_test_key';
const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

async function barrier(c: CeClient): Promise<void> {
  c.send({ op: 'unsubscribe', subject: 'barrier.server.none.x' });
  const f = await c.next();
  assert.equal(f.json?.op, 'unsubscribed', `something arrived before the barrier: ${f.raw}`);
}

describe('cloudevents simulator', () => {
  const clock = new ManualClock();
  let sim: CloudEventsSimulator;
  const clients: CeClient[] = [];
  const open = async (options = {}) => {
    const c = await CeClient.connect(`${sim.endpoint.url.replace(/^http/, 'ws')}/cloudevents`, KEY, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    const config: Partial<CloudEventsSimulatorConfig> = { apiKey: KEY, upstream: 'far', servers: ['s-1', 's-2'], intervalMs: 1000, pingIntervalMs: 10_000 };
    sim = await CloudEventsSimulator.start({ config: config as CloudEventsSimulatorConfig, clock, log: silent }, '127.0.0.1', 0);
  });
  after(async () => {
    for (const c of clients) c.close();
    await sim.close();
    await sim.close();
  });

  test('the endpoint names the key; a wrong Bearer key is HTTP 401; without the header the key comes in an auth frame, as at the relay', async () => {
    assert.equal(sim.endpoint.credentials.apiKey, KEY);
    const url = `${sim.endpoint.url.replace(/^http/, 'ws')}/cloudevents`;
    const err = (await CeClient.connect(url, 'nope').then(() => null, (e) => e)) as { status?: number } | null;
    assert.equal(err?.status, 401);
    const c = await CeClient.connect(url);
    assert.equal((await c.request('subscribe', 'far.>')).code, 'BRIDGE_ERR_UNAUTHORIZED');
    c.send({ op: 'auth', key: 'nope' });
    assert.equal((await c.next()).json.code, 'BRIDGE_ERR_UNAUTHORIZED');
    c.send({ op: 'auth', key: KEY });
    assert.deepEqual((await c.next()).json, { op: 'authenticated' });
    await c.subscribe('far.>');
    // Gone before the next case counts which sockets an emit reaches.
    c.close();
    await c.closed;
    await eventually(() => sim.connectionCount() === 0, 2000, 'the socket left the simulator');
  });

  test('subscribe and unsubscribe are answered; bad frames get BAD_FRAME and the socket stays open', async () => {
    const c = await open();
    const before = sim.received.length;
    assert.deepEqual(await c.request('subscribe', 'far.server.s-1.console'), { op: 'subscribed', subject: 'far.server.s-1.console' });
    assert.deepEqual(await c.request('unsubscribe', 'far.server.s-1.console'), { op: 'unsubscribed', subject: 'far.server.s-1.console' });
    c.sendRaw('nope');
    assert.equal((await c.next()).json.code, 'BRIDGE_ERR_BAD_FRAME');
    const bad = await c.request('subscribe', 'far..x');
    assert.deepEqual([bad.op, bad.code], ['error', 'BRIDGE_ERR_BAD_FRAME']);
    assert.deepEqual(sim.received.slice(before), [
      { op: 'subscribe', subject: 'far.server.s-1.console' },
      { op: 'unsubscribe', subject: 'far.server.s-1.console' },
    ]);
  });

  test('the demo timer emits console lines round robin and a status every fifth tick, as BridgeEvents', async () => {
    const c = await open();
    await c.subscribe('far.>');
    await clock.advance(5000);
    const events = [];
    for (let i = 0; i < 6; i++) events.push(await c.event());
    for (const e of events) assert.ok(Value.Check(BridgeEventSchema, e), JSON.stringify(e));
    assert.deepEqual(events.map((e) => [e.type, e.subject]), [
      ['server.console', 's-1'], ['server.console', 's-2'], ['server.console', 's-1'], ['server.console', 's-2'], ['server.console', 's-1'], ['server.status', 's-1'],
    ]);
    assert.equal(events[0].source, 'bridge://far');
    assert.equal(events[0].time, new Date(clock.now() - 4000).toISOString(), 'time from the injected clock');
    await c.request('unsubscribe', 'far.>');
    await clock.advance(1000);
    await barrier(c);
  });

  test('emit reaches exactly the sockets whose subscriptions match, once each', async () => {
    const a = await open();
    const b = await open();
    await a.subscribe('far.server.s-2.>');
    await a.subscribe('far.server.*.console');
    await b.subscribe('far.server.s-1.console');
    assert.equal(sim.emit(sim.event('server.console', 's-2', { line: 'to a' })), 1);
    assert.deepEqual((await a.event()).data, { line: 'to a' });
    await barrier(a);
    await barrier(b);
    assert.equal(sim.emit(sim.event('server.console', 's-1', { line: 'to both' })), 2);
    assert.deepEqual([(await a.event()).data.line, (await b.event()).data.line], ['to both', 'to both']);
  });

  test('keep-alive: a socket that misses a pong is terminated; one that answers stays', async () => {
    const good = await open();
    const mute = await open({ autoPong: false });
    const pongs = sim.pongs;
    await clock.advance(10_000);
    await good.waitPings(1);
    await mute.waitPings(1);
    await eventually(() => sim.pongs > pongs, 4000, 'pong from the good socket');
    await clock.advance(10_000);
    const closed = await Promise.race([mute.closed, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    assert.equal(closed?.code, 1006, 'terminated, no close frame');
    await barrier(good);
  });

  test('dropAll terminates every socket', async () => {
    await open();
    assert.ok(sim.connectionCount() > 0);
    sim.dropAll();
    await eventually(() => sim.connectionCount() === 0, 4000, 'all dropped');
  });
});
