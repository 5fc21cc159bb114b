/**
 * The CloudEvents upstream role (relay chaining) against the CloudEvents simulator and against
 * scripted far sides, over real sockets on port 0, with a ManualClock driving every timer.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEventsSimulator } from '../../adapters/cloudevents/simulator.ts';
import { WebHost, type BridgeEvent } from '../../src/simulator-kit.ts';
import { ManualClock } from '../../src/clock.ts';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { ALL_ADAPTERS, chainState, startRelay, type RelayHandle } from '../helpers/cloudevents-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

interface Chain extends RelayHandle {
  clock: ManualClock;
  sim: CloudEventsSimulator;
  /** Every event published on the relay's bus for upstream `ce`, except its link states. */
  events: BridgeEvent[];
  metric(reason: string, kind?: string): Promise<number>;
}

async function startChain(upstream: Record<string, unknown> = {}, waitReady = true): Promise<Chain> {
  const clock = new ManualClock();
  const h = await startRelay(
    {
      simulators: [{ name: 'cesim', protocol: 'cloudevents', intervalMs: 0, pingIntervalMs: 0 }],
      upstreams: [{ name: 'ce', protocol: 'cloudevents', simulator: 'cesim', ...upstream }],
    },
    { bus: 'memory', clock },
  );
  const events: BridgeEvent[] = [];
  h.relay.bus.subscribe(`${h.prefix}.evt.ce.>`, (e) => {
    if (e.type !== 'upstream.state') events.push(e);
  });
  // A relay left running would keep the test process alive after a failure.
  if (waitReady) await eventually(() => chainState(h.relay, 'ce') === 'ready', 4000, 'link ready').catch(async (err) => Promise.reject(await h.stop().then(() => err)));
  const metric = async (reason: string, kind = 'bridge_events_dropped_total') => {
    const text = await h.relay.metrics.registry.metrics();
    const m = new RegExp(`${kind}\\{dialect="cloudevents",direction="upstream",reason="${reason}"\\} (\\d+)`).exec(text);
    return Number(m?.[1] ?? 0);
  };
  return { ...h, clock, sim: h.relay.simulators.get('cesim') as CloudEventsSimulator, events, metric };
}

/** A far side that accepts the upgrade and answers subscribes with `reply` (or stays silent). */
async function scriptedFarSide(reply: ((subject: string) => string) | null) {
  const host = new WebHost({ maxPayloadBytes: 65536 });
  const closes: number[] = [];
  let connections = 0;
  host.endpoint({
    path: '/cloudevents',
    authorize: () => ({ accept: true }),
    open: (conn) => {
      connections += 1;
      return {
        onMessage: (text) => {
          if (reply) conn.send(reply((JSON.parse(text) as { subject: string }).subject));
        },
        onClose: (code) => void closes.push(code),
      };
    },
  });
  const { url } = await host.listen('127.0.0.1', 0);
  return { url: `${url.replace(/^http/, 'ws')}/cloudevents`, closes, connections: () => connections, close: () => host.close() };
}

