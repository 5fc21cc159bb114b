/**
 * Issue 10 item 8: two Wings listeners sharing one token endpoint path passed `bridge check`, and
 * the first silently won. Every collision on the one port (WebSocket paths, token and ticket
 * endpoints, the relay's own routes) is refused, naming the JSON paths of both.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';

const base = () => ({
  simulators: [{ name: 'wsim', protocol: 'wings' }, { name: 'psim', protocol: 'panel' }],
  upstreams: [
    { name: 'w', protocol: 'wings', simulator: 'wsim', servers: ['s1'] },
    { name: 'p', protocol: 'panel', simulator: 'psim', servers: ['607c71907be61b381db28144'] },
  ],
  listeners: [] as Record<string, unknown>[],
});

function issues(raw: ReturnType<typeof base>): { path: string; message: string }[] {
  try {
    validateConfig(raw, ADAPTERS, 'test');
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return [...err.issues];
  }
}

describe('regression: bridge check refuses routes that collide', () => {
  test('two Wings listeners on one token endpoint (the default) name both JSON paths', () => {
    const raw = base();
    raw.listeners.push({ dialect: 'wings', upstreams: ['w'], jwtSecret: 'a' });
    raw.listeners.push({ dialect: 'wings', path: '/b/:server/ws', upstreams: ['w'], jwtSecret: 'b' });
    const found = issues(raw);
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.path, '/listeners/1/tokenEndpoint');
    assert.match(found[0]!.message, /\/listeners\/0\/tokenEndpoint/);
  });

  test('paths that differ only in parameter names or a trailing slash collide', () => {
    const raw = base();
    raw.listeners.push({ dialect: 'wings', upstreams: ['w'], jwtSecret: 'a', tokenEndpoint: '' });
    raw.listeners.push({ dialect: 'wings', path: '/api/servers/:id/ws/', upstreams: ['w'], jwtSecret: 'b', tokenEndpoint: '' });
    assert.deepEqual(issues(raw).map((i) => i.path), ['/listeners/1/path']);
  });

  test('a ticket endpoint, a WebSocket path or a relay route on one path collide', () => {
    const raw = base();
    raw.listeners.push({ dialect: 'panel', upstreams: ['p'] });
    raw.listeners.push({ dialect: 'wings', path: '/account/ticket', upstreams: ['w'], jwtSecret: 'a', tokenEndpoint: '/metrics' });
    const found = issues(raw);
    assert.deepEqual(found.map((i) => i.path).sort(), ['/listeners/1/path', '/listeners/1/tokenEndpoint']);
    assert.match(found.find((i) => i.path === '/listeners/1/path')!.message, /\/listeners\/0\/path/, 'the ticket route is derived from the panel listener\'s path');
    assert.match(found.find((i) => i.path === '/listeners/1/tokenEndpoint')!.message, /the relay's \/metrics/);
  });

  test('distinct paths pass, and a disabled endpoint claims nothing', () => {
    const raw = base();
    raw.listeners.push({ dialect: 'wings', upstreams: ['w'], jwtSecret: 'a' });
    raw.listeners.push({ dialect: 'wings', path: '/b/:server/ws', upstreams: ['w'], jwtSecret: 'b', tokenEndpoint: '' });
    raw.listeners.push({ dialect: 'panel', upstreams: ['p'] });
    raw.listeners.push({ dialect: 'panel', path: '/v2/server/events', upstreams: ['p'], version: 'v2' });
    assert.deepEqual(issues(raw), []);
  });
});
