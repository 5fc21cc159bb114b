/**
 * Issue 9, defect 1: `GET //` (also `///`, `//[`, `//a:b@`), as plain HTTP or as an upgrade, made
 * `new URL()` throw inside the async request/upgrade handlers; the rejection was unhandled and the
 * process exited. Now a target the relay cannot serve gets 400 BRIDGE_ERR_BAD_REQUEST, and any
 * error that escapes a request, upgrade, frame or timer handler is logged, counted in
 * `bridge_handler_errors_total{where}`, answered or closed for that one connection, and the relay
 * goes on.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { startHarness, type Harness } from '../helpers/wings-harness.ts';
import { rawRequest, upgradeHeaders } from '../helpers/raw-http.ts';
import { WebHost } from '../../src/downstream/web-host.ts';
import { guardedSystemClock } from '../../src/clock.ts';
import { errorReporter, installProcessGuards } from '../../src/contain.ts';
import { createLog } from '../../src/log.ts';
import { Metrics } from '../../src/metrics.ts';
import { settle } from '../../src/clock.ts';

const TARGETS = ['//', '///', '//[', '//a:b@'];

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function handlerErrors(harness: Harness): Promise<number> {
  const m = await harness.relay.metrics.handlerErrors.get();
  return m.values.reduce((n, v) => n + v.value, 0);
}

describe('bad request targets on the relay port', () => {
  for (const target of TARGETS) {
    test(`GET ${target} as plain HTTP gets 400 and the next request is answered`, async () => {
      h = await startHarness();
      const res = await rawRequest(h.relay.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close`);
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), { error: 'bad request', code: 'BRIDGE_ERR_BAD_REQUEST' });
      const after = await rawRequest(h.relay.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close');
      assert.equal(after.status, 200);
      assert.equal(await handlerErrors(h), 0, 'a bad target is an answer, not a contained error');
    });

    test(`GET ${target} as an upgrade gets 400 and the next request is answered`, async () => {
      h = await startHarness();
      const res = await rawRequest(h.relay.port, `GET ${target} HTTP/1.1\r\n${upgradeHeaders()}`);
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), { error: 'bad request', code: 'BRIDGE_ERR_BAD_REQUEST' });
      const after = await rawRequest(h.relay.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close');
      assert.equal(after.status, 200);
    });
  }

  test('an absolute-form target and an odd query are still served; `*` gets 400', async () => {
    h = await startHarness();
    assert.equal((await rawRequest(h.relay.port, 'GET http://relay.example/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close')).status, 200);
    assert.equal((await rawRequest(h.relay.port, 'GET /healthz?x=%zz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close')).status, 200);
    assert.equal((await rawRequest(h.relay.port, 'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close')).status, 400);
  });
});

describe('errors escaping a handler are contained', () => {
  const boom = () => {
    throw new Error('handler bug');
  };

  async function host(): Promise<{ web: WebHost; port: number; errors: string[] }> {
    const errors: string[] = [];
    const web = new WebHost({ maxPayloadBytes: 1024, onHandlerError: (where) => errors.push(where) });
    web.route({ method: 'GET', path: '/throws', handle: boom });
    web.route({ method: 'GET', path: '/rejects', handle: async () => boom() });
    web.route({ method: 'GET', path: '/ok', handle: () => ({ status: 200, json: { ok: true } }) });
    web.endpoint({ path: '/authorize-throws', authorize: boom, open: () => ({ onMessage() {}, onClose() {} }) });
    web.endpoint({ path: '/open-throws', authorize: () => ({ accept: true }), open: boom });
    web.endpoint({ path: '/frame-throws', authorize: () => ({ accept: true }), open: () => ({ onMessage: boom, onClose() {} }) });
    const { port } = await web.listen('127.0.0.1', 0);
    return { web, port, errors };
  }

  test('a route that throws or rejects gets 500, counted as `request`', async () => {
    const { web, port, errors } = await host();
    try {
      for (const path of ['/throws', '/rejects']) {
        const res = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close`);
        assert.equal(res.status, 500);
        assert.deepEqual(JSON.parse(res.body), { error: 'internal error', code: 'BRIDGE_ERR_INTERNAL' });
        assert.ok(!res.body.includes('handler bug'), 'the error text stays out of the body');
      }
      assert.deepEqual(errors, ['request', 'request']);
      assert.equal((await rawRequest(port, 'GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close')).status, 200);
    } finally {
      await web.close();
    }
  });

  test('an authorize that throws gets 500; an open or a frame hook that throws closes that socket with 1011', async () => {
    const { web, port, errors } = await host();
    try {
      const refused = await rawRequest(port, `GET /authorize-throws HTTP/1.1\r\n${upgradeHeaders()}`);
      assert.equal(refused.status, 500);
      for (const path of ['/open-throws', '/frame-throws']) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
        const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
        ws.on('open', () => ws.send('hello'));
        ws.on('error', () => {});
        assert.deepEqual(await closed, { code: 1011, reason: 'internal error' });
      }
      assert.deepEqual(errors, ['upgrade', 'upgrade', 'frame']);
      assert.equal((await rawRequest(port, 'GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close')).status, 200);
    } finally {
      await web.close();
    }
  });

  test('a system-clock timer that throws is reported, not thrown into the event loop', async () => {
    const reported: unknown[] = [];
    const clock = guardedSystemClock((err) => reported.push(err));
    clock.setTimeout(boom, 1);
    const t = clock.setInterval(boom, 1);
    await new Promise((r) => setTimeout(r, 30));
    t.cancel();
    await settle();
    assert.ok(reported.length >= 2, 'both timers reported');
  });

  test('process guards log and count an unhandled rejection and an uncaught exception', () => {
    const proc = new EventEmitter();
    const seen: string[] = [];
    installProcessGuards(proc, (where) => seen.push(where));
    proc.emit('unhandledRejection', new Error('late rejection'), Promise.resolve());
    proc.emit('uncaughtException', new Error('stray throw'));
    assert.deepEqual(seen, ['process', 'process']);
  });

  test('the log line of a contained error names it without the credential its message quoted', async () => {
    const lines: string[] = [];
    const metrics = new Metrics({ defaultMetrics: false });
    const report = errorReporter(createLog('debug', {}, (l) => lines.push(l)), metrics);
    const jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzZXJ2ZXJfdXVpZCI6IngiLCJleHAiOjF9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1oZXJl';
    report('frame', Object.assign(new Error(`bad token ${jwt} for ptlc_abcdefghijklmnopqrstuvwxyz in /etc/bridge/config.json`), { code: 'E_TEST' }));
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!);
    assert.equal(line.where, 'frame');
    assert.equal(line.error.code, 'E_TEST');
    for (const part of jwt.split('.')) assert.ok(!lines[0]!.includes(part), 'no part of the JWT');
    assert.ok(!lines[0]!.includes('ptlc_abcdefghijklmnopqrstuvwxyz'), 'no API key');
    assert.match(line.error.message, /\/etc\/bridge\/config\.json/, 'a path stays readable');
    assert.match(await metrics.registry.metrics(), /bridge_handler_errors_total\{where="frame"\} 1/);
  });

  test('on the relay, a contained error is counted in bridge_handler_errors_total', async () => {
    h = await startHarness();
    h.relay.server.host.route({ method: 'GET', path: '/test-throws', handle: boom });
    assert.equal((await rawRequest(h.relay.port, 'GET /test-throws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close')).status, 500);
    const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_handler_errors_total\{where="request"\} 1/);
  });
});
