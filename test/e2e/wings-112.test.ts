/**
 * The Wings listener's `1.12` profile (REAL-BEHAVIOUR.md, "Limits in Wings ≥ 1.12"): scope check,
 * 30 authenticated sockets per server, 30 s auth deadline, 32 KiB frames, rate limits with
 * `throttled` — and the `1.11` profile without Wings' own per-event limits. (The auth deadline,
 * the keep-alive and the core's command and history limits apply to both profiles since issue 9:
 * see test/regressions.) Manual clock throughout.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { signJwt } from '../../src/auth/jwt.ts';
import { JWT_SECRET, S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { authed } from '../helpers/wings-e2e-suite.ts';

let h: Harness | undefined;
const clients: WingsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await h?.stop();
  h = undefined;
});

async function start112(clock: ManualClock, limits?: Record<string, unknown>): Promise<Harness> {
  h = await startHarness({ clock, listener: { profile: '1.12' }, ...(limits ? { limits } : {}) });
  await linksReady(h);
  return h;
}

describe('wings listener profile 1.12', () => {
  test('a token without the websocket scope is refused; the relay\'s own tokens carry it', async () => {
    const clock = new ManualClock();
    await start112(clock);
    const now = Math.floor(clock.now() / 1000);
    const noScope = await signJwt(JWT_SECRET, { server_uuid: S1, permissions: ['*'], iat: now, exp: now + 600 }, clock);
    const c = await WingsClient.connect(h!.socketUrl(S1));
    clients.push(c);
    c.send('auth', [noScope]);
    assert.equal((await c.event('daemon error')).args![0], 'an unexpected error was encountered while handling this request');
    c.send('auth', [(await h!.token(S1)).body.data.token]);
    await c.event('auth success');
  });

  test('a socket that does not authenticate within the deadline is closed with 4103', async () => {
    const clock = new ManualClock();
    await start112(clock);
    const c = await WingsClient.connect(h!.socketUrl(S1));
    clients.push(c);
    await clock.advance(29_999);
    assert.equal(c.ws.readyState, c.ws.OPEN);
    await clock.advance(1);
    const closed = await c.closed;
    assert.equal(closed.code, 4103);
    const ok = await authed(h!, S1);
    clients.push(ok);
    await clock.advance(60_000);
    assert.equal(ok.ws.readyState, ok.ws.OPEN, 'an authenticated socket is not cut');
  });

  test('rate limits: one throttled per episode, and the limit refills on the clock', async () => {
    const clock = new ManualClock();
    await start112(clock);
    const c = await authed(h!, S1); // auth spent one of the two `auth` tokens
    clients.push(c);
    h!.sim.emit(S1, 'stats', [JSON.stringify({ memory_bytes: 1, memory_limit_bytes: 2, cpu_absolute: 0, network: { rx_bytes: 0, tx_bytes: 0 }, uptime: 1, state: 'running', disk_bytes: 0 })]);
    await c.event('stats');
    for (let i = 0; i < 6; i++) c.send('send stats'); // burst 4
    for (let i = 0; i < 4; i++) assert.equal((await c.next((f) => f.event === 'stats' || f.event === 'throttled')).event, 'stats');
    assert.deepEqual((await c.next((f) => f.event === 'stats' || f.event === 'throttled')).args, ['send stats']);
    await clock.advance(1000);
    c.send('send stats');
    const after = await c.next((f) => f.event === 'stats' || f.event === 'throttled');
    assert.equal(after.event, 'stats', 'one throttled per episode, then a refilled token passes');
    const metrics = await (await fetch(`${h!.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="throttled"\} 2/);
  });

  test('the global bucket: more than 10 messages at once is throttled as "global"', async () => {
    const clock = new ManualClock();
    await start112(clock);
    const c = await authed(h!, S1);
    clients.push(c);
    await clock.advance(5000); // refill the global bucket after the auth
    for (let i = 0; i < 12; i++) c.send('no such event'); // per-event bucket (4) throttles first…
    assert.deepEqual((await c.event('throttled')).args, ['no such event']);
    await clock.advance(1000);
    const events = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
    for (const e of events) c.send(`other ${e}`); // …distinct events: only the global bucket limits
    assert.deepEqual((await c.event('throttled')).args, ['global']);
  });

  test('frames over 32 KiB are dropped unparsed; the socket stays open', async () => {
    const clock = new ManualClock();
    await start112(clock);
    const c = await authed(h!, S1);
    clients.push(c);
    c.send('send command', ['x'.repeat(33 * 1024)]);
    c.send('send logs');
    c.send('send command', ['small']);
    await c.next((f) => f.event === 'console output' && f.args?.[0] === '> small');
    assert.ok(!h!.sim.received.some((f) => f.event === 'send command' && f.args[0]!.length > 1000));
  });

  test('at most 30 authenticated sockets per server: the 31st upgrade gets HTTP 400', async () => {
    const clock = new ManualClock();
    // 31 upgrades in one instant of the manual clock: the relay's own per-address connect rate
    // (burst 30) would answer the 31st before the Wings cap is reached.
    await start112(clock, { connectRatePerAddress: { burst: 40, refillMs: 100 } });
    for (let i = 0; i < 30; i++) clients.push(await authed(h!, S1));
    await assert.rejects(WingsClient.connect(h!.socketUrl(S1)), (err: { status?: number }) => err.status === 400);
    clients.pop()!.close();
    // Once the relay has seen that close, a socket fits again.
    const again = await eventually(() => authed(h!, S1).catch(() => null), 4000, 'a free slot');
    clients.push(again);
  });
});

describe('wings listener profile 1.11', () => {
  test('no per-event rate limits: twelve quick send stats are all answered', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock });
    await linksReady(h);
    const c = await authed(h, S1);
    clients.push(c);
    h.sim.emit(S1, 'stats', [JSON.stringify({ memory_bytes: 1, memory_limit_bytes: 2, cpu_absolute: 0, network: { rx_bytes: 0, tx_bytes: 0 }, uptime: 1, state: 'running', disk_bytes: 0 })]);
    await c.event('stats');
    for (let i = 0; i < 12; i++) c.send('send stats');
    for (let i = 0; i < 12; i++) assert.equal((await c.next((f) => f.event === 'stats' || f.event === 'throttled')).event, 'stats');
  });
});
