/**
 * The adapters' shared link and config pieces (src/upstream/link-helpers.ts,
 * src/config/required-options.ts), checked on their own; each adapter's tests check them in place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { handshakeDeadline, retryVerdict, requiredUnlessSimulator, upstreamRequires, type LinkIO } from '../../src/adapter-kit.ts';

/** The slice of LinkIO a deadline touches: the clock, the auth-failure counter and close. */
function deadlineIo(clock: ManualClock) {
  const seen = { authFailures: [] as string[], closes: [] as string[] };
  const io = { clock, telemetry: { authFailed: (r: string) => seen.authFailures.push(r) }, close: (code: string, detail: string) => seen.closes.push(`${code} ${detail}`) };
  return { io: io as unknown as LinkIO, seen };
}

const EXPIRY = { reason: 'timeout', code: 'BRIDGE_ERR_UPSTREAM_TIMEOUT', detail: 'no answer in time' } as const;

test('handshakeDeadline counts one auth failure and closes once the time is up, not before', async () => {
  const clock = new ManualClock();
  const { io, seen } = deadlineIo(clock);
  handshakeDeadline(io, 1000, EXPIRY);
  await clock.advance(999);
  assert.deepEqual(seen, { authFailures: [], closes: [] });
  await clock.advance(1);
  assert.deepEqual(seen, { authFailures: ['timeout'], closes: ['BRIDGE_ERR_UPSTREAM_TIMEOUT no answer in time'] });
});

test('handshakeDeadline does nothing when cancelled, or when settled() says the answer came', async () => {
  const clock = new ManualClock();
  const { io, seen } = deadlineIo(clock);
  handshakeDeadline(io, 1000, EXPIRY).cancel();
  handshakeDeadline(io, 1000, EXPIRY, () => true);
  await clock.advance(5000);
  assert.deepEqual(seen, { authFailures: [], closes: [] });
  assert.equal(clock.pending, 0);
});

test('retryVerdict retries, naming a refused upgrade or the close code and reason', () => {
  assert.deepEqual(retryVerdict({ code: 1006, reason: '', httpStatus: 401 }), { terminal: false, reason: 'upgrade refused (HTTP 401)' });
  assert.deepEqual(retryVerdict({ code: 1001, reason: 'going away' }), { terminal: false, reason: 'closed 1001 going away' });
  assert.deepEqual(retryVerdict({ code: 1006, reason: '' }), { terminal: false, reason: 'closed 1006' });
});

test('requiredUnlessSimulator and upstreamRequires list missing options in order, none with a simulator or for a listener', () => {
  const missing = (key: string) => [`/${key}`, 'required unless `simulator` is set'];
  assert.deepEqual(requiredUnlessSimulator({ token: 't' }, ['url', 'token', 'key']), [missing('url'), missing('key')]);
  assert.deepEqual(requiredUnlessSimulator({ simulator: 'sim' }, ['url']), []);
  const check = upstreamRequires('url', 'token');
  assert.deepEqual(check('upstream', {}), [missing('url'), missing('token')]);
  assert.deepEqual(check('upstream', { simulator: 'sim' }), []);
  assert.deepEqual(check('listener', {}), []);
});
