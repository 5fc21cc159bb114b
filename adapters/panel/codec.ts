/**
 * The pure codec of Semoxy's panel event socket: text frame ⇄ {@link PanelPacket} ⇄ canonical
 * events. No I/O, no timers, no logging, and nothing here throws, whatever it is fed: what does
 * not fit is `null` and the caller counts it.
 *
 * Two wire versions share the envelope `{action, data}`: v1 (the ticket era of panel-events.md)
 * writes console lines as `CONSOLE_LINE {id, message}`; v2 (the AUTHENTICATE era) writes them as
 * Semoxy's `EventPacket` `CONSOLE_MESSAGE {serverId, eventData: {message}, id: <event id>}` and adds
 * `STAT_UPDATE`. The encoding variant of a dashboard session is its version, `v1` or `v2`.
 */
import { EVENT_TYPES as T, LINK_STATE_TYPE, SERVER_STATES, eventUpstream, parseJson } from '../../src/adapter-kit.ts';
import type { BridgeEvent, EventEncoder, EventType, ServerState, ServerStatsData } from '../../src/adapter-kit.ts';
import {
  AddonAddCheck,
  AddonDataCheck,
  AddonDeleteCheck,
  AddonRemovedDataCheck,
  ConsoleLineCheck,
  ConsoleMessageCheck,
  EnvelopeCheck,
  LineDataCheck,
  LinkStateDataCheck,
  MessageDataCheck,
  MetaCheck,
  PatchDataCheck,
  ServerDataCheck,
  ServerDeleteCheck,
  ServerObjectCheck,
  StatUpdateCheck,
  StateChangeCheck,
  StatsDataCheck,
  type StatUpdateData,
} from './schema.ts';
import { INTENT_FAMILIES, ONLINE_STATUS, SERVER_ACTIONS as A, linkFailedMessage, type IntentFamily } from './vocabulary.ts';

/** A parsed frame. `data` is `{}` when the frame had none. */
export interface PanelPacket {
  readonly action: string;
  readonly data: unknown;
}

/** One canonical event read from a packet: its type, the resource id it is about, its data. */
export interface PanelEvent {
  readonly type: EventType;
  readonly id: string;
  readonly data: unknown;
}

/** The wire versions; also the encoding variants of dashboard sessions. */
export type PanelVersion = 'v1' | 'v2';

/** The id upstream-level events are published under (DESIGN §4). */
export const UPSTREAM_ID = '_';

const CONTROL: ReadonlySet<string> = new Set([A.authSuccess, A.authError, A.intentEnabled, A.intentDisabled]);
const STATES: ReadonlySet<string> = new Set(SERVER_STATES);

/** Parses a text frame. null: not JSON, not an object, or no non-empty string `action`. */
export function decodeFrame(text: string): PanelPacket | null {
  const value = parseJson(text);
  if (!EnvelopeCheck.Check(value)) return null;
  return { action: value.action, data: value.data === undefined ? {} : value.data };
}

/**
 * Formats a packet as Semoxy does (`action` first, then `data`). Data that JSON cannot carry
 * (a cycle, a BigInt) is written as `{}` rather than thrown: the caller handed in a bad packet,
 * and a socket handler must not die of it.
 */
export function encodeFrame(p: PanelPacket): string {
  let data: string | undefined;
  try {
    data = JSON.stringify(p.data);
  } catch {
    data = undefined;
  }
  return '{"action":' + JSON.stringify(String(p.action)) + ',"data":' + (data ?? '{}') + '}';
}

/** True for the actions the upstream link handles itself (auth and intent acknowledgements). */
export function isControlAction(action: string): boolean {
  return CONTROL.has(action);
}

/** `onlineStatus` 0–3 → canonical state; null for anything else. */
export function stateOfOnlineStatus(status: unknown): ServerState | null {
  return typeof status === 'number' && Number.isInteger(status) ? (ONLINE_STATUS[status] ?? null) : null;
}

/** Canonical state → `onlineStatus`; null for anything else. */
export function onlineStatusOf(state: unknown): number | null {
  return typeof state === 'string' && STATES.has(state) ? ONLINE_STATUS.indexOf(state as ServerState) : null;
}

// ---- upstream direction --------------------------------------------------------------------------

type Reader = (data: unknown, state: (id: string) => ServerState | undefined) => PanelEvent[] | null;

