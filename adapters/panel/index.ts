/**
 * The panel adapter: Semoxy's panel event socket (`{action, data}`), both roles.
 * One upstream link carries every server of a panel; one listener path serves the ticket-era (v1)
 * and the AUTHENTICATE-era (v2) handshakes, so either kind of dashboard works in front of either
 * kind of panel, and in front of Wings servers (DESIGN §7). Config specs are declared here; the
 * config loader merges them with the shared keys.
 * The simulator lives in simulator.ts; src/registry.ts joins it to these roles.
 */
import { SecretSchema, Type, upstreamRequires, type ProtocolRoles } from '../../src/adapter-kit.ts';
import { encode } from './codec.ts';
import { createPanelListener } from './downstream.ts';
import { ticketEndpointOf, type PanelListenerConfig } from './ticket-endpoint.ts';
import { createPanelUpstream } from './upstream.ts';
import { DEFAULT_INTENTS, PATHS, PROTOCOL, PROTOCOL_PING_MS } from './vocabulary.ts';

export const PanelUpstreamOptions = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^https?://', description: 'Base URL of the Semoxy API (…/account/ticket, …/server/events); required unless `simulator`.' })),
    session: Type.Optional(Type.Union(SecretSchema.anyOf, { description: 'A Semoxy session id (a secret: string, {"env"} or {"file"}); sent as `Authorization: Bearer` (v1) or in AUTHENTICATE (v2). Required unless `simulator`.' })),
    version: Type.Union([Type.Literal('v1'), Type.Literal('v2')], { default: 'v1', description: 'Handshake: v1 fetches a ticket with the session, v2 sends AUTHENTICATE.' }),
    servers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Server ids (24-hex ObjectIds) exposed to listeners; all arrive on the one socket.' }),
    intents: Type.Array(Type.String({ minLength: 1 }), { default: [...DEFAULT_INTENTS], description: 'v2: intents enabled after AUTH_SUCCESS (console.<id>, console.*, stat.<id>, stat.*).' }),
    authTimeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'v2: how long to wait for AUTH_SUCCESS before reconnecting.' }),
  },
  { additionalProperties: false },
);

export const PanelListenerOptions = Type.Object(
  {
    version: Type.Union([Type.Literal('both'), Type.Literal('v1'), Type.Literal('v2')], { default: 'both', description: 'Handshakes served on the path: both (a `ticket` query selects v1), v1 only, or v2 only.' }),
    ticketEndpoint: Type.Optional(Type.String({ pattern: '^(/.*)?$', description: 'Path of the ticket route (default: `path` with /server/events replaced by /account/ticket; "" disables it).' })),
    ticketTtlSeconds: Type.Integer({ minimum: 1, default: 60, description: 'Lifetime of a ticket (Semoxy: 7200).' }),
    reusableTickets: Type.Boolean({ default: false, description: 'Let a ticket open several sockets until it expires (Semoxy\'s behaviour); default single-use.' }),
    maxTicketsPerClient: Type.Integer({ minimum: 1, default: 100, description: 'Tickets one API client holds at once; past it that client\'s oldest ticket is dropped (never another client\'s).' }),
    pingIntervalMs: Type.Integer({ minimum: 100, default: PROTOCOL_PING_MS, description: 'WebSocket ping period; a ping unanswered at the next one drops the connection.' }),
  },
  { additionalProperties: false },
);

export const panelAdapter: ProtocolRoles<typeof PanelUpstreamOptions, typeof PanelListenerOptions> = {
  protocol: PROTOCOL,
  upstreamOptions: PanelUpstreamOptions,
  listenerOptions: PanelListenerOptions,
  defaultPath: PATHS.events,
  listenerRoutes(config) {
    const path = ticketEndpointOf(config as unknown as PanelListenerConfig);
    // Without `ticketEndpoint` the route's path is derived from `path`, so that is the option to change.
    return path === null ? [] : [{ path, option: config.ticketEndpoint === undefined ? '/path' : '/ticketEndpoint' }];
  },
  check: upstreamRequires('url', 'session'),
  encode,
  createUpstream: (ctx) => createPanelUpstream(ctx),
  createListener: (ctx) => createPanelListener(ctx),
};
