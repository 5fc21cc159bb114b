/**
 * Room gateway (anonroom) vocabulary: the `e` ids of `{e, d}` packets in both numberings, the
 * close codes, and the field names that differ between the document and the real server.
 *
 * Two profiles exist (REAL-BEHAVIOUR.md, "anonroom"):
 * - `seed`: the numbering of room-gateway.md (7 = room_close, a kick is its own event 5);
 * - `anonroom-latest`: 7 = participant_join, 8 = room_close, a kick is a participant_update
 *   `{id, online:false, kicked:true}`, the hello is double-wrapped, auth adds a cookie.
 * Ids 0–4 and 6 mean the same in both.
 */
import { EVENT_TYPES } from '../../src/adapter-kit.ts';

/** Config value of an upstream's / listener's / simulator's `profile`. */
export const PROFILES = ['seed', 'anonroom-latest'] as const;
export type Profile = (typeof PROFILES)[number];

/** The encoding variant of a dashboard session, one per profile (the hub encodes once per variant). */
export const VARIANTS = { seed: 'seed', latest: 'latest' } as const;
export type Variant = (typeof VARIANTS)[keyof typeof VARIANTS];

/** Event ids shared by both numberings. */
const COMMON = {
  hello: 0,
  heartbeat: 1,
  heartbeatAck: 2,
  messageCreate: 3,
  roomUpdate: 4,
  participantUpdate: 6,
} as const;

/** The document's numbering. */
export const SEED_EVENTS = {
  ...COMMON,
  participantKick: 5,
  roomClose: 7,
} as const;

/** The later server's numbering: 5 is gone (a kick is a participant_update), join took 7, close moved to 8. */
export const LATEST_EVENTS = {
  ...COMMON,
  participantJoin: 7,
  roomClose: 8,
} as const;

export type SeedEventId = (typeof SEED_EVENTS)[keyof typeof SEED_EVENTS];
export type LatestEventId = (typeof LATEST_EVENTS)[keyof typeof LATEST_EVENTS];

/** The ids a client may send: heartbeat (the only one the server acts on) and heartbeat_ack. */
export const CLIENT_EVENTS = { heartbeat: 1, heartbeatAck: 2 } as const;

/**
 * The `room_update` field carrying the Discord webhook: the document says `discordWebhookLink`,
 * later servers send `discordWebhook`. Inbound both are read; outbound each profile writes its own.
 */
export const WEBHOOK_FIELDS = { seed: 'discordWebhookLink', latest: 'discordWebhook' } as const;

/** Close codes of the real server: unknown room/participant (after accepting the upgrade), and a missed heartbeat. */
export const CLOSE_CODES = { unknownRoom: 1014, heartbeatTimeout: 4001 } as const;

/** The server's default heartbeat interval (ms) when it has not been configured. */
export const DEFAULT_HEARTBEAT_MS = 60_000;

/** The gateway's path on the real site. */
export const GATEWAY_PATH = '/gateway';

/** The link resource family of a room (the subject's resource token). */
export const ROOM_RESOURCE = 'room';

/** Canonical event types of the room family (DESIGN §3). */
export const ROOM_TYPES = {
  message: EVENT_TYPES.roomMessage,
  updated: EVENT_TYPES.roomUpdated,
  joined: EVENT_TYPES.roomParticipantJoined,
  kicked: EVENT_TYPES.roomParticipantKicked,
  participantUpdated: EVENT_TYPES.roomParticipantUpdated,
  closed: EVENT_TYPES.roomClosed,
} as const;

/** Every id a server sends in each numbering (to tell an unknown id from a bad payload). */
export const SERVER_EVENT_IDS: Readonly<Record<Variant, ReadonlySet<number>>> = {
  seed: new Set(Object.values(SEED_EVENTS)),
  latest: new Set(Object.values(LATEST_EVENTS)),
};

/**
 * The key under which a simulator publishes a participant's secret in its endpoint credentials,
 * so an upstream configured with `simulator` finds the cookie value without repeating it.
 */
export function participantCredential(roomId: string, participantId: string): string {
  return `${roomId}/${participantId}`;
}
