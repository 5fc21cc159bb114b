/**
 * Issue 9, defect 2: a Wings socket that sent 16 000 bad `auth` frames and closed kept the relay
 * at 100 % CPU for minutes: every frame was chained onto a per-session promise queue with no
 * bound, which did not stop when the socket closed, and each JWT was still verified.
 *
 * Now the core hands a session's frames over one at a time with at most
 * `limits.inboundQueueFrames` waiting (past it the socket is closed 4109), and a closed session
 * does no further work. Counted here by what each verification ends in: an auth failure.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { systemClock } from '../../src/clock.ts';
import { signJwt } from '../../src/auth/jwt.ts';
import { WingsClient } from '../helpers/wings-client.ts';
import { linksReady, S1, startHarness, type Harness } from '../helpers/wings-harness.ts';

const FRAMES = 16_000;

let h: Harness | undefined;
after(async () => h?.stop());

/** Every Wings downstream auth failure counted so far, whatever the reason. */
async function authFailures(relay: Harness['relay']): Promise<number> {
  const metric = await relay.metrics.authFailures.get();
  return metric.values.filter((v) => v.labels.dialect === 'wings' && v.labels.direction === 'downstream').reduce((n, v) => n + v.value, 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('16 000 bad auth frames, then close: the work done stays bounded by the queue and stops at the close', async () => {
  h = await startHarness();
  await linksReady(h);
  const { inboundQueueFrames, authFailuresPerSocket } = h.relay.config.limits;
  const now = Math.floor(Date.now() / 1000);
  // Well formed and signed, with the wrong secret: each one costs the relay an HMAC verification.
  const forged = await signJwt('not-the-relay-secret', { server_uuid: S1, permissions: ['*'], iat: now, exp: now + 600 }, systemClock);
  const frame = JSON.stringify({ event: 'auth', args: [forged] });

  const ws = new WebSocket(h.socketUrl(S1), { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const closed = new Promise<{ code: number }>((resolve) => ws.once('close', (code) => resolve({ code })));
  for (let i = 0; i < FRAMES; i++) ws.send(frame);
  ws.close();
  const { code } = await closed;
  assert.ok(code !== 1006, `closed with a code (${code})`);

  // Whatever was still running when the socket went has had ample time to finish.
  await sleep(300);
  const atClose = await authFailures(h.relay);
  const cpu = process.cpuUsage();
  await sleep(700);
  const spent = process.cpuUsage(cpu);
  const later = await authFailures(h.relay);
  assert.equal(later, atClose, 'no verification after the session closed');
  // The relay runs in this process: once the socket is gone it is idle, not verifying tokens.
  const busyMs = (spent.user + spent.system) / 1000;
  assert.ok(busyMs < 350, `the process is idle after the close (${Math.round(busyMs)} ms of CPU in 700 ms)`);
  assert.ok(
    atClose <= inboundQueueFrames + authFailuresPerSocket,
    `at most a queue's worth of frames was verified (${atClose} > ${inboundQueueFrames + authFailuresPerSocket})`,
  );

  // The relay answers another dashboard at once.
  const started = Date.now();
  const c = await WingsClient.connect(h.socketUrl(S1));
  c.send('auth', [(await h.token(S1)).body.data.token]);
  await c.event('auth success', 2000);
  assert.ok(Date.now() - started < 2000, 'prompt');
  c.close();
});
