/**
 * TypeBox schemas of the Semoxy panel-event wire (REAL-BEHAVIOUR.md "Semoxy"): the `{action, data}`
 * envelope and the `data` of every action the relay reads, plus the canonical payloads the encoder
 * checks before writing them. Compiled once at module load: they run on every frame.
 *
 * Objects leave `additionalProperties` open: Semoxy's server objects and patches carry whatever
 * fields the server model has, and an unknown key must not make an event disappear.
 */
import {
  MessageDataSchema,
  ServerAddedDataSchema,
  ServerAddonAddedDataSchema,
  ServerAddonRemovedDataSchema,
  ServerConsoleDataSchema,
  ServerPatchDataSchema,
  Type,
  TypeCompiler,
  UpstreamStateDataSchema,
  type Static,
} from '../../src/adapter-kit.ts';

const Id = Type.String({ minLength: 1 });
const AnyObject = Type.Object({});
/** Addon ids are strings in the document and integers in Semoxy's (never shipped) addon routes. */
const AddonId = Type.Union([Type.String({ minLength: 1 }), Type.Number()]);
/** Semoxy reports `None` for the usage of a server whose process is gone. */
const Usage = Type.Union([Type.Number(), Type.Null()]);

/** The envelope, either direction. `data` is optional here; the decoder supplies `{}` when it is absent. */
export const EnvelopeSchema = Type.Object({ action: Type.String({ minLength: 1 }), data: Type.Optional(Type.Unknown()) });

export const StateChangeSchema = Type.Object({ id: Id, patch: AnyObject });
export const ConsoleLineSchema = Type.Object({ id: Id, message: Type.String() });
/** v2 `EventPacket`: `id` there is the stored event's id, the server is `serverId`. */
export const ConsoleMessageSchema = Type.Object({ serverId: Id, eventData: Type.Object({ message: Type.String() }) });
export const MetaSchema = Type.Object({ message: Type.String() });
/** SERVER_ADD: `data` is the server object itself. */
export const ServerObjectSchema = Type.Object({ id: Id });
export const ServerDeleteSchema = Type.Object({ id: Id });
export const AddonAddSchema = Type.Object({ serverId: Id, addon: AnyObject });
export const AddonDeleteSchema = Type.Object({ serverId: Id, id: AddonId });
export const StatUpdateSchema = Type.Object({ serverId: Id, ramUsage: Usage, cpuUsage: Usage });
export const AuthenticateSchema = Type.Object({ sessionId: Type.String() });
export const IntentSchema = Type.Object({ intent: Type.String() });

export type StateChangeData = Static<typeof StateChangeSchema>;
export type StatUpdateData = Static<typeof StatUpdateSchema>;

/**
 * Canonical payloads the encoder reads (the core's vocabulary); events are trusted, but an encoder
 * must never write invalid JSON. Of `server.stats` only the two fields Semoxy's STAT_UPDATE has.
 */
export const StatsDataSchema = Type.Object({ memoryBytes: Type.Number(), cpuAbsolute: Type.Number() });
/** One entry of Semoxy's `GET /server/` list (the server object; only these fields are read). */
export const ListedServerSchema = Type.Object({ id: Id, onlineStatus: Type.Integer({ minimum: 0, maximum: 3 }) });

/** Compiled checks: `Check` never throws, rejects arrays where objects are due and NaN/Infinity where numbers are. */
export const EnvelopeCheck = TypeCompiler.Compile(EnvelopeSchema);
export const StateChangeCheck = TypeCompiler.Compile(StateChangeSchema);
export const ConsoleLineCheck = TypeCompiler.Compile(ConsoleLineSchema);
export const ConsoleMessageCheck = TypeCompiler.Compile(ConsoleMessageSchema);
export const MetaCheck = TypeCompiler.Compile(MetaSchema);
export const ServerObjectCheck = TypeCompiler.Compile(ServerObjectSchema);
export const ServerDeleteCheck = TypeCompiler.Compile(ServerDeleteSchema);
export const AddonAddCheck = TypeCompiler.Compile(AddonAddSchema);
export const AddonDeleteCheck = TypeCompiler.Compile(AddonDeleteSchema);
export const StatUpdateCheck = TypeCompiler.Compile(StatUpdateSchema);
export const AuthenticateCheck = TypeCompiler.Compile(AuthenticateSchema);
export const IntentCheck = TypeCompiler.Compile(IntentSchema);
export const StatsDataCheck = TypeCompiler.Compile(StatsDataSchema);
export const LineDataCheck = TypeCompiler.Compile(ServerConsoleDataSchema);
export const MessageDataCheck = TypeCompiler.Compile(MessageDataSchema);
export const PatchDataCheck = TypeCompiler.Compile(ServerPatchDataSchema);
export const ServerDataCheck = TypeCompiler.Compile(ServerAddedDataSchema);
export const AddonDataCheck = TypeCompiler.Compile(ServerAddonAddedDataSchema);
export const AddonRemovedDataCheck = TypeCompiler.Compile(ServerAddonRemovedDataSchema);
export const LinkStateDataCheck = TypeCompiler.Compile(UpstreamStateDataSchema);
export const ListedServerCheck = TypeCompiler.Compile(ListedServerSchema);
