/**
 * The pure codec of the Pterodactyl Wings websocket: text frame ⇄ {@link WingsPacket} ⇄ canonical
 * event or command. No I/O, no timers, no logging, and no function here throws, whatever it is fed:
 * a frame that does not fit is `null`, and the caller counts it (Wings itself ignores bad frames
 * silently and keeps the socket open, REAL-BEHAVIOUR.md "Wire").
 */
import { EVENT_TYPES as T, LINK_STATE_TYPE, POWER_ACTIONS, SERVER_STATES, TRANSFER_STATUSES, hasPermission, parseJson } from '../../src/adapter-kit.ts';
import type { BridgeEvent, CommandType, EventEncoder, EventType, PowerAction } from '../../src/adapter-kit.ts';
import type { ServerBackupCompletedData, ServerStatsData } from '../../src/adapter-kit.ts';
import { BackupDataCheck, BackupWireCheck, FrameCheck, StatsDataCheck, StatsWireCheck } from './schema.ts';
import { CLIENT_EVENTS, GENERIC_DAEMON_ERROR, PERMISSIONS, SERVER_EVENTS } from './vocabulary.ts';

/** A parsed frame. `args` is normalized: never null, no null elements. */
export interface WingsPacket {
  readonly event: string;
  readonly args: readonly string[];
}

const NO_ARGS: readonly string[] = Object.freeze([]);
/** Real Wings sends `[""]`, not an empty list, with `install started/completed` and `backup restore completed`. */
const EMPTY_ARG: readonly string[] = Object.freeze(['']);
const STATES: ReadonlySet<string> = new Set(SERVER_STATES);
const TRANSFER: ReadonlySet<string> = new Set(TRANSFER_STATUSES);
const POWER: ReadonlySet<string> = new Set(POWER_ACTIONS);
const E = SERVER_EVENTS;
const CONTROL: ReadonlySet<string> = new Set([E.authSuccess, E.tokenExpiring, E.tokenExpired, E.jwtError]);
/** The two encodings: real `daemon error` texts (admin.websocket.errors) or the generic one. */
const VARIANT_ERRORS = 'errors';
const VARIANT_GENERIC = 'generic';

/**
 * Parses a text frame. null: not JSON, not an object, no string `event`, or `args` not
 * absent/null/array of string|null. Args normalized: absent/null/[]/[null]/[""] → []; null
 * elements → "" (the panel's own client sends `[null]` for argument-less events).
 */
export function parseFrame(text: string): WingsPacket | null {
  const value = parseJson(text);
  if (!FrameCheck.Check(value)) return null;
  const args = value.args;
  if (args == null || args.length === 0) return { event: value.event, args: NO_ARGS };
  if (args.length === 1 && (args[0] === null || args[0] === '')) return { event: value.event, args: NO_ARGS };
  // The array is fresh from JSON.parse and shared with nobody, so nulls are replaced in place.
  for (let i = 0; i < args.length; i++) if (args[i] === null) args[i] = '';
  return { event: value.event, args: args as string[] };
}

/** Formats a frame; `args` omitted when empty or absent: {"event":"auth success"}. */
export function formatFrame(event: string, args?: readonly string[]): string {
  const head = '{"event":' + JSON.stringify(event);
  return args === undefined || args.length === 0 ? head + '}' : head + ',"args":' + JSON.stringify(args) + '}';
}

/** True for the control events the upstream link handles itself. */
export function isControlEvent(event: string): boolean {
  return CONTROL.has(event);
}

