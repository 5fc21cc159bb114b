/**
 * Every dialect's frames in the README's "Watch the demo" section, run as written against the
 * repository's bridge.config.json (test/helpers/readme-examples.ts says how a block is read). The
 * CloudEvents block runs in test/regressions/readme-cloudevents-forbidden.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Relay } from '../../src/relay.ts';
import { demoBlocks, matches, runBlock, startDemoRelay } from '../helpers/readme-examples.ts';

const blocks = demoBlocks().filter((b) => !b.title.startsWith('**CloudEvents**'));

test('the README shows a block for each dialect, with the Semoxy v2 AUTHENTICATE and ENABLE_INTENT frames', () => {
  const titles = blocks.map((b) => b.title.replace(/^\*\*([^*]+)\*\*.*$/, '$1'));
  assert.deepEqual(titles, ['Wings', 'Felix', 'Room gateway', 'Semoxy panel events, v1', 'Semoxy panel events, v2']);
  const v2 = blocks.at(-1)!.lines;
  assert.ok(v2.includes('#   > {"action":"AUTHENTICATE","data":{"sessionId":"ptlc_demo_dashboard_key"}}'));
  assert.ok(v2.includes('#   > {"action":"ENABLE_INTENT","data":{"intent":"console.*"}}'));
});

test('`…` in an expected frame stands for any text, the rest matches in order', () => {
  assert.ok(matches('{"a":…,"b":"x"}', '{"a":12,"b":"x"}'));
  assert.ok(matches('{"a":1}', '{"a":1}'));
  assert.ok(!matches('{"a":1}', '{"a":1}{"a":1}'));
  assert.ok(!matches('{"a":…,"b":"x"}', '{"a":12,"b":"y"}'));
  assert.ok(!matches('ab…ba', 'aba'));
});

describe('the README demo blocks, against the demo config', { concurrency: true }, () => {
  let relay: Relay;
  const closers: (() => void)[] = [];
  before(async () => {
    relay = await startDemoRelay();
  });
  after(async () => {
    for (const c of closers) c();
    await relay?.stop(500);
  });
  for (const block of blocks) {
    test(block.title, async () => {
      const run = await runBlock(relay, block);
      closers.push(run.close);
      assert.ok(run.matched.length > 0);
    });
  }
});
