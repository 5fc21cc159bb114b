/**
 * The Felix adapter: FelixBot's websocket (`{code, data}` frames), both roles.
 * Config specs are declared here; the config loader merges them with the shared keys.
 * The simulator lives in simulator.ts; src/registry.ts joins it to these roles.
 */
import { SecretSchema, Type, upstreamRequires, type ProtocolRoles } from '../../src/adapter-kit.ts';
import { encode } from './codec.ts';
import { createFelixListener } from './downstream.ts';
import { createFelixUpstream } from './upstream.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_PING_INTERVAL_MS, PROTOCOL } from './vocabulary.ts';

const Ids = (what: string) => Type.Array(Type.String({ minLength: 1 }), { default: [], description: `${what} ids always listened to, besides those dashboards ask for.` });

export const FelixUpstreamOptions = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^(wss?|https?)://', description: 'Felix websocket URL (required unless `simulator`).' })),
    token: Type.Optional(SecretSchema),
    users: Ids('User'),
    guilds: Ids('Guild'),
    heartbeatIntervalMs: Type.Integer({ minimum: 100, default: DEFAULT_HEARTBEAT_INTERVAL_MS, description: 'Period of the `20001` heartbeat.' }),
    ackTimeoutMs: Type.Integer({
      minimum: 0,
      default: 30_000,
      description: 'Reconnect when Felix sent nothing (it answers every heartbeat) for this long; 0 disables the check.',
    }),
    userAgent: Type.String({ default: 'protocol-bridge', description: 'User-Agent header, so Felix can tell the connection apart.' }),
  },
  { additionalProperties: false },
);

export const FelixListenerOptions = Type.Object(
  {
    pingIntervalMs: Type.Integer({
      minimum: 1,
      default: DEFAULT_PING_INTERVAL_MS,
      description: 'WebSocket ping period; a dashboard that did not pong since the previous ping is terminated.',
    }),
    maxIds: Type.Integer({ minimum: 1, default: 1000, description: 'Most users + guilds one `20002` may list; a longer one is ignored and counted.' }),
  },
  { additionalProperties: false },
);

export const felixAdapter: ProtocolRoles<typeof FelixUpstreamOptions, typeof FelixListenerOptions> = {
  protocol: PROTOCOL,
  upstreamOptions: FelixUpstreamOptions,
  listenerOptions: FelixListenerOptions,
  defaultPath: '/felix',
  check: upstreamRequires('url', 'token'),
  encode,
  createUpstream: (ctx) => createFelixUpstream(ctx),
  createListener: (ctx) => createFelixListener(ctx),
};
