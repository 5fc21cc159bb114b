/**
 * The CloudEvents listener's own obligations on a ManualClock: keep-alive both ways, hub
 * bookkeeping when sessions come and go, and replies that stay bounded whatever the client sends.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEventsSimulator } from '../../adapters/cloudevents/simulator.ts';
import { ManualClock } from '../../src/clock.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { chainState, startRelay, type RelayHandle } from '../helpers/cloudevents-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

const KEY = 'ce_listener_test_key';
const PING_MS = 1000;

describe('cloudevents listener', () => {
  const clock = new ManualClock();
  let h: RelayHandle;
  const clients: CeClient[] = [];
  const open = async (options = {}) => {
    const c = await CeClient.connect(h.ws(), KEY, options);
    clients.push(c);
    return c;
  };
  const timeouts = async () => {
    const text = await h.relay.metrics.registry.metrics();
    return Number(/bridge_heartbeat_timeouts_total\{dialect="cloudevents",direction="downstream"\} (\d+)/.exec(text)?.[1] ?? 0);
  };

  before(async () => {
    h = await startRelay(
      {
        clients: [{ name: 'dash', key: KEY, grants: [{ upstream: 'ce' }] }],
        simulators: [{ name: 'cesim', protocol: 'cloudevents', intervalMs: 0, pingIntervalMs: 0 }],
        upstreams: [{ name: 'ce', protocol: 'cloudevents', simulator: 'cesim' }],
        listeners: [{ dialect: 'cloudevents', upstreams: ['ce'], pingIntervalMs: PING_MS }],
      },
      { bus: 'memory', clock },
    );
    await eventually(() => chainState(h.relay, 'ce') === 'ready', 4000, 'link ready').catch(async (err) => Promise.reject(await h.stop().then(() => err)));
  });
  after(async () => {
    for (const c of clients) c.close();
    await h.stop();
  });

  test('a client that answers every ping stays connected; one that does not is terminated and counted', async () => {
    const good = await open();
    const mute = await open({ autoPong: false });
    for (let i = 1; i <= 3; i++) {
      await clock.advance(PING_MS);
      await good.waitPings(i);
      // The pong left before this request on the same socket, so the relay has seen it once the reply is back.
      await good.request('unsubscribe', 'ce.server.barrier.x');
    }
    const closed = await Promise.race([mute.closed, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
    assert.equal(closed?.code, 1006, 'terminated without a close handshake');
    assert.equal(mute.pings, 1, 'one ping, then the end');
    assert.equal(good.ws.readyState, good.ws.OPEN);
    assert.equal(await timeouts(), 1);
  });

  test('a closed session releases its bus subscriptions; shared ones stay while anyone holds them', async () => {
    const baseline = h.relay.hub.subscriptions;
    const a = await open();
    const b = await open();
    await a.subscribe('ce.server.demo-1.>');
    await a.subscribe('ce.server.*.console');
    await b.subscribe('ce.server.demo-1.>');
    assert.equal(h.relay.hub.subscriptions, baseline + 2);
    a.close();
    await a.closed;
    await eventually(() => h.relay.hub.subscriptions === baseline + 1, 4000, 'a released');
    const sim = h.relay.simulators.get('cesim') as CloudEventsSimulator;
    sim.emit(sim.event('server.console', 'demo-1', { line: 'still for b' }));
    assert.deepEqual((await b.event()).data, { line: 'still for b' });
    await b.request('unsubscribe', 'ce.server.demo-1.>');
    assert.equal(h.relay.hub.subscriptions, baseline);
  });

  test('an oversized subject is refused without being echoed back', async () => {
    const c = await open();
    const subject = `ce.server.${'x'.repeat(5000)}.console`;
    c.send({ op: 'subscribe', subject });
    const reply = await c.next();
    assert.deepEqual([reply.json.op, reply.json.code, 'subject' in reply.json], ['error', 'BRIDGE_ERR_BAD_FRAME', false]);
    assert.ok(reply.raw.length < 300, 'the reply stays small');
  });
});