describe('cloudevents upstream', () => {
  test('subscribes every configured subject, is ready on the first reply, and republishes events as its own upstream', async () => {
    const c = await startChain({ subjects: ['demo.server.demo-1.>', 'demo.server.*.status'] });
    try {
      assert.deepEqual(c.sim.received, [
        { op: 'subscribe', subject: 'demo.server.demo-1.>' },
        { op: 'subscribe', subject: 'demo.server.*.status' },
      ]);
      const original = { ...c.sim.event('server.console', 'demo-1', { line: 'chained line' }), bridgenode: 'far-node', bridgehop: 3 };
      c.sim.emit(c.sim.event('server.console', 'demo-2', { line: 'not subscribed' }));
      c.sim.emit(original);
      await eventually(() => c.events.length > 0, 4000, 'republished');
      const [e] = c.events;
      assert.deepEqual([e!.source, e!.type, e!.subject, e!.data], ['bridge://ce', 'server.console', 'demo-1', { line: 'chained line' }]);
      assert.equal(e!.bridgenode, 'ce-node', 'published by this relay');
      assert.equal(e!.bridgehop, 4, 'one more hop than it arrived with, so a loop ends at the limit');
      assert.notEqual(e!.id, original.id);
      assert.equal(c.events.length, 1, 'demo-2 was never asked for');
    } finally {
      await c.stop();
    }
  });

  test('the hop limit, the far side\'s link states and invalid events are not republished, and are counted', async () => {
    const c = await startChain();
    try {
      c.sim.emit({ ...c.sim.event('server.console', 'demo-1', { line: 'looped' }), bridgehop: 8 });
      c.sim.emit(c.sim.event('upstream.state', '_', { state: 'ready', reason: 'far', resource: 'server', id: 'demo-1' }));
      c.sim.emit({ ...c.sim.event('server.console', 'demo-1', { line: 'bad' }), specversion: '0.3' } as unknown as BridgeEvent);
      c.sim.emit({ ...c.sim.event('server.console', 'demo-1', { line: 'marker' }), bridgehop: 7 });
      await eventually(() => c.events.length > 0, 4000, 'marker republished');
      assert.deepEqual(c.events.map((e) => e.data), [{ line: 'marker' }]);
      assert.deepEqual([await c.metric('throttled'), await c.metric('unmapped'), await c.metric('bad_frame')], [1, 1, 1]);
      const own = await c.relay.bus.last(c.relay.subjects.event('ce', 'upstream.state', '_'));
      assert.equal((own?.data as { resource: string }).resource, 'upstream', 'this relay\'s own link state');
    } finally {
      await c.stop();
    }
  });

  test('commands are refused with BRIDGE_ERR_UNSUPPORTED_DATA', async () => {
    const c = await startChain();
    try {
      const reply = await c.relay.supervisor.link('ce', 'upstream', '_')!.command({
        type: 'server.command', upstream: 'ce', resource: 'upstream', id: '_', data: { line: 'x' },
      });
      assert.deepEqual(reply.ok ? null : reply.code, 'BRIDGE_ERR_UNSUPPORTED_DATA');
    } finally {
      await c.stop();
    }
  });

  test('a dropped socket reconnects through the backoff and subscribes again', async () => {
    const c = await startChain();
    try {
      c.sim.dropAll();
      await eventually(() => chainState(c.relay, 'ce') === 'backoff', 4000, 'backoff');
      await c.clock.advance(1000);
      await eventually(() => chainState(c.relay, 'ce') === 'ready', 4000, 'ready again');
      assert.deepEqual(c.sim.received.map((m) => m.subject), ['>', '>']);
    } finally {
      await c.stop();
    }
  });

  test('a refused key (HTTP 401 at the upgrade) is an auth failure and a retry, not the end', async () => {
    const c = await startChain({ key: 'wrong-key' }, false);
    try {
      await eventually(() => chainState(c.relay, 'ce') === 'backoff', 4000, 'backoff');
      assert.match(c.relay.supervisor.link('ce', 'upstream', '_')!.reason, /HTTP 401/);
      assert.equal(await c.metric('http_401', 'bridge_auth_failures_total'), 1);
      await c.clock.advance(1000);
      await eventually(async () => (await c.metric('http_401', 'bridge_auth_failures_total')) >= 2, 4000, 'retried');
    } finally {
      await c.stop();
    }
  });

  test('no reply within subscribeTimeoutMs closes with 4103; every subject refused closes with 4403', async () => {
    const silent = await scriptedFarSide(null);
    const refusing = await scriptedFarSide((subject) => JSON.stringify({ op: 'error', code: 'BRIDGE_ERR_FORBIDDEN', message: 'no', subject }));
    const a = await startChain({ simulator: undefined, url: silent.url, key: 'k', subscribeTimeoutMs: 2000 }, false);
    const b = await startChain({ simulator: undefined, url: refusing.url, key: 'k', subjects: ['x.>', 'y.>'] }, false);
    try {
      await eventually(() => chainState(a.relay, 'ce') === 'authenticating', 4000, 'socket open');
      await a.clock.advance(1999);
      assert.equal(chainState(a.relay, 'ce'), 'authenticating');
      await a.clock.advance(1);
      await eventually(() => silent.closes.length === 1, 4000, 'closed');
      assert.deepEqual([silent.closes[0], await a.metric('timeout', 'bridge_auth_failures_total')], [4103, 1]);
      await eventually(() => refusing.closes.length === 1, 4000, 'closed after refusals');
      assert.deepEqual([refusing.closes[0], await b.metric('subscribe_refused', 'bridge_auth_failures_total')], [4403, 2]);
      assert.notEqual(chainState(b.relay, 'ce'), 'ready');
    } finally {
      await a.stop();
      await b.stop();
      await silent.close();
      await refusing.close();
    }
  });

  test('config: url and key are required unless `simulator`; subjects are checked at boot', () => {
    const attempt = (upstream: Record<string, unknown>) => {
      try {
        validateConfig({ upstreams: [{ name: 'ce', protocol: 'cloudevents', ...upstream }] }, ALL_ADAPTERS, 't');
        return [];
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.issues.map((i) => i.path);
      }
    };
    assert.deepEqual(attempt({}), ['/upstreams/0/url', '/upstreams/0/key']);
    assert.deepEqual(attempt({ url: 'ws://x/cloudevents', key: 'k', subjects: ['up.>', 'up.server', 'up.>.x'] }), ['/upstreams/0/subjects/1', '/upstreams/0/subjects/2']);
    assert.deepEqual(attempt({ url: 'http://x', key: 'k' }), ['/upstreams/0/url']);
    assert.deepEqual(attempt({ url: 'wss://relay-a/cloudevents', key: { env: 'CE_TEST_KEY_UNSET' } }), ['/upstreams/0/key']);
    assert.deepEqual(attempt({ url: 'wss://relay-a/cloudevents', key: 'k' }), []);
  });
});