const INBOUND: ReadonlyMap<string, Reader> = new Map<string, Reader>([
  [A.stateChange, (d) => {
    if (!StateChangeCheck.Check(d)) return null;
    const state = stateOfOnlineStatus((d.patch as Record<string, unknown>).onlineStatus);
    // One change, one event. A patch that moves the power state is a status change every dialect
    // understands; it carries the whole patch, which the panel dialect writes back verbatim. Any
    // other patch is server.patch, which only the panel dialect (and CloudEvents) can say.
    return [state === null ? { type: T.serverPatch, id: d.id, data: { patch: d.patch } } : { type: T.serverStatus, id: d.id, data: { state, patch: d.patch } }];
  }],
  [A.consoleLine, (d) => (ConsoleLineCheck.Check(d) ? [{ type: T.serverConsole, id: d.id, data: { line: d.message } }] : null)],
  // v2 writes the event layout {serverId, eventData: {message}, id}; intermediate builds and other
  // bridges write the v1 layout {id, message} under the v2 action. Both are one console line.
  [A.consoleMessage, (d) => {
    if (ConsoleMessageCheck.Check(d)) return [{ type: T.serverConsole, id: d.serverId, data: { line: d.eventData.message } }];
    return ConsoleLineCheck.Check(d) ? [{ type: T.serverConsole, id: d.id, data: { line: d.message } }] : null;
  }],
  [A.meta, (d) => (MetaCheck.Check(d) ? [{ type: T.upstreamMessage, id: UPSTREAM_ID, data: { message: d.message } }] : null)],
  [A.serverAdd, (d) => (ServerObjectCheck.Check(d) ? [{ type: T.serverAdded, id: d.id, data: { server: d } }] : null)],
  [A.serverDelete, (d) => (ServerDeleteCheck.Check(d) ? [{ type: T.serverRemoved, id: d.id, data: {} }] : null)],
  [A.addonAdd, (d) => (AddonAddCheck.Check(d) ? [{ type: T.serverAddonAdded, id: d.serverId, data: { addon: d.addon } }] : null)],
  [A.addonDelete, (d) => (AddonDeleteCheck.Check(d) ? [{ type: T.serverAddonRemoved, id: d.serverId, data: { addonId: d.id } }] : null)],
  [A.statUpdate, (d, state) => (StatUpdateCheck.Check(d) ? [{ type: T.serverStats, id: d.serverId, data: statsFromWire(d, state(d.serverId)) }] : null)],
]);

/** True for the server actions the relay reads: a frame of one of these that does not fit is a bad frame, not an unknown one. */
export function isKnownServerAction(action: string): boolean {
  return INBOUND.has(action);
}

/**
 * Upstream direction: a server packet → its canonical events (one per packet today:
 * SERVER_STATE_CHANGE with an `onlineStatus` is `server.status` with the patch, without one
 * `server.patch`). null for control actions,
 * unknown actions (e.g. v2's SERVER_START or PLAYER_JOIN event packets) and data that does not fit.
 * `state` tells the last known power state of a server, which STAT_UPDATE does not carry.
 */
export function packetToEvents(p: PanelPacket, state: (id: string) => ServerState | undefined = () => undefined): PanelEvent[] | null {
  if (typeof p !== 'object' || p === null || typeof p.action !== 'string') return null;
  const read = INBOUND.get(p.action);
  return read === undefined ? null : read(p.data, state);
}

/**
 * STAT_UPDATE → canonical stats. Semoxy measures RAM in kB (rss / 1000) and CPU as a percentage of
 * the whole machine; the relay cannot know the core count, so the CPU number passes through as
 * `cpuAbsolute`. Everything Semoxy does not report is 0. A server still streaming stats is running
 * unless the link saw another state.
 */
export function statsFromWire(d: StatUpdateData, state: ServerState = 'running'): ServerStatsData {
  return {
    memoryBytes: (d.ramUsage ?? 0) * 1000,
    memoryLimitBytes: 0,
    cpuAbsolute: d.cpuUsage ?? 0,
    network: { rxBytes: 0, txBytes: 0 },
    uptimeMs: 0,
    diskBytes: 0,
    state,
  };
}

// ---- downstream direction -----------------------------------------------------------------------

type Writer = (e: BridgeEvent, version: PanelVersion) => PanelPacket | null;

const meta: Writer = (e) => (MessageDataCheck.Check(e.data) ? { action: A.meta, data: { message: e.data.message } } : null);

/**
 * A Semoxy patch as a dashboard of `version` gets it. A v1 client clears its console on the
 * `consoleOut: []` that comes with a start. A v2 panel never sends one, so v1 sessions get it added;
 * from a v1 panel the clear then arrives twice, which changes nothing (no line can come between the
 * two packets).
 */
function stateChange(id: string, patch: Record<string, unknown>, version: PanelVersion): PanelPacket {
  const v1Start = version === 'v1' && patch.onlineStatus === 1 && !Object.hasOwn(patch, 'consoleOut');
  return { action: A.stateChange, data: { id, patch: v1Start ? { ...patch, consoleOut: [] } : patch } };
}

