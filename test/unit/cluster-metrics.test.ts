/**
 * /metrics under --workers (src/process/cluster-metrics.ts), without processes: the primary's
 * aggregation over fake workers backed by real relay Metrics, and the scraped worker's client.
 * Messages pass through JSON, as over the IPC channel.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { Metrics } from '../../src/metrics.ts';
import { MetricsAggregator, ScrapeClient } from '../../src/process/cluster-metrics.ts';
import type { ToPrimary } from '../../src/process/messages.ts';
import type { PoolWorker } from '../../src/process/pool.ts';
import { FakeWorker, memoryLog } from '../helpers/fake-worker.ts';

const ipc = <T>(msg: T): T => JSON.parse(JSON.stringify(msg)) as T;

/** A ready worker whose relay has these metrics and answers collections through a ScrapeClient. */
function worker(index: number, metrics: Metrics, agg: () => MetricsAggregator, o: { mute?: boolean } = {}) {
  const handle = new FakeWorker();
  const pw: PoolWorker = { index, handle, ready: true };
  const client = new ScrapeClient({
    send: (msg: ToPrimary) => {
      agg().onMessage(pw, ipc(msg));
      return true;
    },
    registry: metrics.registry,
    clock: new ManualClock(),
    log: memoryLog(),
  });
  handle.onSend = (msg) => {
    if (!o.mute) client.onMessage(ipc(msg));
  };
  return pw;
}

function relayMetrics(connections: number, bus: string): Metrics {
  const m = new Metrics({ defaultMetrics: false });
  m.downstreamConnections.set({ dialect: 'wings' }, connections);
  m.setBusState('nats', bus, ['connected', 'reconnecting']);
  m.deliveries('wings').n += connections * 10;
  return m;
}

const sample = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('metrics of every worker', () => {
  test('the primary sums counters and gauges over the ready workers', async () => {
    const clock = new ManualClock();
    const workers: PoolWorker[] = [];
    const agg = new MetricsAggregator({ clock, log: memoryLog(), workers: () => workers });
    workers.push(worker(1, relayMetrics(3, 'connected'), () => agg), worker(2, relayMetrics(4, 'reconnecting'), () => agg));
    const text = await agg.aggregate();
    assert.equal(sample(text, 'bridge_downstream_connections{dialect="wings"}'), 7);
    assert.equal(sample(text, 'bridge_events_out_total{dialect="wings"}'), 70);
    assert.equal(sample(text, 'bridge_bus_state{kind="nats",state="connected"}'), 1, 'one worker connected');
    assert.equal(sample(text, 'bridge_bus_state{kind="nats",state="reconnecting"}'), 1, 'one worker reconnecting');
  });

  test('a worker that does not answer is left out at the deadline (logged); one that exits is not waited for', async () => {
    const clock = new ManualClock();
    const log = memoryLog();
    const workers: PoolWorker[] = [];
    const agg = new MetricsAggregator({ clock, log, workers: () => workers, timeoutMs: 1500 });
    const mute = worker(2, relayMetrics(100, 'connected'), () => agg, { mute: true });
    workers.push(worker(1, relayMetrics(3, 'connected'), () => agg), mute);
    let text: string | undefined;
    const pending = agg.aggregate().then((t) => (text = t));
    await clock.advance(1499);
    assert.equal(text, undefined, 'waits for the silent worker until the deadline');
    await clock.advance(1);
    await pending;
    assert.equal(sample(text!, 'bridge_downstream_connections{dialect="wings"}'), 3);
    assert.ok(log.lines.some((l) => l.level === 'warn' && JSON.stringify(l.fields?.workers) === '[2]'));

    text = undefined;
    const again = agg.aggregate().then((t) => (text = t));
    agg.onExit(mute);
    await again;
    assert.equal(sample(text!, 'bridge_downstream_connections{dialect="wings"}'), 3, 'answered as soon as the silent worker exited');
  });

  test('a scrape request is answered with the aggregation, under its id', async () => {
    const clock = new ManualClock();
    const workers: PoolWorker[] = [];
    const agg = new MetricsAggregator({ clock, log: memoryLog(), workers: () => workers });
    const w1 = worker(1, relayMetrics(2, 'connected'), () => agg, { mute: false });
    workers.push(w1, worker(2, relayMetrics(5, 'connected'), () => agg));
    const answered = new Promise<unknown>((resolve) => {
      const before = (w1.handle as FakeWorker).onSend;
      (w1.handle as FakeWorker).onSend = (msg) => (msg.type === 'bridge:scrape-result' ? resolve(msg) : before?.(msg));
    });
    agg.onMessage(w1, { type: 'bridge:scrape', id: 41 });
    const msg = (await answered) as { id: number; text: string };
    assert.equal(msg.id, 41);
    assert.equal(sample(msg.text, 'bridge_downstream_connections{dialect="wings"}'), 7);
  });
});

describe('the scraped worker', () => {
  function client(send: (msg: ToPrimary) => boolean) {
    const clock = new ManualClock();
    const log = memoryLog();
    const metrics = relayMetrics(3, 'connected');
    return { clock, log, c: new ScrapeClient({ send, registry: metrics.registry, clock, log, timeoutMs: 2000 }) };
  }

  test('answers with the primary\'s text', async () => {
    const sent: ToPrimary[] = [];
    const { c } = client((m) => sent.push(m) > 0);
    const scrape = c.scrape();
    assert.equal(sent[0]!.type, 'bridge:scrape');
    c.onMessage({ type: 'bridge:scrape-result', id: (sent[0] as { id: number }).id, text: 'all of them\n' });
    assert.equal(await scrape, 'all of them\n');
  });

  test('answers with its own metrics and a warning when the primary is silent, failing or gone', async () => {
    const sent: ToPrimary[] = [];
    const { c, clock, log } = client((m) => sent.push(m) > 0);
    let text: string | undefined;
    const scrape = c.scrape().then((t) => (text = t));
    await clock.advance(1999);
    assert.equal(text, undefined);
    await clock.advance(1);
    await scrape;
    assert.equal(sample(text!, 'bridge_downstream_connections{dialect="wings"}'), 3);
    assert.ok(log.lines.some((l) => l.level === 'warn' && /did not answer within 2000 ms/.test(String(l.fields?.reason))));

    const failing = c.scrape();
    c.onMessage({ type: 'bridge:scrape-result', id: (sent.at(-1) as { id: number }).id, error: 'boom' });
    assert.equal(sample(await failing, 'bridge_downstream_connections{dialect="wings"}'), 3);

    const gone = client(() => false);
    assert.equal(sample(await gone.c.scrape(), 'bridge_downstream_connections{dialect="wings"}'), 3, 'no channel: at once');
  });
});
