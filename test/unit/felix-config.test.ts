/**
 * Felix config through the real loader: `check()` requires url and token unless a simulator is
 * named, defaults land, the token is a secret (env/file), and typos are errors with their path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';

const adapters = ADAPTERS;

function load(upstream: Record<string, unknown>, extra: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  return validateConfig({ upstreams: [{ name: 'bot', protocol: 'felix', ...upstream }], ...extra }, adapters, 'felix config test', { env });
}

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('the config was accepted');
}

test('without a simulator, url and token are required', () => {
  const found = issues(() => load({}));
  assert.ok(found.some((i) => i.startsWith('/upstreams/0/url: required')), found.join('\n'));
  assert.ok(found.some((i) => i.startsWith('/upstreams/0/token: required')), found.join('\n'));
});

test('with url and an env token, defaults are applied and the secret resolved', () => {
  const config = load({ url: 'ws://felix.example:8090', token: { env: 'FELIX_TOKEN' } }, {}, { FELIX_TOKEN: 'P154008U84j3qK' });
  const up = config.upstreams[0]!;
  assert.equal(up.token, 'P154008U84j3qK');
  assert.deepEqual([up.users, up.guilds, up.heartbeatIntervalMs, up.ackTimeoutMs, up.userAgent], [[], [], 1000, 30000, 'protocol-bridge']);
});

test('a simulator fills url and token; listener and simulator defaults', () => {
  const config = load(
    { simulator: 'sim' },
    { simulators: [{ name: 'sim', protocol: 'felix' }], listeners: [{ dialect: 'felix', upstreams: ['bot'] }] },
  );
  const listener = config.listeners[0]!;
  assert.deepEqual([listener.path, listener.pingIntervalMs, listener.maxIds], ['/felix', 30000, 1000]);
  const sim = config.simulators[0]!;
  assert.deepEqual([sim.tokens, sim.updateIntervalMs, sim.pingIntervalMs], [['felix_simulator_demo_token'], 3000, 30000]);
});

test('unknown keys and bad values are errors with their JSON path', () => {
  const found = issues(() => load({ url: 'ftp://x', token: 't', heartbeatIntervalMs: 5, guild: ['g1'] }));
  for (const path of ['/upstreams/0/url', '/upstreams/0/heartbeatIntervalMs', '/upstreams/0/guild']) {
    assert.ok(found.some((i) => i.startsWith(`${path}:`)), `${path} in\n${found.join('\n')}`);
  }
});
