/**
 * The Wings adapter: Pterodactyl's server websocket (`{event, args}`), both roles. Config
 * specs are declared here; the config loader merges them with the shared keys.
 * The simulator lives in simulator.ts; src/registry.ts joins it to these roles.
 */
import { SecretSchema, Type, upstreamRequires, type ProtocolRoles } from '../../src/adapter-kit.ts';
import { encode } from './codec.ts';
import { createWingsListener } from './downstream.ts';
import { createWingsUpstream } from './upstream.ts';

export const WingsUpstreamOptions = Type.Object(
  {
    panelUrl: Type.Optional(Type.String({ pattern: '^https?://', description: 'Panel base URL; token endpoint and Origin (required unless `simulator`).' })),
    apiKey: Type.Optional(SecretSchema),
    servers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Server identifiers (use the full UUID: dashboards connect with it).' }),
    origin: Type.Optional(Type.String({ description: 'Origin header sent to Wings (default: panelUrl).' })),
    authTimeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'How long to wait for `auth success` before reconnecting.' }),
  },
  { additionalProperties: false },
);

export const WingsListenerOptions = Type.Object(
  {
    jwtSecret: SecretSchema,
    allowedOrigins: Type.Array(Type.String(), { default: ['*'], description: 'Exact Origin values allowed; "*" allows any, and a missing Origin.' }),
    tokenEndpoint: Type.String({ default: '/api/client/servers/:server/websocket', description: 'Path of the panel-compatible token endpoint ("" disables it).' }),
    tokenTtlSeconds: Type.Integer({ minimum: 1, default: 600, description: 'Lifetime of tokens the relay signs.' }),
    tokenCheckIntervalMs: Type.Integer({ minimum: 1, default: 30000, description: 'How often each session\'s token is checked (token expiring / token expired).' }),
    expiringWindowSeconds: Type.Integer({ minimum: 1, default: 60, description: '`token expiring` is sent when this little time is left.' }),
    consoleLines: Type.Integer({ minimum: 1, maximum: 10000, default: 150, description: 'Lines `send logs` returns.' }),
    profile: Type.Union([Type.Literal('1.11'), Type.Literal('1.12')], { default: '1.11', description: 'Wings version the listener behaves as: 1.12 adds the scope check, 30 sockets per server, 32 KiB frames and Wings\' per-event rate limits with `throttled`.' }),
    authDeadlineMs: Type.Integer({ minimum: 1, default: 30000, description: 'A socket not authenticated within this time is closed (4103), in both profiles (Wings 1.12 allows 30 s).' }),
  },
  { additionalProperties: false },
);

export const wingsAdapter: ProtocolRoles<typeof WingsUpstreamOptions, typeof WingsListenerOptions> = {
  protocol: 'wings',
  upstreamOptions: WingsUpstreamOptions,
  listenerOptions: WingsListenerOptions,
  defaultPath: '/api/servers/:server/ws',
  listenerRoutes: (config) => (typeof config.tokenEndpoint === 'string' && config.tokenEndpoint !== '' ? [{ path: config.tokenEndpoint, option: '/tokenEndpoint' }] : []),
  check: upstreamRequires('panelUrl', 'apiKey'),
  encode,
  createUpstream: (ctx) => createWingsUpstream(ctx),
  createListener: (ctx) => createWingsListener(ctx),
};
