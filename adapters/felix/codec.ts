/**
 * The pure codec of FelixBot's websocket: text frame ⇄ {@link FelixPacket} ⇄ canonical event. No
 * I/O, no timers, no logging, and no function here throws, whatever it is fed: a frame that does
 * not fit is `null`, and the caller counts it (Felix itself ignores bad frames without a reply).
 */
import { parseJson, type BridgeEvent, type EventEncoder } from '../../src/adapter-kit.ts';
import {
  BotHealthDataCheck,
  FrameCheck,
  GuildUpdateWireCheck,
  GuildUpdatedDataCheck,
  HeartbeatAckWireCheck,
  ListenersWireCheck,
  UserUpdateWireCheck,
  UserUpdatedDataCheck,
  type BotHealthData,
  type GuildUpdatedData,
  type HeartbeatAckWire,
  type ListenersWire,
  type UserUpdatedData,
} from './schema.ts';
import { BOT_ID, CLIENT_CODES, EVENT_TYPES, SERVER_CODES, SERVER_NAMES, type ServerCode } from './vocabulary.ts';

/** A parsed frame. `data` is undefined when the frame had none; `name` is kept only when a string. */
export interface FelixPacket {
  readonly code: number;
  readonly data: unknown;
  readonly name?: string;
}

/** A canonical event read from a server frame: its type, the resource id it is about, its data. */
export interface FelixEvent {
  readonly type: string;
  readonly id: string;
  readonly data: unknown;
}

/** What a client sends to keep the socket alive; it carries no data. */
export const HEARTBEAT_FRAME = encodeFrame({ code: CLIENT_CODES.heartbeat, data: undefined });

const SERVER_CODE_SET: ReadonlySet<number> = new Set(Object.values(SERVER_CODES));

/**
 * Parses a text frame. null: not JSON, not an object, `code` missing, not a finite number, or 0
 * (Felix skips falsy codes). Extra keys are tolerated; `name` is kept when it is a string.
 */
export function decodeFrame(text: string): FelixPacket | null {
  const value = parseJson(text);
  if (!FrameCheck.Check(value) || value.code === 0) return null;
  return typeof value.name === 'string' ? { code: value.code, data: value.data, name: value.name } : { code: value.code, data: value.data };
}

/**
 * Formats a frame in Felix's key order: code, name, data. `data` is omitted when undefined (or
 * when it cannot be written as JSON, which a packet from {@link decodeFrame} never has).
 */
export function encodeFrame(p: FelixPacket): string {
  let out = '{"code":' + (Number.isFinite(p?.code) ? String(p.code) : '0');
  if (typeof p?.name === 'string') out += ',"name":' + JSON.stringify(p.name);
  const data = p?.data === undefined ? undefined : stringify(p.data);
  if (data !== undefined) out += ',"data":' + data;
  return out + '}';
}

/** True for the codes a Felix server sends (10001–10003). */
export function isServerCode(code: number): code is ServerCode {
  return SERVER_CODE_SET.has(code);
}

/**
 * Upstream direction: a server frame → canonical event. `10001` → `bot.health` about `_`,
 * `10002` → `guild.updated` about the guild, `10003` → `user.updated` about the user. null for
 * client codes, unknown codes, and data that does not fit.
 */
export function packetToEvent(p: FelixPacket): FelixEvent | null {
  switch (p?.code) {
    case SERVER_CODES.heartbeatAck: {
      const data = healthFromWire(p.data);
      return data && { type: EVENT_TYPES.health, id: BOT_ID, data };
    }
    case SERVER_CODES.guildUpdate: {
      if (!GuildUpdateWireCheck.Check(p.data)) return null;
      const data: GuildUpdatedData = { guildId: p.data.guildID, data: p.data.guildData };
      return { type: EVENT_TYPES.guildUpdated, id: data.guildId, data };
    }
    case SERVER_CODES.userUpdate: {
      if (!UserUpdateWireCheck.Check(p.data)) return null;
      const data: UserUpdatedData = { userId: p.data.userID, data: p.data.userData };
      return { type: EVENT_TYPES.userUpdated, id: data.userId, data };
    }
    default:
      return null;
  }
}

