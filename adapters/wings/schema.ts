/**
 * TypeBox schemas of the Wings websocket wire (REAL-BEHAVIOUR.md, "Wings"), and of the canonical
 * payloads the codec turns back into wire JSON. Each is compiled once at module load: the checks
 * run on every upstream frame and on every encoded event, so nothing is compiled per call.
 *
 * Objects leave `additionalProperties` open on purpose: Wings adds fields between releases, and an
 * unknown key must not make a whole frame or stats sample disappear.
 */
import { ServerBackupCompletedDataSchema, ServerStateSchema, ServerStatsDataSchema, Type, TypeCompiler, type Static } from '../../src/adapter-kit.ts';

/**
 * One frame, either direction: `{"event": "...", "args": [...]}`. Inbound `args` may be absent,
 * `null`, `[]`, `[null]` (the panel's own client sends `[null]`) or `[""]`, so elements may be null.
 */
export const WingsFrameSchema = Type.Object({
  event: Type.String(),
  args: Type.Optional(Type.Union([Type.Array(Type.Union([Type.String(), Type.Null()])), Type.Null()])),
});
export type WingsFrame = Static<typeof WingsFrameSchema>;

/**
 * The JSON string carried as `args[0]` of `stats`. Key order varies between Wings builds, and
 * `uptime` is in milliseconds. While offline every field but `disk_bytes` is zero.
 */
export const WingsStatsSchema = Type.Object({
  memory_bytes: Type.Number(),
  memory_limit_bytes: Type.Number(),
  cpu_absolute: Type.Number(),
  network: Type.Object({ rx_bytes: Type.Number(), tx_bytes: Type.Number() }),
  uptime: Type.Number(),
  state: ServerStateSchema,
  disk_bytes: Type.Number(),
});
export type WingsStats = Static<typeof WingsStatsSchema>;

/**
 * The JSON string carried as `args[0]` of `backup completed` (the document's "backup complete"
 * with no arguments is wrong; real Wings sends this object, `checksum_type` being `sha1`).
 */
export const WingsBackupSchema = Type.Object({
  uuid: Type.String(),
  is_successful: Type.Boolean(),
  checksum: Type.String(),
  checksum_type: Type.String(),
  file_size: Type.Number(),
});
export type WingsBackup = Static<typeof WingsBackupSchema>;

/**
 * Compiled checks, built once at import. `Check` never throws, rejects arrays where objects are
 * due and NaN/Infinity where numbers are, and does not descend into unknown keys.
 */
export const FrameCheck = TypeCompiler.Compile(WingsFrameSchema);
export const StatsWireCheck = TypeCompiler.Compile(WingsStatsSchema);
export const BackupWireCheck = TypeCompiler.Compile(WingsBackupSchema);
/**
 * The canonical `server.stats` and `server.backup.completed` data (the core's vocabulary). Events
 * on the bus are trusted, but an encoder must never throw or write invalid JSON, so the outbound
 * path checks the shape before formatting.
 */
export const StatsDataCheck = TypeCompiler.Compile(ServerStatsDataSchema);
export const BackupDataCheck = TypeCompiler.Compile(ServerBackupCompletedDataSchema);
