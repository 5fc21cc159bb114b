/**
 * The bounded log of refusals, failed authentications and limit hits (src/throttled-log.ts), on a
 * ManualClock: per key at most `burst` lines a window, all keys together at most the window's cap,
 * and one summary per window that counts what was held back, by message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import type { Log } from '../../src/contracts.ts';
import { ThrottledLog } from '../../src/throttled-log.ts';

function setup(max = 300) {
  const clock = new ManualClock(1_000_000);
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { clock, lines, notes: new ThrottledLog(log, clock, { windowMs: 60_000, maxLinesPerWindow: max }) };
}

test('a flood from one address is `burst` lines and one summary a window, whatever its size', async () => {
  const { clock, lines, notes } = setup();
  for (let i = 0; i < 10_000; i++) notes.note('warn', 'limit:maxConnections|10.0.0.1', 1, 'limit hit', { address: '10.0.0.1' });
  assert.equal(lines.length, 1);
  await clock.advance(60_000);
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[1], { level: 'warn', msg: 'log lines suppressed', fields: { suppressed: 9_999, windowMs: 60_000, byMessage: { 'limit hit': 9_999 } } });
  notes.note('warn', 'limit:maxConnections|10.0.0.1', 1, 'limit hit', { address: '10.0.0.1' });
  assert.equal(lines.length, 3, 'a new window writes again');
  await clock.advance(120_000);
  assert.equal(lines.length, 3, 'no summary when nothing was held back');
});

test('keys are separate; every key together stays under the window cap', () => {
  const { lines, notes } = setup(50);
  for (let a = 0; a < 1000; a++) for (let i = 0; i < 3; i++) notes.note('info', `auth|10.0.${a >> 8}.${a & 255}`, 2, 'authentication failed', {});
  assert.equal(lines.length, 50);
  notes.close();
  assert.equal(lines.at(-1)!.msg, 'log lines suppressed');
  assert.equal(lines.at(-1)!.fields!.suppressed, 3000 - 50);
});

test('burst lines per key; a debug line is not even counted while debug is off', () => {
  const { lines, notes } = setup();
  for (let i = 0; i < 4; i++) notes.note('warn', 'k', 3, 'authentication failed', { i });
  assert.deepEqual(lines.map((l) => l.fields?.i), [0, 1, 2]);
  const quiet = new ThrottledLog({ debug() { throw new Error('written'); }, info() {}, warn() {}, error() {}, enabled: (l) => l !== 'debug' }, new ManualClock());
  quiet.note('debug', 'k', 1, 'request refused', {});
  quiet.close();
});
