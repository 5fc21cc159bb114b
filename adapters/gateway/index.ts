/**
 * The room gateway adapter: anonroom's `/gateway` (`{e, d}` packets), both roles, in the seed
 * numbering of the document and the `anonroom-latest` one. Config specs are
 * declared here; the config loader merges them with the shared keys.
 * The simulator lives in simulator.ts; src/registry.ts joins it to these roles.
 */
import { SecretSchema, Type, type ProtocolRoles } from '../../src/adapter-kit.ts';
import { encode } from './codec.ts';
import { createGatewayListener } from './downstream.ts';
import { createGatewayUpstream } from './upstream.ts';
import { DEFAULT_HEARTBEAT_MS, GATEWAY_PATH, PROFILES } from './vocabulary.ts';

const Profile = (what: string) =>
  Type.Union(PROFILES.map((p) => Type.Literal(p)), {
    default: 'seed',
    description: `${what}: \`seed\` (the document's numbering, 7 = room_close) or \`anonroom-latest\` (7 = participant_join, 8 = room_close, kicks as participant_update, double-wrapped hello).`,
  });

export const GatewayUpstreamOptions = Type.Object(
  {
    url: Type.Optional(Type.String({ pattern: '^(wss?|https?)://', description: 'Gateway WebSocket URL, e.g. wss://site/gateway (required unless `simulator`).' })),
    rooms: Type.Array(
      Type.Object(
        {
          roomId: Type.String({ minLength: 1, description: 'The room to bridge (one link per room).' }),
          participantId: Type.String({ minLength: 1, description: 'The participant the relay connects as.' }),
          secret: Type.Optional(SecretSchema),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, description: 'Rooms to bridge; `secret` is the participant cookie of the anonroom-latest profile.' },
    ),
    profile: Profile('Numbering and auth of the upstream'),
    helloTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'How long to wait for `hello` before reconnecting.' }),
  },
  { additionalProperties: false },
);

export const GatewayListenerOptions = Type.Object(
  {
    heartbeatIntervalMs: Type.Integer({ minimum: 1, default: DEFAULT_HEARTBEAT_MS, description: '`heartbeatInterval` sent in hello; server heartbeat period; a client silent for a whole period is closed 4001.' }),
    profile: Profile('Numbering and hello shape served to dashboards'),
  },
  { additionalProperties: false },
);

export const gatewayAdapter: ProtocolRoles<typeof GatewayUpstreamOptions, typeof GatewayListenerOptions> = {
  protocol: 'gateway',
  upstreamOptions: GatewayUpstreamOptions,
  listenerOptions: GatewayListenerOptions,
  defaultPath: GATEWAY_PATH,
  check(kind, config) {
    if (kind !== 'upstream') return [];
    const issues: [string, string][] = [];
    const rooms = Array.isArray(config.rooms) ? (config.rooms as { roomId?: unknown; secret?: unknown }[]) : [];
    const seen = new Set<unknown>();
    rooms.forEach((room, i) => {
      // One link per room: a second entry for the same room would be a second socket for nothing.
      if (seen.has(room.roomId)) issues.push([`/rooms/${i}/roomId`, `duplicate roomId ${JSON.stringify(room.roomId)}`]);
      seen.add(room.roomId);
    });
    if (config.simulator !== undefined) return issues;
    if (config.url === undefined) issues.push(['/url', 'required unless `simulator` is set']);
    if (config.profile === 'anonroom-latest') {
      rooms.forEach((room, i) => {
        if (room.secret === undefined) issues.push([`/rooms/${i}/secret`, 'required by the anonroom-latest profile (cookie auth) unless `simulator` is set']);
      });
    }
    return issues;
  },
  encode,
  createUpstream: (ctx) => createGatewayUpstream(ctx),
  createListener: (ctx) => createGatewayListener(ctx),
};
