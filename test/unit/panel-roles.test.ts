/**
 * The panel upstream link driven without sockets (adapters are sans-I/O): a fake LinkIO records what
 * the link sends, publishes and closes; a ManualClock drives the v2 auth timeout. Also the adapter's
 * config checks through the real config loader.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { validateConfig, ConfigError } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { LinkFailure, type HttpCall, type HttpResult, type LinkHooks, type LinkIO, type Log } from '../../src/adapter-kit.ts';
import { ticketEndpointOf, type PanelListenerConfig } from '../../adapters/panel/ticket-endpoint.ts';
import { createPanelUpstream, type PanelUpstreamConfig } from '../../adapters/panel/upstream.ts';

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
const S = '607c71907be61b381db28144';

interface Recorded {
  sent: string[];
  published: { type: string; data: unknown; id: string | undefined }[];
  closes: [string, string | undefined][];
  authFailures: string[];
  drops: string[];
  ready: number;
  calls: HttpCall[];
}

function link(config: Partial<PanelUpstreamConfig>, http: (call: HttpCall) => Promise<HttpResult> = async () => ({ status: 200, headers: {}, json: { data: { token: 'tk/1' } }, text: '' })) {
  const clock = new ManualClock();
  const full: PanelUpstreamConfig = { name: 'up', url: 'https://semoxy.example/api/', session: 'sess', version: 'v1', servers: [S], intents: ['console.*', 'stat.*'], authTimeoutMs: 30_000, ...config };
  const role = createPanelUpstream({ config: full, node: 'n', clock, log: silent });
  const r: Recorded = { sent: [], published: [], closes: [], authFailures: [], drops: [], ready: 0, calls: [] };
  const io: LinkIO = {
    spec: role.links()[0]!,
    clock,
    log: silent,
    telemetry: { dropped: (reason) => void r.drops.push(reason), authFailed: (reason) => void r.authFailures.push(reason), heartbeatTimeout() {}, command() {} },
    http: (call) => (r.calls.push(call), http(call)),
    send: (text) => void r.sent.push(text),
    close: (code, reason) => void r.closes.push([code, reason]),
    publish: (type, data, id) => void r.published.push({ type, data, id }),
    ready: () => void (r.ready += 1),
    interest: () => new Map(),
  };
  const hooks: LinkHooks = role.link(io.spec, io);
  return { role, hooks, r, clock };
}

describe('panel upstream link', () => {
  test('one link for the whole panel; the configured servers are resources', () => {
    const { role } = link({ servers: [S, 'abc'] });
    assert.deepEqual(role.links(), [{ resource: 'panel', id: '_' }]);
    assert.deepEqual(role.resources?.(), [{ resource: 'server', id: S }, { resource: 'server', id: 'abc' }]);
  });

  test('v1: a ticket from GET /account/ticket with the session, then ?ticket=; ready on open', async () => {
    const { hooks, r } = link({});
    const target = await hooks.prepare();
    assert.deepEqual(r.calls, [{ method: 'GET', url: 'https://semoxy.example/api/account/ticket', headers: { authorization: 'Bearer sess', accept: 'application/json' } }]);
    assert.deepEqual(target, { url: 'wss://semoxy.example/api/server/events?ticket=tk%2F1' });
    hooks.onOpen();
    assert.equal(r.ready, 1);
    assert.deepEqual(r.sent, [], 'a v1 client sends nothing');
  });

  test('v1: a refused or broken ticket fetch fails the attempt (not terminally) and counts refusals', async () => {
    const answers: HttpResult[] = [
      { status: 401, headers: {}, json: { error: 'Not Logged In' }, text: '' },
      { status: 500, headers: {}, json: undefined, text: 'oops' },
      { status: 200, headers: {}, json: { success: 'ticket created', data: {} }, text: '' },
    ];
    let n = 0;
    const { hooks, r } = link({}, async () => answers[n++]!);
    for (let i = 0; i < 3; i++) {
      const err = await hooks.prepare().then(() => null, (e: unknown) => e);
      assert.ok(err instanceof LinkFailure && !err.terminal, String(err));
    }
    assert.deepEqual(r.authFailures, ['ticket_http_401']);
    const down = link({}, async () => {
      throw new Error('ECONNREFUSED');
    });
    await assert.rejects(down.hooks.prepare(), (e: unknown) => e instanceof LinkFailure && /unreachable/.test(e.message));
  });

  test('v2: AUTHENTICATE on open; intents and ready on AUTH_SUCCESS, once', async () => {
    const { hooks, r } = link({ version: 'v2', url: 'http://127.0.0.1:9/' });
    assert.deepEqual(await hooks.prepare(), { url: 'ws://127.0.0.1:9/server/events' });
    assert.equal(r.calls.length, 0, 'no ticket in v2');
    hooks.onOpen();
    assert.deepEqual(r.sent, ['{"action":"AUTHENTICATE","data":{"sessionId":"sess"}}']);
    assert.equal(r.ready, 0);
    hooks.onMessage('{"action":"AUTH_SUCCESS","data":{}}');
    hooks.onMessage('{"action":"AUTH_SUCCESS","data":{}}');
    assert.equal(r.ready, 1);
    assert.deepEqual(r.sent.slice(1), ['{"action":"ENABLE_INTENT","data":{"intent":"console.*"}}', '{"action":"ENABLE_INTENT","data":{"intent":"stat.*"}}']);
    hooks.onMessage('{"action":"INTENT_ENABLED","data":{"intent":"console.*"}}');
    assert.deepEqual([r.published, r.drops], [[], []], 'acknowledgements are neither events nor drops');
  });

  test('v2: AUTH_ERROR counts a failure and drops the socket; no AUTH_SUCCESS in time does too', async () => {
    const refused = link({ version: 'v2' });
    refused.hooks.onOpen();
    refused.hooks.onMessage('{"action":"AUTH_ERROR","data":{"message":"session expired"}}');
    assert.deepEqual(refused.r.authFailures, ['session_expired']);
    assert.equal(refused.r.closes.length, 1);
    assert.equal(refused.r.ready, 0);

    const slow = link({ version: 'v2', authTimeoutMs: 5000 });
    slow.hooks.onOpen();
    await slow.clock.advance(4999);
    assert.equal(slow.r.closes.length, 0);
    await slow.clock.advance(1);
    assert.deepEqual(slow.r.authFailures, ['timeout']);
    assert.equal(slow.r.closes.length, 1);
    slow.hooks.onClose({ code: 1000, reason: 'no AUTH_SUCCESS in time' });
    slow.hooks.dispose();
    assert.equal(slow.clock.pending, 0, 'no timer left behind');
  });

  test('packets are published under the server they name; stats carry the last state seen', () => {
    const { hooks, r } = link({});
    hooks.onOpen();
    hooks.onMessage(`{"action":"SERVER_STATE_CHANGE","data":{"id":"${S}","patch":{"onlineStatus":3}}}`);
    hooks.onMessage(`{"action":"STAT_UPDATE","data":{"serverId":"${S}","ramUsage":10,"cpuUsage":1}}`);
    hooks.onMessage('{"action":"META_MESSAGE","data":{"message":"hi"}}');
    assert.deepEqual(r.published.map((p) => [p.type, p.id]), [['server.status', S], ['server.stats', S], ['upstream.message', '_']]);
    assert.deepEqual(r.published[0]!.data, { state: 'stopping', patch: { onlineStatus: 3 } }, 'one event per state change, with its patch');
    assert.equal((r.published[1]!.data as { state: string }).state, 'stopping');
    hooks.onMessage('not json');
    hooks.onMessage(`{"action":"PLAYER_JOIN","data":{"serverId":"${S}","eventData":{"name":"x"},"id":"1"}}`);
    assert.deepEqual(r.drops, ['bad_frame', 'unknown_event']);
  });

  test('once authenticated the link reads GET /server/; a state the socket reported meanwhile is kept', async () => {
    const T = '614635a7e671a3df0a12154b';
    let answer: (r: HttpResult) => void = () => {};
    const { hooks, r } = link({ version: 'v2' }, () => new Promise((resolve) => (answer = resolve)));
    hooks.onOpen();
    hooks.onMessage('{"action":"AUTH_SUCCESS","data":{}}');
    assert.deepEqual(r.calls.at(-1), { method: 'GET', url: 'https://semoxy.example/api/server/', headers: { authorization: 'Bearer sess', accept: 'application/json' } });
    // While the list is on its way, the socket says T is stopping: newer than what the list says.
    hooks.onMessage(`{"action":"SERVER_STATE_CHANGE","data":{"id":"${T}","patch":{"onlineStatus":3}}}`);
    r.published.length = 0;
    answer({ status: 200, headers: {}, json: [{ id: S, name: 'a', onlineStatus: 2 }, { id: T, name: 'b', onlineStatus: 2 }, { id: 'bad' }], text: '' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.published, [{ type: 'server.status', data: { state: 'running' }, id: S }]);
    assert.deepEqual(r.drops, ['bad_frame'], 'a list entry without onlineStatus is counted');
  });

  test('a refused or unreachable server list costs a count; a line from a server of unknown state says running first', async () => {
    const { hooks, r } = link({}, async (call) => (call.url.endsWith('/server/') ? { status: 401, headers: {}, json: { error: 'Not Logged In' }, text: '' } : { status: 200, headers: {}, json: { data: { token: 't' } }, text: '' }));
    await hooks.prepare();
    hooks.onOpen();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(r.authFailures, ['servers_http_401']);
    hooks.onMessage(`{"action":"CONSOLE_LINE","data":{"id":"${S}","message":"hello"}}`);
    hooks.onMessage(`{"action":"CONSOLE_LINE","data":{"id":"${S}","message":"again"}}`);
    assert.deepEqual(r.published.map((p) => [p.type, p.data]), [['server.status', { state: 'running' }], ['server.console', { line: 'hello' }], ['server.console', { line: 'again' }]]);
  });

  test('commands are refused: Semoxy takes them over HTTP', () => {
    const { hooks } = link({});
    const reply = hooks.onCommand({ type: 'server.power', upstream: 'up', resource: 'server', id: S, data: { action: 'start' } });
    assert.deepEqual(reply, { ok: false, code: 'BRIDGE_ERR_UNSUPPORTED_DATA', message: 'the panel takes commands over HTTP, not the event socket' });
  });

  test('closes are never terminal; a refused ticket upgrade is counted', () => {
    const { hooks, r } = link({});
    assert.equal(hooks.onClose({ code: 1006, reason: '' }).terminal, false);
    assert.equal(hooks.onClose({ code: 1006, reason: '', httpStatus: 401 }).terminal, false);
    assert.deepEqual(r.authFailures, ['ticket_refused']);
  });
});

describe('panel config', () => {
  const adapters = ADAPTERS;
  const base = { listeners: [{ dialect: 'panel', upstreams: ['p'] }] };

  test('an upstream without a simulator needs url and session; defaults apply', () => {
    assert.throws(
      () => validateConfig({ ...base, upstreams: [{ name: 'p', protocol: 'panel', servers: [S] }] }, adapters),
      (e: unknown) => e instanceof ConfigError && ['/upstreams/0/url', '/upstreams/0/session'].every((p) => e.issues.some((i) => i.path === p)),
    );
    const ok = validateConfig({ ...base, upstreams: [{ name: 'p', protocol: 'panel', url: 'https://x', session: { env: 'S' }, servers: [S] }] }, adapters, 'c', { env: { S: 'secret' } });
    const up = ok.upstreams[0]!;
    assert.deepEqual([up.version, up.intents, up.session], ['v1', ['console.*', 'stat.*'], 'secret']);
    const l = ok.listeners[0]!;
    assert.deepEqual([l.path, l.version, l.ticketTtlSeconds, l.reusableTickets, l.pingIntervalMs], ['/server/events', 'both', 60, false, 20000]);
  });

  test('unknown keys are errors', () => {
    assert.throws(
      () => validateConfig({ ...base, upstreams: [{ name: 'p', protocol: 'panel', url: 'https://x', session: 's', servers: [S], ticket: 'x' }] }, adapters),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path.startsWith('/upstreams/0')),
    );
  });

  test('the ticket route sits next to the events path unless set', () => {
    const cfg = (o: Partial<PanelListenerConfig>): PanelListenerConfig => ({ name: 'l', path: '/server/events', upstreams: [], version: 'both', ticketTtlSeconds: 60, reusableTickets: false, maxTicketsPerClient: 100, pingIntervalMs: 20000, ...o });
    assert.equal(ticketEndpointOf(cfg({})), '/account/ticket');
    assert.equal(ticketEndpointOf(cfg({ path: '/api/server/events' })), '/api/account/ticket');
    assert.equal(ticketEndpointOf(cfg({ path: '/semoxy/ws' })), '/account/ticket');
    assert.equal(ticketEndpointOf(cfg({ ticketEndpoint: '/t' })), '/t');
    assert.equal(ticketEndpointOf(cfg({ ticketEndpoint: '' })), null);
    assert.equal(ticketEndpointOf(cfg({ version: 'v2' })), null);
  });
});