const OUTBOUND: ReadonlyMap<string, Writer> = new Map<EventType, Writer>([
  [T.serverStatus, (e, version) => {
    // A Semoxy state change comes with its own patch: written back as Semoxy sent it.
    if (PatchDataCheck.Check(e.data)) return stateChange(e.subject, e.data.patch, version);
    const status = onlineStatusOf(field(e.data, 'state'));
    if (status === null) return null;
    // Semoxy clears every client's console when a server starts (`consoleOut: []`).
    const patch = status === 1 ? { onlineStatus: 1, consoleOut: [] } : { onlineStatus: status };
    return { action: A.stateChange, data: { id: e.subject, patch } };
  }],
  [T.serverPatch, (e, version) => (PatchDataCheck.Check(e.data) ? stateChange(e.subject, e.data.patch, version) : null)],
  [T.serverConsole, (e, version) => {
    if (!LineDataCheck.Check(e.data)) return null;
    const message = e.data.line;
    return version === 'v2'
      ? { action: A.consoleMessage, data: { serverId: e.subject, eventData: { message }, id: eventObjectId(e.id) } }
      : { action: A.consoleLine, data: { id: e.subject, message } };
  }],
  // v1 had no stats packet; a v1 dashboard would not know what to do with one.
  [T.serverStats, (e, version) => {
    if (version !== 'v2' || !StatsDataCheck.Check(e.data)) return null;
    const d = e.data;
    return { action: A.statUpdate, data: { serverId: e.subject, ramUsage: Math.round(d.memoryBytes / 1000), cpuUsage: Math.round(d.cpuAbsolute * 100) / 100 } };
  }],
  [T.serverAdded, (e) => (ServerDataCheck.Check(e.data) ? { action: A.serverAdd, data: { id: e.subject, ...e.data.server } } : null)],
  [T.serverRemoved, (e) => ({ action: A.serverDelete, data: { id: e.subject } })],
  [T.serverAddonAdded, (e) => (AddonDataCheck.Check(e.data) ? { action: A.addonAdd, data: { serverId: e.subject, addon: e.data.addon } } : null)],
  [T.serverAddonRemoved, (e) => (AddonRemovedDataCheck.Check(e.data) ? { action: A.addonDelete, data: { serverId: e.subject, id: e.data.addonId } } : null)],
  // Other protocols' daemon messages (Wings) are what Semoxy calls meta messages.
  [T.serverDaemonMessage, meta],
  [T.upstreamMessage, meta],
  // A link gone for good (a suspended Wings server) is told as a meta message; other link states
  // are not shown (see encode).
  [LINK_STATE_TYPE, (e) => (LinkStateDataCheck.Check(e.data) && e.data.state === 'failed'
    ? { action: A.meta, data: { message: linkFailedMessage(eventUpstream(e), e.data.resource, e.data.id, e.data.reason) } }
    : null)],
]);

/** The version a session variant stands for; anything but `v2` is read as v1. */
export function versionOf(variant: string): PanelVersion {
  return variant === 'v2' ? 'v2' : 'v1';
}

/** Downstream direction: canonical event → the packet a dashboard of `variant` gets; null = unmapped. */
export function eventToPacket(e: BridgeEvent, variant: string): PanelPacket | null {
  if (typeof e !== 'object' || e === null || typeof e.subject !== 'string') return null;
  const write = OUTBOUND.get(e.type);
  return write === undefined ? null : write(e, versionOf(variant));
}

/**
 * The EventEncoder of the panel dialect: encodeFrame(eventToPacket(e, variant)) or null. A link
 * state other than `failed` is the empty frame: a Semoxy dashboard has nothing to be told about a
 * link reconnecting, which is not the same as a type the dialect cannot express (counted unmapped).
 */
export const encode: EventEncoder = function encodePanel(e, variant) {
  const p = eventToPacket(e, variant);
  if (p === null) return e?.type === LINK_STATE_TYPE ? '' : null;
  return encodeFrame(p);
};

/**
 * A stable 24-hex id for a relayed console event (Semoxy sends the stored event's ObjectId): the
 * first 24 hex digits of the BridgeEvent id, so every session gets the same bytes for one event.
 */
export function eventObjectId(id: string): string {
  return String(id).toLowerCase().replace(/[^0-9a-f]/g, '').slice(0, 24).padEnd(24, '0');
}

// ---- intents (v2) -------------------------------------------------------------------------------

/** The intent family that gates an event type on a v2 session; null when the type is not gated. */
export function intentFamilyOf(type: string): IntentFamily | null {
  if (type === T.serverConsole) return INTENT_FAMILIES.console;
  if (type === T.serverStats) return INTENT_FAMILIES.stat;
  return null;
}

/** Whether enabled intents let a `family` event about server `id` through (`<family>.*` or `<family>.<id>`). */
export function intentAllows(intents: ReadonlySet<string>, family: IntentFamily, id: string): boolean {
  return intents.has(`${family}.*`) || intents.has(`${family}.${id}`);
}

// ---- helpers ------------------------------------------------------------------------------------

function field(data: unknown, key: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[key] : undefined;
}
