/**
 * TypeBox schemas of the room gateway wire (`{e, d}`, REAL-BEHAVIOUR.md "anonroom") and of the
 * canonical room payloads the codec writes back out. Compiled once at import: the wire checks run
 * on every upstream frame, the canonical ones on every encoded event.
 *
 * Objects leave `additionalProperties` open: the real server sends whole update bodies and adds
 * fields between versions, and an unknown key must not make an event disappear. Fields the
 * canonical payload does not know are dropped by the codec, not rejected here.
 */
import {
  PARTICIPANT_FIELDS,
  RoomMessageDataSchema,
  RoomParticipantJoinedDataSchema,
  RoomParticipantKickedDataSchema,
  RoomParticipantUpdatedDataSchema,
  RoomUpdatedDataSchema,
  Type,
  TypeCompiler,
  type Static,
} from '../../src/adapter-kit.ts';

/** One packet, either direction. `d` is absent in some hand-written clients' heartbeats. */
export const FrameSchema = Type.Object({
  e: Type.Integer({ minimum: 0 }),
  d: Type.Optional(Type.Unknown()),
});

/** `hello` data of the seed profile (the later one wraps this in a second `{e:0, d}`). */
export const HelloSchema = Type.Object({ heartbeatInterval: Type.Integer({ minimum: 1 }) });

/** The later profile's double-wrapped hello: `{"e":0,"d":{"e":0,"d":{heartbeatInterval}}}`. */
export const WrappedHelloSchema = Type.Object({ e: Type.Literal(0), d: HelloSchema });

const Id = Type.String({ minLength: 1 });
const OptionalText = Type.Optional(Type.Union([Type.String(), Type.Null()]));

/**
 * `message_create` as really sent: `{content, authorId?, roomId, sentAt}`. No `authorId` (or null)
 * is a system message. `roomId` is not required: the link already knows its room.
 */
export const MessageWireSchema = Type.Object({
  content: Type.String(),
  authorId: OptionalText,
  roomId: Type.Optional(Type.String()),
  sentAt: Type.Number(),
});
export type MessageWire = Static<typeof MessageWireSchema>;

/**
 * `room_update` is the update body: any subset of the four fields. The webhook arrives as
 * `discordWebhook` (later servers) or `discordWebhookLink` (the document); null clears it.
 */
export const RoomUpdateWireSchema = Type.Object({
  maxParticipants: Type.Optional(Type.Integer({ minimum: 0 })),
  chatLocked: Type.Optional(Type.Boolean()),
  roomLocked: Type.Optional(Type.Boolean()),
  discordWebhook: OptionalText,
  discordWebhookLink: OptionalText,
});
export type RoomUpdateWire = Static<typeof RoomUpdateWireSchema>;

/**
 * A participant as named on the wire: the real server says `id`, the document `userId`. Which
 * one is present is checked by the codec (a schema union would report the wrong branch).
 */
const ParticipantRef = {
  id: Type.Optional(Id),
  userId: Type.Optional(Id),
};

/** `participant_kick` (seed only): `{userId}`. */
export const KickWireSchema = Type.Object(ParticipantRef);

/**
 * `participant_update {id, …changed, online?}`: the known fields are type-checked, any other field
 * is carried as it came. `kicked: true` is the later profile's kick.
 */
export const ParticipantUpdateWireSchema = Type.Object({
  ...ParticipantRef,
  // The changed fields the current server sends (REAL-BEHAVIOUR.md), typed as the canonical payload types them.
  ...PARTICIPANT_FIELDS,
  kicked: Type.Optional(Type.Boolean()),
});
export type ParticipantUpdateWire = Static<typeof ParticipantUpdateWireSchema>;

/** `participant_join` (later profile): the new participant, named by `id`; other fields pass through. */
export const JoinWireSchema = Type.Object(ParticipantRef);

// ---- canonical payloads (DESIGN §3): the core's vocabulary, checked before they are written to a dashboard

export type {
  RoomMessageData as MessageData,
  RoomParticipantKickedData as KickedData,
  RoomParticipantUpdatedData as ParticipantUpdatedData,
  RoomUpdatedData,
} from '../../src/adapter-kit.ts';

/** Compiled checks: `Check` never throws and rejects NaN/Infinity, arrays for objects, and null for objects. */
export const FrameCheck = TypeCompiler.Compile(FrameSchema);
export const HelloCheck = TypeCompiler.Compile(HelloSchema);
export const WrappedHelloCheck = TypeCompiler.Compile(WrappedHelloSchema);
export const MessageWireCheck = TypeCompiler.Compile(MessageWireSchema);
export const RoomUpdateWireCheck = TypeCompiler.Compile(RoomUpdateWireSchema);
export const KickWireCheck = TypeCompiler.Compile(KickWireSchema);
export const ParticipantUpdateWireCheck = TypeCompiler.Compile(ParticipantUpdateWireSchema);
export const JoinWireCheck = TypeCompiler.Compile(JoinWireSchema);
export const MessageDataCheck = TypeCompiler.Compile(RoomMessageDataSchema);
export const RoomUpdatedDataCheck = TypeCompiler.Compile(RoomUpdatedDataSchema);
export const KickedDataCheck = TypeCompiler.Compile(RoomParticipantKickedDataSchema);
export const ParticipantUpdatedDataCheck = TypeCompiler.Compile(RoomParticipantUpdatedDataSchema);
export const JoinedDataCheck = TypeCompiler.Compile(RoomParticipantJoinedDataSchema);