/** Reads `10001` data into canonical `bot.health`; null when it does not fit. */
export function healthFromWire(data: unknown): BotHealthData | null {
  if (!HeartbeatAckWireCheck.Check(data)) return null;
  const memoryUsageMb = parseMemoryMb(data.memoryUsage);
  if (memoryUsageMb === null) return null;
  return { receivedAt: data.receivedAt, shards: data.shards, guildsCount: data.guildsCount, memoryUsageMb, uptimeMs: data.uptime };
}

/** Writes canonical `bot.health` as `10001` data, `memoryUsage` as the real server's string. */
export function healthToWire(d: BotHealthData): HeartbeatAckWire {
  return { receivedAt: d.receivedAt, shards: d.shards, guildsCount: d.guildsCount, memoryUsage: formatMemoryMb(d.memoryUsageMb), uptime: d.uptimeMs };
}

/** MB with two decimals, as Felix formats its heap usage ("4.85"). */
export function formatMemoryMb(mb: number): string {
  return mb.toFixed(2);
}

/** The MB of a `memoryUsage`: the real string ("4.85"), or the documented number. null when neither. */
export function parseMemoryMb(value: string | number): number | null {
  const mb = typeof value === 'number' ? value : value.trim() === '' ? NaN : Number(value);
  return Number.isFinite(mb) ? mb : null;
}

// ---- downstream direction ---------------------------------------------------------------------

/** Downstream direction: canonical event → the packet a Felix dashboard gets; null = unmapped. */
export function eventToPacket(e: BridgeEvent): FelixPacket | null {
  switch (e?.type) {
    case EVENT_TYPES.health:
      return BotHealthDataCheck.Check(e.data) ? serverPacket(SERVER_CODES.heartbeatAck, healthToWire(e.data)) : null;
    case EVENT_TYPES.guildUpdated:
      return GuildUpdatedDataCheck.Check(e.data) ? serverPacket(SERVER_CODES.guildUpdate, { guildID: e.data.guildId, guildData: e.data.data ?? null }) : null;
    case EVENT_TYPES.userUpdated:
      return UserUpdatedDataCheck.Check(e.data) ? serverPacket(SERVER_CODES.userUpdate, { userID: e.data.userId, userData: e.data.data ?? null }) : null;
    default:
      return null;
  }
}

/** The EventEncoder of the felix dialect: one frame per event, the same for every variant. */
export const encode: EventEncoder = function encodeFelix(e) {
  const p = eventToPacket(e);
  return p === null ? null : encodeFrame(p);
};

/** The `10001` a dashboard gets when the relay has no `bot.health` yet: zeros, received now. */
export function zeroAckFrame(now: number): string {
  return encodeFrame(serverPacket(SERVER_CODES.heartbeatAck, healthToWire({ receivedAt: now, shards: [], guildsCount: 0, memoryUsageMb: 0, uptimeMs: 0 })));
}

// ---- listeners (20002) ------------------------------------------------------------------------

/** `20002` data → the two lists, de-duplicated in order; null unless both are arrays of strings. */
export function listenersFromData(data: unknown): ListenersWire | null {
  if (!ListenersWireCheck.Check(data)) return null;
  return { users: [...new Set(data.users)], guilds: [...new Set(data.guilds)] };
}

/** The `20002` frame that makes Felix send updates about exactly these users and guilds. */
export function listenersFrame(users: Iterable<string>, guilds: Iterable<string>): string {
  return encodeFrame({ code: CLIENT_CODES.listenersUpdate, data: { users: [...users], guilds: [...guilds] } });
}

// ---- helpers ----------------------------------------------------------------------------------

function serverPacket(code: ServerCode, data: unknown): FelixPacket {
  return { code, name: SERVER_NAMES[code], data };
}

/** JSON.stringify that cannot throw (cycles, BigInt); undefined when the value has no JSON form. */
function stringify(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
