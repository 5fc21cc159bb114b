/**
 * The canonical event vocabulary (DESIGN §3), in one place: every event type the relay puts on
 * the bus, the TypeBox schema of its `data`, and how long the bus keeps it (its retention class).
 * Adapters name types through {@link EVENT_TYPES} (via the kit), so a typo is a type error;
 * src/subjects.ts takes the retention classes from here, and the README's event table and the
 * events' JSON Schema (bridge.events.schema.json, src/event-schema.ts) are generated from
 * {@link EVENT_SPECS}.
 *
 * The schemas describe what the relay publishes. Objects stay open (`additionalProperties` is not
 * false): an encoder reads the fields it knows and ignores the rest.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Every canonical event type, by name. */
export const EVENT_TYPES = {
  serverStatus: 'server.status',
  serverConsole: 'server.console',
  serverStats: 'server.stats',
  serverPatch: 'server.patch',
  serverAdded: 'server.added',
  serverRemoved: 'server.removed',
  serverAddonAdded: 'server.addon.added',
  serverAddonRemoved: 'server.addon.removed',
  serverInstallStarted: 'server.install.started',
  serverInstallOutput: 'server.install.output',
  serverInstallCompleted: 'server.install.completed',
  serverBackupCompleted: 'server.backup.completed',
  serverBackupRestored: 'server.backup.restored',
  serverTransferLogs: 'server.transfer.logs',
  serverTransferStatus: 'server.transfer.status',
  serverDaemonMessage: 'server.daemon.message',
  serverDaemonError: 'server.daemon.error',
  serverDeleted: 'server.deleted',
  serverThrottled: 'server.throttled',
  guildUpdated: 'guild.updated',
  userUpdated: 'user.updated',
  botHealth: 'bot.health',
  roomMessage: 'room.message',
  roomUpdated: 'room.updated',
  roomParticipantJoined: 'room.participant.joined',
  roomParticipantKicked: 'room.participant.kicked',
  roomParticipantUpdated: 'room.participant.updated',
  roomClosed: 'room.closed',
  upstreamMessage: 'upstream.message',
  upstreamState: 'upstream.state',
} as const;

/** A canonical event type, e.g. `server.console`. */
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** How long the bus keeps events of a type: a window of lines, the last value, or nothing. */
export type Retention = 'history' | 'last' | 'none';

// ---- data schemas ---------------------------------------------------------------------------------

export const SERVER_STATES = ['offline', 'starting', 'running', 'stopping'] as const;
export type ServerState = (typeof SERVER_STATES)[number];
export const ServerStateSchema = Type.Union(SERVER_STATES.map((s) => Type.Literal(s)));

const Id = Type.String({ minLength: 1 });
const AnyObject = Type.Object({});
const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const Empty = Type.Object({});
const LineSchema = Type.Object({ line: Type.String() });
const MessageSchema = Type.Object({ message: Type.String() });

/**
 * `server.status`. From a Semoxy panel, `patch` is the whole SERVER_STATE_CHANGE patch the state
 * came in (it may carry more than `onlineStatus`), so the panel dialect writes it back as it was;
 * a state the relay learned otherwise has none.
 */
export const ServerStatusDataSchema = Type.Object({ state: ServerStateSchema, patch: Type.Optional(AnyObject) });
export type ServerStatusData = Static<typeof ServerStatusDataSchema>;
export const ServerConsoleDataSchema = LineSchema;
export type ServerConsoleData = Static<typeof ServerConsoleDataSchema>;
const Num = Type.Number();
export const ServerStatsDataSchema = Type.Object({
  memoryBytes: Num, memoryLimitBytes: Num, cpuAbsolute: Num, network: Type.Object({ rxBytes: Num, txBytes: Num }), uptimeMs: Num, diskBytes: Num, state: ServerStateSchema,
});
export type ServerStatsData = Static<typeof ServerStatsDataSchema>;
/** `server.patch`: a Semoxy server-object patch that does not move the power state (that one is `server.status`). */
export const ServerPatchDataSchema = Type.Object({ patch: AnyObject });
export const ServerAddedDataSchema = Type.Object({ server: AnyObject });
export const ServerAddonAddedDataSchema = Type.Object({ addon: AnyObject });
/** Addon ids are strings in the document and integers in Semoxy's (never shipped) addon routes. */
export const ServerAddonRemovedDataSchema = Type.Object({ addonId: Type.Union([Id, Type.Number()]) });
export const ServerBackupCompletedDataSchema = Type.Object({
  uuid: Type.String(),
  successful: Type.Boolean(),
  checksum: Type.String(),
  checksumType: Type.String(),
  sizeBytes: Type.Number(),
});
export type ServerBackupCompletedData = Static<typeof ServerBackupCompletedDataSchema>;
export const TRANSFER_STATUSES = ['pending', 'processing', 'cancelling', 'cancelled', 'failed', 'completed'] as const;
export const ServerTransferStatusDataSchema = Type.Object({ status: Type.Union(TRANSFER_STATUSES.map((s) => Type.Literal(s))) });
/** `server.throttled`: the event Wings limited, or `global`. */
export const ServerThrottledDataSchema = Type.Object({ event: Id });
export const MessageDataSchema = MessageSchema;

