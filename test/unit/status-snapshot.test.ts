/**
 * /status.json's body from the counters and /readyz's detail: rates from two samples (never a
 * guess before the second), link fields passed through only by name, the live tail's listener.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metrics } from '../../src/metrics.ts';
import { buildSnapshot, RateWindow, type ListenerView, type SnapshotSources } from '../../src/status/snapshot.ts';

function sources(over: Partial<SnapshotSources> = {}): SnapshotSources & { clock: { t: number } } {
  const clock = { t: Date.UTC(2026, 0, 1) };
  return {
    clock,
    metrics: new Metrics({ defaultMetrics: false }),
    readiness: () => ({
      ready: true,
      detail: {
        node: 'n1',
        draining: false,
        bus: { kind: 'memory', state: 'connected' },
        sessions: 0,
        upstreams: { up: [{ resource: 'server', id: 's1', state: 'ready', reason: 'authenticated' }] },
      },
    }),
    listeners: [],
    version: '9.9.9',
    now: () => clock.t,
    rates: new RateWindow(),
    ...over,
  };
}

describe('status snapshot', () => {
  test('events/s is null on the first request and the counter difference over the time between samples after', async () => {
    const src = sources();
    const { metrics } = src;
    metrics.eventsIn.inc({ protocol: 'wings', upstream: 'up' }, 5);
    metrics.deliveries('wings').n += 3;
    const first = await buildSnapshot(src);
    assert.equal(first.events.in.total, 5);
    assert.equal(first.events.in.perSecond, null);
    assert.equal(first.events.out.total, 3);
    assert.equal(first.events.windowSeconds, null);

    src.clock.t += 2000;
    metrics.eventsIn.inc({ protocol: 'wings', upstream: 'up' }, 10);
    metrics.deliveries('wings').n += 40;
    const second = await buildSnapshot(src);
    assert.equal(second.events.windowSeconds, 2);
    assert.equal(second.events.in.perSecond, 5);
    assert.deepEqual(second.events.in.byUpstream, { up: { total: 15, perSecond: 5 } });
    assert.deepEqual(second.events.out.byDialect, { wings: { total: 43, perSecond: 20 } });
  });

  test('requests closer than a second apart share the earlier sample; far apart, the rate covers the whole gap', async () => {
    const w = new RateWindow();
    const at = (t: number, n: number) => w.observe(t, new Map([['in', n]]));
    assert.equal(at(0, 0), null);
    assert.equal(at(300, 3), null, 'no sample a second old yet');
    assert.equal(at(1000, 10)?.at, 0);
    assert.equal(at(1500, 12)?.at, 0, 'the 300 ms request took no sample of its own');
    // A script polling every minute still gets a rate, over that minute.
    assert.equal(at(61_000, 500)?.at, 1000);
    assert.equal(at(122_000, 900)?.at, 61_000, 'samples older than the window are dropped once a newer one covers it');
  });

  test('links carry owner, since and ownership when the supervisor reports them, and nothing it does not name', async () => {
    const src = sources({
      readiness: () => ({
        ready: false,
        detail: {
          node: 'n2',
          reason: 'bus reconnecting',
          draining: false,
          bus: { kind: 'nats', state: 'reconnecting', lastError: 'CONNECTION_REFUSED' },
          upstreams: {
            up: [
              { resource: 'server', id: 's1', state: 'standby', reason: 'held elsewhere', owner: 'n1', since: 1767225600000, ownership: 'remote', credential: 'x' },
              { resource: 'server', id: 's2', state: 'unowned', reason: 'no lease', owner: null, since: null, ownership: 'unowned' },
            ],
          },
        },
      }),
    });
    src.metrics.upstreamLinks.set({ protocol: 'wings', upstream: 'up', state: 'standby' }, 1);
    const s = await buildSnapshot(src);
    assert.equal(s.ready, false);
    assert.equal(s.reason, 'bus reconnecting');
    assert.deepEqual(s.bus, { kind: 'nats', state: 'reconnecting', lastError: 'CONNECTION_REFUSED' });
    assert.deepEqual(s.links, [
      { upstream: 'up', protocol: 'wings', resource: 'server', id: 's1', state: 'standby', reason: 'held elsewhere', owner: 'n1', since: 1767225600000, ownership: 'remote' },
      { upstream: 'up', protocol: 'wings', resource: 'server', id: 's2', state: 'unowned', reason: 'no lease', ownership: 'unowned' },
    ]);
  });

  test('counters show only non-zero rows with their labels; dashboards per dialect', async () => {
    const src = sources();
    const { metrics } = src;
    metrics.eventsDropped.inc({ dialect: 'wings', direction: 'downstream', reason: 'unmapped' }, 2);
    metrics.authFailures.inc({ dialect: 'cloudevents', direction: 'downstream', reason: 'auth' });
    metrics.limitHits.inc({ limit: 'maxConnections' }, 0);
    metrics.limitHits.inc({ limit: 'inboundRate' }, 4);
    metrics.downstreamConnections.inc({ dialect: 'wings' }, 3);
    metrics.downstreamConnections.inc({ dialect: 'felix' });
    const s = await buildSnapshot(src);
    assert.deepEqual(s.drops, [{ labels: { dialect: 'wings', direction: 'downstream', reason: 'unmapped' }, count: 2 }]);
    assert.deepEqual(s.authFailures, [{ labels: { dialect: 'cloudevents', direction: 'downstream', reason: 'auth' }, count: 1 }]);
    assert.deepEqual(s.limitHits, [{ labels: { limit: 'inboundRate' }, count: 4 }]);
    assert.deepEqual(s.dashboards, { total: 4, byDialect: { wings: 3, felix: 1 } });
    assert.equal(s.version, '9.9.9');
    assert.equal(s.node, 'n1');
  });

  test('the live tail uses the first CloudEvents listener, or says there is none', async () => {
    const l = (name: string, dialect: string, path: string): ListenerView => ({ name, dialect, path, upstreams: ['up'] });
    const none = await buildSnapshot(sources({ listeners: [l('w', 'wings', '/w')] }));
    assert.equal(none.tail, null);
    const two = await buildSnapshot(sources({ listeners: [l('w', 'wings', '/w'), l('ce1', 'cloudevents', '/ce1'), l('ce2', 'cloudevents', '/ce2')] }));
    assert.deepEqual(two.tail, { path: '/ce1', upstreams: ['up'] });
  });
});
