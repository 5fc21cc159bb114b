/**
 * TypeBox schemas of the Felix websocket wire (felix-websocket.md, corrected by REAL-BEHAVIOUR.md)
 * and of the canonical bot payloads the codec writes back to the wire. Each is compiled once at
 * module load: the checks run on every frame and every encoded event.
 *
 * Objects leave `additionalProperties` open: Felix adds fields to its frames (the undocumented
 * `name`), and an unknown key must not make a whole update disappear.
 */
import { BotHealthDataSchema, GuildUpdatedDataSchema, Type, TypeCompiler, UserUpdatedDataSchema, type Static } from '../../src/adapter-kit.ts';

/**
 * One frame, either direction: `{"code": N, "data": …}`, plus `name` on server frames. Felix
 * ignores frames whose `code` is missing or falsy; the codec rejects 0 after this check.
 * TypeBox numbers exclude NaN and ±Infinity (`1e999` parses to Infinity).
 */
export const FelixFrameSchema = Type.Object({
  code: Type.Number(),
  data: Type.Optional(Type.Unknown()),
  name: Type.Optional(Type.Unknown()),
});

/**
 * `10001` data. `memoryUsage` is documented as a number but the real server sends a string of MB
 * with two decimals ("4.85"): both are accepted. Shards are Eris shard objects with `ping`.
 */
export const HeartbeatAckWireSchema = Type.Object({
  receivedAt: Type.Number(),
  shards: Type.Array(Type.Unknown()),
  guildsCount: Type.Number(),
  memoryUsage: Type.Union([Type.String(), Type.Number()]),
  uptime: Type.Number(),
});
export type HeartbeatAckWire = Static<typeof HeartbeatAckWireSchema>;

/** `10002` data: a guild's database entry changed. */
export const GuildUpdateWireSchema = Type.Object({
  guildID: Type.String({ minLength: 1 }),
  guildData: Type.Unknown(),
});

/** `10003` data: a user's database entry changed. */
export const UserUpdateWireSchema = Type.Object({
  userID: Type.String({ minLength: 1 }),
  userData: Type.Unknown(),
});

/** `20002` data: applied only when both lists are arrays (Felix checks exactly that). */
export const ListenersWireSchema = Type.Object({
  users: Type.Array(Type.String()),
  guilds: Type.Array(Type.String()),
});
export type ListenersWire = Static<typeof ListenersWireSchema>;

/** The canonical bot payloads are the core's vocabulary; the codec checks them before writing them to the wire. */
export type { BotHealthData, GuildUpdatedData, UserUpdatedData } from '../../src/adapter-kit.ts';

/** Compiled checks, built once at import. `Check` never throws. */
export const FrameCheck = TypeCompiler.Compile(FelixFrameSchema);
export const HeartbeatAckWireCheck = TypeCompiler.Compile(HeartbeatAckWireSchema);
export const GuildUpdateWireCheck = TypeCompiler.Compile(GuildUpdateWireSchema);
export const UserUpdateWireCheck = TypeCompiler.Compile(UserUpdateWireSchema);
export const ListenersWireCheck = TypeCompiler.Compile(ListenersWireSchema);
export const BotHealthDataCheck = TypeCompiler.Compile(BotHealthDataSchema);
export const GuildUpdatedDataCheck = TypeCompiler.Compile(GuildUpdatedDataSchema);
export const UserUpdatedDataCheck = TypeCompiler.Compile(UserUpdatedDataSchema);
