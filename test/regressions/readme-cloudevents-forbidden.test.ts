/**
 * Issue 12: the README's CloudEvents example promised "every event of every protocol", but the demo
 * key's grants named the four demo upstreams one by one, and a subject whose upstream is a wildcard
 * (`>`) needs an `"upstream": "*"` grant (adapters/cloudevents/access.ts), so it was answered
 * BRIDGE_ERR_FORBIDDEN. The demo key now holds an `"upstream": "*"` grant; this runs the README's
 * CloudEvents block, as written, against bridge.config.json.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Relay } from '../../src/relay.ts';
import { demoBlocks, runBlock, startDemoRelay } from '../helpers/readme-examples.ts';

let relay: Relay | undefined;
after(() => relay?.stop(500));

test("the README's CloudEvents example works with the demo key: `>` is every event of every upstream", async () => {
  const block = demoBlocks().find((b) => b.title.startsWith('**CloudEvents**'));
  assert.ok(block, 'the README has a CloudEvents block');
  assert.ok(block.lines.includes('#   > {"op":"subscribe","subject":">"}'), 'the example subscribes to >');
  relay = await startDemoRelay();
  const run = await runBlock(relay, block);
  try {
    const subscribed = run.matched.find((m) => m.expected === '{"op":"subscribed","subject":">"}')!;
    const unsubscribed = run.matched.find((m) => m.expected === '{"op":"unsubscribed","subject":">"}')!;
    const sources = new Set(
      run.frames
        .slice(subscribed.index + 1, unsubscribed.index)
        .map((f) => (JSON.parse(f) as { source?: string }).source)
        .filter((s): s is string => typeof s === 'string'),
    );
    assert.deepEqual([...sources].sort(), relay.config.upstreams.map((u) => `bridge://${u.name}`).sort(), 'events of every demo upstream');
    assert.ok(!run.frames.some((f) => f.includes('BRIDGE_ERR_FORBIDDEN')));
  } finally {
    run.close();
  }
});
