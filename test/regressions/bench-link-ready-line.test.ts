/**
 * Regression: the bench waited for /"msg":"upstream link state".*"state":"ready"/, but the relay's
 * logger writes the message key after the fields, so the wait never matched and every relay
 * scenario timed out although the link was ready. The bench's pattern must match the line the
 * relay's own logger writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLog } from '../../src/log.ts';
import { LINK_READY_LINE } from '../../bench/wire.ts';

test("the bench recognises the relay logger's 'link ready' line, and only that", () => {
  const lines: string[] = [];
  const log = createLog('info', { node: 'bench' }, (line) => void lines.push(line));
  log.info('upstream link state', { upstream: 'sim', resource: 'server', id: 'x', state: 'connecting', reason: 'attempt 1' });
  log.info('upstream link state', { upstream: 'sim', resource: 'server', id: 'x', state: 'ready', reason: 'authenticated', owner: 'bench' });
  assert.equal(lines.length, 2);
  assert.equal(LINK_READY_LINE.test(lines[0]!), false, lines[0]);
  assert.equal(LINK_READY_LINE.test(lines[1]!), true, lines[1]);
});
