/**
 * FelixBot websocket vocabulary: the numeric `code`s of `{code, data}` frames, the `name` every
 * server frame carries (REAL-BEHAVIOUR.md, "FelixBot"; not in the public document), and the fixed
 * values both roles share.
 */
import { EVENT_TYPES as CANONICAL } from '../../src/adapter-kit.ts';

/** The adapter's `protocol` / `dialect` value. */
export const PROTOCOL = 'felix';

/** Codes a client sends. */
export const CLIENT_CODES = {
  /** Advisory keep-alive, ~1 s; answered at once with `10001`. */
  heartbeat: 20001,
  /** `{users, guilds}`: replaces the lists of ids the socket listens to. No acknowledgement. */
  listenersUpdate: 20002,
} as const;
export type ClientCode = (typeof CLIENT_CODES)[keyof typeof CLIENT_CODES];

/** Codes the server sends. */
export const SERVER_CODES = {
  heartbeatAck: 10001,
  guildUpdate: 10002,
  userUpdate: 10003,
} as const;
export type ServerCode = (typeof SERVER_CODES)[keyof typeof SERVER_CODES];

/** The `name` of each server frame, exactly as Felix writes it. */
export const SERVER_NAMES: Readonly<Record<ServerCode, string>> = {
  [SERVER_CODES.heartbeatAck]: 'Heartbeat ACK',
  [SERVER_CODES.guildUpdate]: 'GDB Update',
  [SERVER_CODES.userUpdate]: 'UDB Update',
};

/** Resource families of the bus subjects this protocol touches. */
export const RESOURCES = {
  /** The one link of a Felix upstream: the bot socket itself. */
  bot: 'bot',
  guild: 'guild',
  user: 'user',
} as const;

/** The id of the bot resource: one socket per upstream, so there is nothing to tell apart. */
export const BOT_ID = '_';

/** Canonical event types of the bot family (DESIGN §3). */
export const EVENT_TYPES = {
  health: CANONICAL.botHealth,
  guildUpdated: CANONICAL.guildUpdated,
  userUpdated: CANONICAL.userUpdated,
} as const;

/** Felix's own cadences: clients heartbeat about every second; the server pings every 30 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000;
export const DEFAULT_PING_INTERVAL_MS = 30_000;