export const BotHealthDataSchema = Type.Object({
  receivedAt: Type.Number(),
  shards: Type.Array(Type.Unknown()),
  guildsCount: Type.Number(),
  memoryUsageMb: Type.Number(),
  uptimeMs: Type.Number(),
});
export type BotHealthData = Static<typeof BotHealthDataSchema>;
export const GuildUpdatedDataSchema = Type.Object({ guildId: Id, data: Type.Optional(Type.Unknown()) });
export interface GuildUpdatedData {
  guildId: string;
  data: unknown;
}
export const UserUpdatedDataSchema = Type.Object({ userId: Id, data: Type.Optional(Type.Unknown()) });
export interface UserUpdatedData {
  userId: string;
  data: unknown;
}

export const RoomMessageDataSchema = Type.Object({ authorId: Type.Optional(Type.String()), content: Type.String(), sentAt: Type.Number() });
export type RoomMessageData = Static<typeof RoomMessageDataSchema>;
export const RoomUpdatedDataSchema = Type.Object({
  chatLocked: Type.Optional(Type.Boolean()),
  roomLocked: Type.Optional(Type.Boolean()),
  maxParticipants: Type.Optional(Type.Integer({ minimum: 0 })),
  discordWebhookLink: OptionalText,
});
export type RoomUpdatedData = Static<typeof RoomUpdatedDataSchema>;
/** The changed fields of a participant that are typed; any other field is carried as it came. */
export const PARTICIPANT_FIELDS = {
  banned: Type.Optional(Type.Boolean()),
  // The document types `color` as a boolean, the site stores a colour string: both pass.
  color: Type.Optional(Type.Union([Type.Boolean(), Type.String()])),
  admin: Type.Optional(Type.Boolean()),
  online: Type.Optional(Type.Boolean()),
  muted: Type.Optional(Type.Boolean()),
  name: Type.Optional(Type.String()),
};
/** `room.participant.joined` is open (`{…}`): the participant as the server described it, keyed by `userId`. */
export const RoomParticipantJoinedDataSchema = Type.Object({ userId: Id });
export const RoomParticipantKickedDataSchema = Type.Object({ userId: Id });
export type RoomParticipantKickedData = Static<typeof RoomParticipantKickedDataSchema>;
export const RoomParticipantUpdatedDataSchema = Type.Object({ userId: Id, ...PARTICIPANT_FIELDS });
export type RoomParticipantUpdatedData = Static<typeof RoomParticipantUpdatedDataSchema>;

/**
 * `upstream.state`: one link's state, published by the relay on every change under the link's
 * own id (`<prefix>.evt.<upstream>.upstream.<link id>.state`, last value retained), so a session
 * can follow the link that carries its resource and a new one can read where it stands.
 * `state`: idle, connecting, authenticating, ready, backoff, failed (terminal) or closed (stopped);
 * `resource`/`id`: the link's resource family and id (`server` + uuid, `panel` + `_`, …);
 * `code`: with `failed`, the error-table row that says why (e.g. BRIDGE_ERR_SUSPENDED), when known;
 * `owner`: the node that holds the link (only a link's owner publishes its state).
 */
const Text = Type.String();
export const UpstreamStateDataSchema = Type.Object({ state: Text, reason: Text, resource: Text, id: Text, code: Type.Optional(Text), owner: Type.Optional(Text) });
export type UpstreamStateData = Static<typeof UpstreamStateDataSchema>;

// ---- the table ------------------------------------------------------------------------------------

/** What the vocabulary says about one event type. */
export interface EventSpec {
  /** The schema of the event's `data`. */
  readonly data: TSchema;
  readonly retention: Retention;
  /** One line for the README. */
  readonly about: string;
}

const T = EVENT_TYPES;
const spec = (data: TSchema, retention: Retention, about: string): EventSpec => ({ data, retention, about });

