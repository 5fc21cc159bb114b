/**
 * Issue 13: an encoder that threw was caught by the hub and counted as `unmapped`, the same as a
 * dialect that simply cannot express the event, and nothing was logged: a bug in a codec looked
 * like a protocol gap. Now it is counted `bridge_events_dropped_total{reason="encode_error"}` and
 * logged, once per dialect per window, with the event's type and the error (secrets cut out),
 * never the event's data.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Log, SessionHooks } from '../../src/contracts.ts';
import { makeEvent, type BridgeEvent } from '../../src/events.ts';
import { MemoryBus } from '../../src/bus/memory.ts';
import { Metrics } from '../../src/metrics.ts';
import { ManualClock } from '../../src/clock.ts';
import { ThrottledLog } from '../../src/throttled-log.ts';
import { Hub, type HubMember } from '../../src/downstream/hub.ts';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

function capture(): { log: Log; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, fields });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

function member(dialect: string, encode: HubMember['encode']): HubMember & { frames: number } {
  const m = {
    dialect,
    encode,
    frames: 0,
    hooks: {
      variant: '',
      onMessage() {},
      onEvent(_event: BridgeEvent, _frame: Buffer) {
        m.frames += 1;
      },
      onClose() {},
    } satisfies SessionHooks,
  };
  return m;
}

const SECRET = 'eyJhbGciOiJIUzI1NiJ9abcdefghijklmnopqrstuvwxyz0123456789';
const SUBJECT = 'bridge.evt.up.server.s1.console';

async function dropped(metrics: Metrics, reason: string): Promise<number> {
  const m = (await metrics.eventsDropped.get()).values.find((v) => v.labels.reason === reason && v.labels.dialect === 'broken');
  return m?.value ?? 0;
}

describe('an encoder that throws', () => {
  test('is counted as encode_error, not unmapped, and logged once per dialect per window without the data', async () => {
    const clock = new ManualClock();
    const { log, lines } = capture();
    const notes = new ThrottledLog(log, clock);
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = new MemoryBus();
    const hub = new Hub(bus, metrics, notes);
    const broken = member('broken', () => {
      throw new TypeError(`cannot read line of ${SECRET}`);
    });
    const fine = member('fine', (event) => JSON.stringify({ t: event.type }));
    hub.subscribe('bridge.evt.up.server.s1.>', broken);
    hub.subscribe('bridge.evt.up.server.s1.>', fine);

    const publish = () => bus.publish(SUBJECT, makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line: `token ${SECRET}` }));
    publish();
    publish();
    publish();

    assert.equal(broken.frames, 0);
    assert.equal(fine.frames, 3, 'the other dialect is served');
    assert.equal(await dropped(metrics, 'encode_error'), 3);
    assert.equal(await dropped(metrics, 'unmapped'), 0, 'a thrown encoder is not a protocol gap');

    const told = lines.filter((l) => l.msg === 'an encoder threw; event not sent');
    assert.equal(told.length, 1, 'one line per dialect per window');
    assert.equal(told[0]!.level, 'warn');
    assert.equal(told[0]!.fields?.dialect, 'broken');
    assert.equal(told[0]!.fields?.type, 'server.console');
    assert.equal((told[0]!.fields?.error as { name: string }).name, 'TypeError');
    assert.ok(!JSON.stringify(lines).includes(SECRET), 'neither the data nor the error quotes the secret');

    await clock.advance(notes.windowMs);
    publish();
    assert.equal(lines.filter((l) => l.msg === 'an encoder threw; event not sent').length, 2, 'the next window tells again');
    assert.ok(lines.some((l) => l.msg === 'log lines suppressed'), 'what was held back is summarised');
    assert.ok(!JSON.stringify(lines).includes(SECRET));
  });

  test('a dialect that cannot express the event is still unmapped, and nothing is logged', async () => {
    const clock = new ManualClock();
    const { log, lines } = capture();
    const metrics = new Metrics({ defaultMetrics: false });
    const bus = new MemoryBus();
    const hub = new Hub(bus, metrics, new ThrottledLog(log, clock));
    hub.subscribe('bridge.evt.up.server.s1.>', member('broken', () => null));
    bus.publish(SUBJECT, makeEvent({ upstream: 'up', node: 'n' }, 'server.console', 's1', { line: 'x' }));
    assert.equal(await dropped(metrics, 'unmapped'), 1);
    assert.equal(await dropped(metrics, 'encode_error'), 0);
    assert.deepEqual(lines, []);
  });
});