/** How each server event reads: its canonical type, and its data from `args[0]` (null: does not fit). */
type DataOf = (a: string, p: WingsPacket) => unknown;
const none: DataOf = () => ({});
const lineOf: DataOf = (line) => ({ line });
const messageOf: DataOf = (message) => ({ message });
const INBOUND: ReadonlyMap<string, readonly [EventType, DataOf]> = new Map<string, readonly [EventType, DataOf]>([
  [E.status, [T.serverStatus, (a) => (STATES.has(a) ? { state: a } : null)]],
  [E.consoleOutput, [T.serverConsole, lineOf]],
  [E.stats, [T.serverStats, statsFromWire]],
  [E.installOutput, [T.serverInstallOutput, lineOf]],
  [E.installStarted, [T.serverInstallStarted, none]],
  [E.installCompleted, [T.serverInstallCompleted, none]],
  [E.backupCompleted, [T.serverBackupCompleted, backupFromWire]],
  // The document's name, listed with no arguments: all it says is that a backup ended. With a JSON
  // argument it is read like the real `backup completed`.
  [E.backupCompleteDoc, [T.serverBackupCompleted, (a, p) => (p.args.length === 0 ? unknownBackup() : backupFromWire(a))]],
  [E.backupRestoreCompleted, [T.serverBackupRestored, none]],
  [E.transferLogs, [T.serverTransferLogs, lineOf]],
  [E.transferStatus, [T.serverTransferStatus, (a) => (TRANSFER.has(a) ? { status: a } : null)]],
  [E.daemonMessage, [T.serverDaemonMessage, messageOf]],
  [E.daemonError, [T.serverDaemonError, messageOf]],
  [E.deleted, [T.serverDeleted, none]],
  // Wings names the limited event, or "global"; an empty name carries nothing to show.
  [E.throttled, [T.serverThrottled, (event) => (event !== '' ? { event } : null)]],
]);

/**
 * Upstream direction: a server frame → canonical {type, data}; null for control events (auth
 * success, token expiring/expired, jwt error) and unknown events, or args that don't fit.
 * Args past the first are ignored.
 */
export function packetToEvent(p: WingsPacket): { type: EventType; data: unknown } | null {
  if (!isPacket(p)) return null;
  const rule = INBOUND.get(p.event);
  const a = arg0(p);
  if (rule === undefined || a === null) return null;
  const data = rule[1](a, p);
  return data === null ? null : { type: rule[0], data };
}

// ---- downstream direction: one rule per canonical type, shared by eventToPacket and encode ----

type ArgOf = (data: unknown, variant: string) => string | null;
type Rule =
  | { readonly kind: 'fixed'; readonly event: string; readonly args: readonly string[]; readonly frame: string }
  | { readonly kind: 'arg'; readonly event: string; readonly arg: ArgOf; readonly head: string };

function fixed(event: string, args: readonly string[]): Rule {
  return { kind: 'fixed', event, args, frame: formatFrame(event, args) };
}
function oneArg(event: string, arg: ArgOf): Rule {
  // `head + JSON.stringify(a) + ']}'` is byte-identical to formatFrame(event, [a]) without the array.
  return { kind: 'arg', event, arg, head: '{"event":' + JSON.stringify(event) + ',"args":[' };
}
const textOf = (key: string): ArgOf => (data) => field(data, key);
const lineArg = textOf('line');
const messageArg = textOf('message');
const stateArg: ArgOf = (d) => member(field(d, 'state'), STATES);
const transferArg: ArgOf = (d) => member(field(d, 'status'), TRANSFER);
const throttledArg: ArgOf = (d) => field(d, 'event') || null;
const statsArg: ArgOf = (d) => (StatsDataCheck.Check(d) ? statsToWire(d) : null);
const backupArg: ArgOf = (d) => (BackupDataCheck.Check(d) ? backupToWire(d) : null);
/** Wings shows the real error only to holders of admin.websocket.errors; any other variant gets the generic text. */
const daemonErrorArg: ArgOf = (d, variant) => {
  const message = field(d, 'message');
  return message === null ? null : variant === VARIANT_ERRORS ? message : GENERIC_DAEMON_ERROR;
};

