/**
 * The adapters' config types are derived from the schemas they register (issue 13), so the loader's
 * output is what the type says: secrets resolved to strings, defaults present. The type-level lines
 * fail `npm run typecheck` if a config type decays to `any` or stops tracking its schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import type { WingsUpstreamConfig } from '../../adapters/wings/upstream.ts';
import type { GatewayUpstreamConfig } from '../../adapters/gateway/upstream.ts';
import type { WingsListenerConfig } from '../../adapters/wings/servers.ts';

test('a loaded wings upstream and listener have the shape of their derived types', () => {
  const config = validateConfig(
    {
      upstreams: [{ name: 'w', protocol: 'wings', panelUrl: 'https://panel.example', apiKey: { env: 'WINGS_KEY' }, servers: ['8d3c1f2e-0000-4000-8000-000000000001'] }],
      listeners: [{ name: 'l', dialect: 'wings', upstreams: ['w'], jwtSecret: { env: 'JWT_SECRET' } }],
    },
    ADAPTERS,
    'adapter configs test',
    { env: { WINGS_KEY: 'ptla_key_value', JWT_SECRET: 'a-jwt-secret-of-some-length' } },
  );
  const up = config.upstreams[0] as unknown as WingsUpstreamConfig;
  const apiKey: string | undefined = up.apiKey;
  assert.equal(typeof apiKey, 'string');
  assert.equal(up.authTimeoutMs, 30000);
  const listener = config.listeners[0] as unknown as WingsListenerConfig;
  const jwtSecret: string = listener.jwtSecret;
  assert.equal(typeof jwtSecret, 'string');
  assert.equal(listener.profile, '1.11');
  assert.deepEqual(listener.allowedOrigins, ['*']);
});

test('secret references and mistyped options are not the derived config types', () => {
  // @ts-expect-error a secret reference is resolved before an adapter sees the config
  const ref: WingsUpstreamConfig['apiKey'] = { env: 'WINGS_KEY' };
  // @ts-expect-error the schema says an integer
  const timeout: WingsUpstreamConfig['authTimeoutMs'] = '30000';
  // @ts-expect-error nested secrets are resolved too (a room's participant cookie)
  const room: GatewayUpstreamConfig['rooms'][number] = { roomId: 'r', participantId: 'p', secret: { file: '/run/cookie' } };
  // @ts-expect-error the profile is one of the schema's literals
  const profile: WingsListenerConfig['profile'] = '1.13';
  assert.deepEqual([ref, timeout, room.roomId, profile], [{ env: 'WINGS_KEY' }, '30000', 'r', '1.13']);
});