/** Every canonical type, in the order of DESIGN §3 (the README table and the stream filters follow it). */
export const EVENT_SPECS: Readonly<Record<EventType, EventSpec>> = {
  [T.serverStatus]: spec(ServerStatusDataSchema, 'last', 'A game server\'s power state changed (Wings `status`, Semoxy `SERVER_STATE_CHANGE` with `onlineStatus`).'),
  [T.serverConsole]: spec(ServerConsoleDataSchema, 'history', 'One line of console output.'),
  [T.serverStats]: spec(ServerStatsDataSchema, 'last', 'A resource usage sample (Wings `stats`, Semoxy `STAT_UPDATE`).'),
  [T.serverPatch]: spec(ServerPatchDataSchema, 'none', 'Semoxy changed fields of a server object without moving its power state.'),
  [T.serverAdded]: spec(ServerAddedDataSchema, 'none', 'A server was created on a Semoxy panel.'),
  [T.serverRemoved]: spec(Empty, 'none', 'A server was deleted on a Semoxy panel.'),
  [T.serverAddonAdded]: spec(ServerAddonAddedDataSchema, 'none', 'An addon was installed on a Semoxy server.'),
  [T.serverAddonRemoved]: spec(ServerAddonRemovedDataSchema, 'none', 'An addon was removed from a Semoxy server.'),
  [T.serverInstallStarted]: spec(Empty, 'none', 'A Wings server install began.'),
  [T.serverInstallOutput]: spec(LineSchema, 'history', 'One line of install output (needs `admin.websocket.install`).'),
  [T.serverInstallCompleted]: spec(Empty, 'none', 'A Wings server install ended.'),
  [T.serverBackupCompleted]: spec(ServerBackupCompletedDataSchema, 'none', 'A backup ended (needs `backup.read`).'),
  [T.serverBackupRestored]: spec(Empty, 'none', 'A backup was restored.'),
  [T.serverTransferLogs]: spec(LineSchema, 'history', 'One line of transfer output (needs `admin.websocket.transfer`).'),
  [T.serverTransferStatus]: spec(ServerTransferStatusDataSchema, 'none', 'A server transfer changed status.'),
  [T.serverDaemonMessage]: spec(MessageSchema, 'none', 'A message from the daemon.'),
  [T.serverDaemonError]: spec(MessageSchema, 'none', 'An error text from the daemon (the real text needs `admin.websocket.errors`).'),
  [T.serverDeleted]: spec(Empty, 'none', 'Wings deleted the server.'),
  [T.serverThrottled]: spec(ServerThrottledDataSchema, 'none', 'Wings throttled an event of the server\'s socket.'),
  [T.guildUpdated]: spec(GuildUpdatedDataSchema, 'none', 'A guild\'s database entry changed (Felix `10002`).'),
  [T.userUpdated]: spec(UserUpdatedDataSchema, 'none', 'A user\'s database entry changed (Felix `10003`).'),
  [T.botHealth]: spec(BotHealthDataSchema, 'last', 'The bot\'s heartbeat answer (Felix `10001`).'),
  [T.roomMessage]: spec(RoomMessageDataSchema, 'history', 'A chat message (no `authorId`: a system message).'),
  [T.roomUpdated]: spec(RoomUpdatedDataSchema, 'none', 'Room settings changed.'),
  [T.roomParticipantJoined]: spec(RoomParticipantJoinedDataSchema, 'none', 'A participant joined (the participant as the server described it).'),
  [T.roomParticipantKicked]: spec(RoomParticipantKickedDataSchema, 'none', 'A participant was kicked.'),
  [T.roomParticipantUpdated]: spec(RoomParticipantUpdatedDataSchema, 'none', 'A participant changed; other fields are carried as they came.'),
  [T.roomClosed]: spec(Empty, 'none', 'The room was closed.'),
  [T.upstreamMessage]: spec(MessageSchema, 'none', 'A message about the whole upstream (Semoxy `META_MESSAGE`).'),
  [T.upstreamState]: spec(UpstreamStateDataSchema, 'last', 'A link\'s state, published by the relay on every change.'),
};

/** Every canonical type, in table order. */
export const ALL_EVENT_TYPES: readonly EventType[] = Object.keys(EVENT_SPECS) as EventType[];

const KNOWN: ReadonlySet<string> = new Set(ALL_EVENT_TYPES);

/** True for a canonical type (a relay chain may carry others, which the vocabulary does not know). */
export function isEventType(type: string): type is EventType {
  return KNOWN.has(type);
}

/** The retention class of a type; `none` for a type the vocabulary does not know. */
export function retentionOf(type: string): Retention {
  return isEventType(type) ? EVENT_SPECS[type].retention : 'none';
}

/** The types of one retention class, in table order. */
export function typesRetained(kind: Retention): EventType[] {
  return ALL_EVENT_TYPES.filter((t) => EVENT_SPECS[t].retention === kind);
}