const OUTBOUND: ReadonlyMap<string, Rule> = new Map<EventType, Rule>([
  [T.serverStatus, oneArg(E.status, stateArg)],
  [T.serverConsole, oneArg(E.consoleOutput, lineArg)],
  [T.serverStats, oneArg(E.stats, statsArg)],
  [T.serverInstallOutput, oneArg(E.installOutput, lineArg)],
  [T.serverInstallStarted, fixed(E.installStarted, EMPTY_ARG)],
  [T.serverInstallCompleted, fixed(E.installCompleted, EMPTY_ARG)],
  [T.serverBackupCompleted, oneArg(E.backupCompleted, backupArg)],
  [T.serverBackupRestored, fixed(E.backupRestoreCompleted, EMPTY_ARG)],
  [T.serverTransferLogs, oneArg(E.transferLogs, lineArg)],
  [T.serverTransferStatus, oneArg(E.transferStatus, transferArg)],
  [T.serverDaemonMessage, oneArg(E.daemonMessage, messageArg)],
  [T.serverDaemonError, oneArg(E.daemonError, daemonErrorArg)],
  [T.serverDeleted, fixed(E.deleted, NO_ARGS)],
  [T.serverThrottled, oneArg(E.throttled, throttledArg)],
  // Other protocols' meta messages (Semoxy META_MESSAGE) reach a Wings dashboard as daemon messages.
  [T.upstreamMessage, oneArg(E.daemonMessage, messageArg)],
]);

/** Downstream direction: canonical event → the frame a Wings dashboard gets; null = the dialect cannot express it (unmapped). */
export function eventToPacket(e: BridgeEvent, variant: string): WingsPacket | null {
  const rule = OUTBOUND.get(e?.type);
  if (rule === undefined) return null;
  if (rule.kind === 'fixed') return { event: rule.event, args: rule.args };
  const a = rule.arg(e.data, variant);
  return a === null ? null : { event: rule.event, args: [a] };
}

/**
 * The EventEncoder of the wings dialect: formatFrame(eventToPacket(e, variant)) or null. Built from
 * the same rules without the intermediate packet: argument-less frames are preformatted constants,
 * the rest cost one JSON.stringify of the argument.
 *
 * A link's `upstream.state` has no Wings frame: Wings says "this server is gone" by closing the
 * socket (4409 suspended), which the session does. It is encoded as the empty frame, so the hub
 * hands it to the sessions watching that link and counts nothing as unmapped.
 */
export const encode: EventEncoder = function encodeWings(e, variant) {
  const rule = OUTBOUND.get(e?.type);
  if (rule === undefined) return e?.type === LINK_STATE_TYPE ? '' : null;
  if (rule.kind === 'fixed') return rule.frame;
  const a = rule.arg(e.data, variant);
  return a === null ? null : rule.head + JSON.stringify(a) + ']}';
};

/** The encoding variant for a client's permissions: differs only in whether `daemon error` shows the real text (admin.websocket.errors). */
export function variantFor(permissions: readonly string[]): string {
  // `*` does not grant admin.* permissions in Wings; hasPermission applies that rule.
  return Array.isArray(permissions) && hasPermission(permissions, PERMISSIONS.errors) ? VARIANT_ERRORS : VARIANT_GENERIC;
}

// ---- commands ---------------------------------------------------------------------------------

/**
 * A client frame → neutral command. null when not a command (`auth` is the session's business) or
 * args invalid (unknown power action, missing or empty command line).
 */
export function packetToCommand(p: WingsPacket): { type: CommandType; data: unknown } | null {
  if (!isPacket(p)) return null;
  switch (p.event) {
    case CLIENT_EVENTS.setState: {
      const action = member(arg0(p), POWER);
      return action === null ? null : { type: 'server.power', data: { action: action as PowerAction } };
    }
    case CLIENT_EVENTS.sendCommand: {
      const line = arg0(p);
      return line ? { type: 'server.command', data: { line } } : null;
    }
    // The panel's client sends these with `[null]`; whatever the args, they ask for the same thing.
    case CLIENT_EVENTS.sendLogs:
      return { type: 'server.logs.request', data: {} };
    case CLIENT_EVENTS.sendStats:
      return { type: 'server.stats.request', data: {} };
    default:
      return null;
  }
}

