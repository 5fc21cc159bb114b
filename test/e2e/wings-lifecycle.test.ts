/**
 * Token lifecycle on both sides, reconnects and terminal closes, over real sockets with a manual
 * clock driving every heartbeat, token check and backoff (no sleeps).
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { S1, S2, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import { authed } from '../helpers/wings-e2e-suite.ts';

let h: Harness | undefined;
const clients: WingsClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await h?.stop();
  h = undefined;
});

async function open(server = S1): Promise<WingsClient> {
  const c = await authed(h!, server);
  clients.push(c);
  return c;
}

describe('downstream token lifecycle (the relay as Wings)', () => {
  test('token expiring at ≤ 60 s left, refresh by re-auth, token expired every interval with the socket open', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, listener: { tokenTtlSeconds: 120, tokenCheckIntervalMs: 30_000 } });
    await linksReady(h);
    const c = await open(S1);
    await c.event('status');

    await clock.advance(30_000); // 90 s left: nothing
    await clock.advance(30_000); // 60 s left: expiring
    await c.event('token expiring');
    assert.equal(c.unread().length, 0);

    const fresh = (await h.token(S1)).body.data.token as string; // exp = now + 120 s
    c.send('auth', [fresh]);
    await c.event('auth success');
    h.sim.console(S1, 'still flowing');
    const next = await c.next((f) => f.event !== 'stats');
    assert.deepEqual([next.event, next.args], ['console output', ['still flowing']], 'a re-auth sends no second status');

    await clock.advance(120_000); // the fresh token's exp: the tick says expired
    await c.event('token expired');
    await clock.advance(1000); // exp + 1 s: the token no longer works (Wings compares whole seconds)
    h.sim.console(S1, 'hidden while expired');
    assert.deepEqual((await c.event('jwt error')).args, ['jwt: exp claim is invalid']);
    c.send('send logs');
    assert.deepEqual((await c.event('jwt error')).args, ['jwt: exp claim is invalid']);
    await clock.advance(30_000);
    await c.event('token expired');
    assert.equal(c.ws.readyState, c.ws.OPEN, 'Wings keeps an expired socket open');

    c.send('auth', [(await h.token(S1)).body.data.token]);
    await c.event('auth success');
    h.sim.console(S1, 'visible again');
    assert.deepEqual((await c.next((f) => f.event === 'console output')).args, ['visible again']);
  });

  test('each socket is checked a full interval after its own auth, never early (one timer serves them all)', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, listener: { tokenTtlSeconds: 90, tokenCheckIntervalMs: 30_000 } });
    await linksReady(h);
    const first = await open(S1); // exp = t0 + 90 s
    await first.event('status');
    await clock.advance(20_000);
    const second = await open(S1); // exp = t0 + 110 s
    await second.event('status');

    await clock.advance(10_000); // t0+30: first checked (60 s left), second only 10 s into its interval
    await first.event('token expiring');
    assert.equal(second.unread().filter((f) => f.event === 'token expiring').length, 0, 'no early check for the second socket');

    await clock.advance(20_000); // t0+50: second checked at 30 s after its auth (60 s left)
    await second.event('token expiring');
    assert.equal(first.unread().filter((f) => f.event.startsWith('token')).length, 0, 'the first is not checked twice in one interval');
    await clock.advance(10_000); // t0+60: first's second check, 30 s left
    await first.event('token expiring');
  });

  test('an expired token is refused at auth with the exp text', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, listener: { tokenTtlSeconds: 60 } });
    const token = (await h.token(S1)).body.data.token as string;
    await clock.advance(61_000);
    const c = await WingsClient.connect(h.socketUrl(S1));
    clients.push(c);
    c.send('auth', [token]);
    assert.deepEqual((await c.event('jwt error')).args, ['jwt: exp claim is invalid']);
  });
});

describe('upstream token lifecycle (the relay as a panel client)', () => {
  test('on token expiring the relay fetches a new token and re-auths on the same socket', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, sim: { tokenTtlSeconds: 90, tokenCheckIntervalMs: 30_000 } });
    await linksReady(h);
    const issued = h.sim.tokensIssued;
    const authsBefore = h.sim.received.filter((f) => f.uuid === S1 && f.event === 'auth').length;
    await clock.advance(30_000); // 60 s left on the upstream token: Wings sends token expiring
    await eventually(() => h!.sim.received.filter((f) => f.uuid === S1 && f.event === 'auth').length > authsBefore, 4000, 're-auth upstream');
    // Both links re-authenticated: the simulator's sockets hold tokens with the full 90 s left.
    const fresh = (uuid: string) => h!.sim.tokenExpiries(uuid).every((exp) => exp === clock.now() + 90_000);
    await eventually(() => fresh(S1) && fresh(S2), 4000, 'fresh tokens held upstream');
    assert.ok(h.sim.tokensIssued >= issued + 2, 'both links fetched a fresh token');
    assert.equal(h.sim.connectionCount(S1), 1, 'same socket: no reconnect');
    // 90 s more, one check interval at a time: each check asks for a refresh, and each refresh is
    // a real HTTP round trip plus an auth. One 90 s jump would fire the next check before the
    // re-auth was answered, which the link rightly reads as a refused fresh token.
    for (let i = 0; i < 3; i++) {
      await clock.advance(30_000);
      await eventually(() => fresh(S1) && fresh(S2), 4000, `fresh tokens after check ${i + 2}`);
    }
    assert.equal(h.sim.connectionCount(S1), 1, 'still the same socket');
    const c = await open(S1);
    h.sim.console(S1, 'after refresh');
    assert.deepEqual((await c.next((f) => f.event === 'console output')).args, ['after refresh']);
    assert.equal(h.relay.supervisor.link('up', 'server', S1)?.state, 'ready');
  });

  test('a denylist jwt error makes the relay re-auth with a fresh token', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock });
    await linksReady(h);
    const c = await open(S1);
    h.sim.denyTokensIssuedBefore(S1, clock.now() + 500);
    await clock.advance(1000);
    const issued = h.sim.tokensIssued;
    h.sim.console(S1, 'replaced by a denylist error upstream');
    await eventually(() => h!.sim.tokensIssued > issued, 4000, 'fresh token fetched');
    await eventually(() => h!.sim.received.filter((f) => f.uuid === S1 && f.event === 'auth').length >= 2, 4000, 're-auth');
    // Lines emitted before Wings has processed the re-auth are still replaced (as real Wings does),
    // so probe until one gets through.
    let probe = 0;
    await eventually(() => {
      h!.sim.console(S1, `accepted again ${probe++}`);
      return c.frames.some((f) => f.event === 'console output' && f.args?.[0]?.startsWith('accepted again'));
    }, 4000, 'lines flow again');
    assert.equal(h.relay.supervisor.link('up', 'server', S1)?.state, 'ready', 'no reconnect was needed');
  });
});

describe('upstream reconnects', () => {
  test('a dropped upstream reconnects after a jittered backoff; commands meanwhile get a daemon error', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, random: () => 0.5, limits: { backoffInitialMs: 1000, backoffMaxMs: 8000, backoffMultiplier: 2 } });
    await linksReady(h);
    const c = await open(S1);
    const link = h.relay.supervisor.link('up', 'server', S1)!;
    h.sim.dropAll();
    await eventually(() => link.state === 'backoff', 4000, 'backoff');
    assert.match(link.reason, /retry in 500 ms/, 'full jitter: half of the 1000 ms ceiling');
    c.send('send command', ['while down']);
    const err = await c.event('daemon error');
    assert.match(err.args![0]!, /upstream link is backoff/, 'the admin sees the real error (admin.websocket.errors)');

    await clock.advance(499);
    assert.equal(link.state, 'backoff');
    await clock.advance(1);
    await eventually(() => link.state === 'ready', 4000, 'ready again');
    h.sim.console(S1, 'after reconnect');
    assert.deepEqual((await c.next((f) => f.event === 'console output')).args, ['after reconnect'], 'the dashboard session survived');
    const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_upstream_reconnects_total\{protocol="wings",upstream="up"\} 2/);
  });

  test('the delay ceiling doubles per failed attempt and is capped', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock, random: () => 0.999, limits: { backoffInitialMs: 100, backoffMaxMs: 400, backoffMultiplier: 2 } });
    await linksReady(h);
    const link = h.relay.supervisor.link('up', 'server', S2)!;
    const sim = h.sim;
    const delays: number[] = [];
    // The panel refuses tokens: every attempt fails before a socket opens.
    sim.setTokenPermissions([]);
    sim.dropAll();
    for (let i = 0; i < 5; i++) {
      await eventually(() => link.state === 'backoff' && link.attempts === i + 1, 4000, `attempt ${i + 1}`);
      delays.push(Number(/retry in (\d+) ms/.exec(link.reason)![1]));
      await clock.advance(delays[i]!);
    }
    assert.deepEqual(delays, [99, 199, 399, 399, 399]);
  });
});

describe('terminal upstream closes', () => {
  test('4409 (suspended) stops retrying and shows in /readyz and metrics', async () => {
    const clock = new ManualClock();
    h = await startHarness({ clock });
    await linksReady(h);
    const issued = h.sim.tokensIssued;
    h.sim.suspend(S1);
    const link = h.relay.supervisor.link('up', 'server', S1)!;
    await eventually(() => link.state === 'failed', 4000, 'failed');
    assert.match(link.reason, /4409/);
    await clock.advance(120_000);
    assert.equal(h.sim.tokensIssued, issued, 'no new attempt');
    const ready = (await (await fetch(`${h.relay.url}/readyz`)).json()) as { upstreams: { up: { id: string; state: string }[] } };
    assert.deepEqual(ready.upstreams.up.map((l) => [l.id, l.state]), [[S1, 'failed'], [S2, 'ready']]);
    const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_upstream_links\{protocol="wings",upstream="up",state="failed"\} 1/);
    const state = await h.relay.bus.last(h.relay.subjects.event('up', 'upstream.state', S1));
    assert.deepEqual(state?.data, { state: 'failed', reason: 'server suspended (4409)', resource: 'server', id: S1, owner: 'test-node', code: 'BRIDGE_ERR_SUSPENDED' }, 'link state is published as upstream.state, per link');
  });
});
