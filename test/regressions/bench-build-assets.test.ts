/**
 * Regression: `npm run bench` compiled the relay with tsc alone, so dist/ lacked the status
 * page's assets and every relay scenario failed at start ("status page asset missing"). The bench
 * must copy into dist/ what the image's build copies after `npm run build`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RUNTIME_ASSETS } from '../../bench/build.ts';

test('the bench build copies every directory the Dockerfile copies into dist/ after tsc', () => {
  const dockerfile = readFileSync(new URL('../../deploy/Dockerfile', import.meta.url), 'utf8');
  const copied = [...dockerfile.matchAll(/^RUN cp -r (\S+) dist\/(\S+)$/gm)].map((m) => {
    assert.equal(m[2], m[1], 'copied to the same path under dist/');
    return m[1]!;
  });
  assert.ok(copied.length > 0, 'the Dockerfile copies assets after tsc');
  assert.deepEqual([...RUNTIME_ASSETS].sort(), copied.sort());
});