/** Neutral command → the frame sent upstream to Wings. null if the type is not a command or its data is invalid. */
export function commandToPacket(c: { type: string; data: unknown }): WingsPacket | null {
  if (typeof c !== 'object' || c === null) return null;
  switch (c.type) {
    case 'server.power': {
      const action = member(field(c.data, 'action'), POWER);
      return action === null ? null : { event: CLIENT_EVENTS.setState, args: [action] };
    }
    case 'server.command': {
      const line = field(c.data, 'line');
      return line ? { event: CLIENT_EVENTS.sendCommand, args: [line] } : null;
    }
    case 'server.logs.request':
      return { event: CLIENT_EVENTS.sendLogs, args: NO_ARGS };
    case 'server.stats.request':
      return { event: CLIENT_EVENTS.sendStats, args: NO_ARGS };
    default:
      return null;
  }
}

// ---- JSON arguments ---------------------------------------------------------------------------

/** Reads the `stats` argument; key order is free and unknown keys are dropped. null when it does not fit. */
export function statsFromWire(json: string): ServerStatsData | null {
  const w = parseJson(json);
  if (!StatsWireCheck.Check(w)) return null;
  return {
    memoryBytes: w.memory_bytes,
    memoryLimitBytes: w.memory_limit_bytes,
    cpuAbsolute: w.cpu_absolute,
    network: { rxBytes: w.network.rx_bytes, txBytes: w.network.tx_bytes },
    uptimeMs: w.uptime,
    diskBytes: w.disk_bytes,
    state: w.state,
  };
}

/** Writes the `stats` argument in the key order Wings' own struct produces. */
export function statsToWire(d: ServerStatsData): string {
  return JSON.stringify({
    memory_bytes: d.memoryBytes,
    memory_limit_bytes: d.memoryLimitBytes,
    cpu_absolute: d.cpuAbsolute,
    network: { rx_bytes: d.network.rxBytes, tx_bytes: d.network.txBytes },
    uptime: d.uptimeMs,
    state: d.state,
    disk_bytes: d.diskBytes,
  });
}

function backupFromWire(json: string): ServerBackupCompletedData | null {
  const w = parseJson(json);
  if (!BackupWireCheck.Check(w)) return null;
  return { uuid: w.uuid, successful: w.is_successful, checksum: w.checksum, checksumType: w.checksum_type, sizeBytes: w.file_size };
}

function backupToWire(d: ServerBackupCompletedData): string {
  const { uuid, successful: is_successful, checksum, checksumType: checksum_type, sizeBytes: file_size } = d;
  return JSON.stringify({ uuid, is_successful, checksum, checksum_type, file_size });
}

/** What an argument-less `backup complete` can say: a backup finished; no id, checksum or size. */
function unknownBackup(): ServerBackupCompletedData {
  return { uuid: '', successful: true, checksum: '', checksumType: '', sizeBytes: 0 };
}

// ---- helpers ----------------------------------------------------------------------------------

/** Callers normally pass parseFrame results, but a hand-built packet must not crash a link. */
function isPacket(p: unknown): p is WingsPacket {
  return typeof p === 'object' && p !== null && typeof (p as WingsPacket).event === 'string' && Array.isArray((p as WingsPacket).args);
}

/** `args[0]`; "" when absent (parseFrame folds `[""]` into `[]`); null when not a string. */
function arg0(p: WingsPacket): string | null {
  const a: unknown = p.args[0];
  return a === undefined ? '' : typeof a === 'string' ? a : null;
}

function field(data: unknown, key: string): string | null {
  if (typeof data !== 'object' || data === null) return null;
  const v = (data as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : null;
}

function member(value: string | null, set: ReadonlySet<string>): string | null {
  return value !== null && set.has(value) ? value : null;
}
