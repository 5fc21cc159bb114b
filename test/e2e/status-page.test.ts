/**
 * The status page's routes on a real relay: the page and its assets (same-origin CSP, no build
 * step), /status.json's shape, that it shows nothing /readyz and /metrics keep to themselves
 * (client names, keys, grants, a listener's jwtSecret), the Host check, and that `bridge check`
 * keeps listeners off the page's paths.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { STATUS_ROUTES } from '../../src/status/routes.ts';
import type { StatusBody } from '../../src/status/snapshot.ts';
import { startRelay, type RelayHandle } from '../helpers/cloudevents-harness.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { eventually } from '../helpers/wings-client.ts';

const S1 = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const CLIENT_NAME = 'status-test-client-name';
const CLIENT_KEY = 'status_test_client_key_1234';
const JWT_SECRET = 'status-test-jwt-secret';

let h: RelayHandle;
let base: string;

before(async () => {
  h = await startRelay(
    {
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000, allowedHosts: ['127.0.0.1', 'localhost'] },
      clients: [{ name: CLIENT_NAME, key: CLIENT_KEY, grants: [{ upstream: 'up', resources: [S1], permissions: ['control.console'] }] }],
      simulators: [{ name: 'sim', protocol: 'wings', consoleIntervalMs: 0, statsIntervalMs: 0, servers: [{ uuid: S1, state: 'running' }] }],
      upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1] }],
      listeners: [
        { name: 'w', dialect: 'wings', path: '/api/servers/:server/ws', upstreams: ['up'], jwtSecret: JWT_SECRET },
        { name: 'ce', dialect: 'cloudevents', path: '/events', upstreams: ['up'] },
      ],
    },
    { bus: 'memory', node: 'status-node' },
  );
  base = h.relay.url;
  await eventually(() => h.relay.supervisor.link('up', 'server', S1)?.state === 'ready', 5000, 'link ready');
});

after(() => h.stop());

describe('status page routes', () => {
  test('GET / and GET /status serve the page with a same-origin CSP; its script and style are served too', async () => {
    for (const path of ['/', '/status']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /connect-src 'self'/);
      const html = await res.text();
      assert.match(html, /<script src="\/status\/page\.js" defer><\/script>/);
      assert.doesNotMatch(html, /https?:\/\//, 'nothing is fetched from another origin');
    }
    const js = await fetch(`${base}/status/page.js`);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(await js.text(), /\/status\.json/);
    const css = await fetch(`${base}/status/page.css`);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  });

  test('/status.json: node, version, bus, links, listeners, counters and the tail listener', async () => {
    const res = await fetch(`${base}/status.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const s = (await res.json()) as StatusBody;
    assert.equal(s.node, 'status-node');
    assert.match(s.version, /^\d+\.\d+\.\d+/);
    assert.equal(s.ready, true);
    assert.deepEqual(s.bus, { kind: 'memory', state: 'connected' });
    // A relay on the memory bus is a cluster of one: it owns every link, since it started.
    const since = s.links[0]?.since;
    assert.equal(typeof since, 'number');
    assert.deepEqual(s.links, [{ upstream: 'up', protocol: 'wings', resource: 'server', id: S1, state: 'ready', reason: 'authenticated', ownership: 'owned', owner: 'status-node', since }]);
    assert.deepEqual(s.listeners, [
      { name: 'w', dialect: 'wings', path: '/api/servers/:server/ws', upstreams: ['up'] },
      { name: 'ce', dialect: 'cloudevents', path: '/events', upstreams: ['up'] },
    ]);
    assert.deepEqual(s.tail, { path: '/events', upstreams: ['up'] });
    assert.equal(typeof s.events.in.total, 'number');
    assert.ok(Array.isArray(s.drops) && Array.isArray(s.authFailures) && Array.isArray(s.limitHits) && Array.isArray(s.refused));
  });

  test('/status.json never shows a client name, key or grant, nor a listener secret, even after a refused key', async () => {
    // A refused upgrade shows up as an auth failure: by reason, never by what was sent.
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(h.ws('/events'), { headers: { authorization: `Bearer ${CLIENT_KEY}x` } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('a wrong key was accepted')));
      ws.on('error', () => {});
    });
    assert.equal(refused, 401);
    const text = await (await fetch(`${base}/status.json`)).text();
    for (const secret of [CLIENT_NAME, CLIENT_KEY, JWT_SECRET, 'control.console', 'grants', 'jwtSecret']) {
      assert.ok(!text.includes(secret), `status.json contains ${secret}`);
    }
    const s = JSON.parse(text) as StatusBody;
    assert.deepEqual(s.authFailures, [{ labels: { dialect: 'cloudevents', direction: 'downstream', reason: 'auth' }, count: 1 }]);
  });

  test('the page answers only the allowed Hosts (it is for browsers, unlike the probes)', async () => {
    const { request } = await import('node:http');
    const status = (path: string, host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${base}${path}`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status('/status.json', 'evil.example'), 421);
    assert.equal(await status('/', 'evil.example'), 421);
    assert.equal(await status('/readyz', 'evil.example'), 200);
  });
});

describe('bridge check keeps listeners off the status page', () => {
  for (const path of STATUS_ROUTES) {
    test(`a listener on ${path} is refused`, () => {
      const raw = {
        upstreams: [{ name: 'up', protocol: 'wings', url: 'https://panel.example', key: 'k', servers: [S1] }],
        listeners: [{ dialect: 'cloudevents', path, upstreams: ['up'] }],
      };
      assert.throws(
        () => validateConfig(raw, ADAPTERS, 'test'),
        (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.path === '/listeners/0/path' && i.message.includes(`the relay's ${path}`)),
      );
    });
  }
});
