/**
 * Semoxy panel-event vocabulary (`{action, data}` frames): action names, the fixed texts and HTTP
 * bodies of the real server (REAL-BEHAVIOUR.md "Semoxy", and Semoxy's `util.requires_ticket` /
 * `util.requires_login` of the ticket era), the online-status numbering and the intent grammar.
 */
import type { ServerState } from '../../src/adapter-kit.ts';

/** The adapter's `protocol` / `dialect` name. */
export const PROTOCOL = 'panel';

/** Actions the server sends. v1 is the ticket era (the document); v2 the AUTHENTICATE era. */
export const SERVER_ACTIONS = {
  stateChange: 'SERVER_STATE_CHANGE',
  /** v1 console line `{id, message}`. */
  consoleLine: 'CONSOLE_LINE',
  /** v2 console line, a Semoxy `EventPacket`: `{serverId, eventData: {message}, id: <event id>}`. */
  consoleMessage: 'CONSOLE_MESSAGE',
  meta: 'META_MESSAGE',
  serverAdd: 'SERVER_ADD',
  serverDelete: 'SERVER_DELETE',
  addonAdd: 'ADDON_ADD',
  addonDelete: 'ADDON_DELETE',
  /** v2 only: `{serverId, ramUsage (kB), cpuUsage (% of the whole machine)}`. */
  statUpdate: 'STAT_UPDATE',
  authSuccess: 'AUTH_SUCCESS',
  authError: 'AUTH_ERROR',
  intentEnabled: 'INTENT_ENABLED',
  intentDisabled: 'INTENT_DISABLED',
} as const;
export type ServerAction = (typeof SERVER_ACTIONS)[keyof typeof SERVER_ACTIONS];

/** Actions a v2 client sends. A v1 client sends nothing the server acts on. */
export const CLIENT_ACTIONS = {
  authenticate: 'AUTHENTICATE',
  enableIntent: 'ENABLE_INTENT',
  disableIntent: 'DISABLE_INTENT',
} as const;

/** Texts of META_MESSAGE and AUTH_ERROR, exactly as Semoxy sends them. */
export const MESSAGES = {
  /** The ticket-era answer to every client frame (the socket stays open). */
  useHttp: "Don't send messages via websocket, use http endpoints instead",
  malformed: 'malformed packet',
  invalidSession: 'invalid session',
  sessionExpired: 'session expired',
  notAuthenticated: 'you are not authenticated',
} as const;

/**
 * The META_MESSAGE a dashboard gets when a link that carries servers it sees is gone for good (a
 * Wings server suspended upstream): Semoxy has no such state, and META_MESSAGE is how it tells
 * every client something about the panel.
 */
export function linkFailedMessage(upstream: string, resource: string, id: string, reason: string): string {
  const what = id === '_' ? upstream : `${upstream} ${resource} ${id}`;
  return `${what} is unavailable: ${reason}`;
}

/** v2's answer to an action it does not know. */
export function unsupportedAction(action: string): string {
  return `unsupported action: ${action}`;
}

/** Ticket-era HTTP error bodies (`{error, status, description}`), from Semoxy's decorators. */
export const HTTP_ERRORS = {
  notLoggedIn: { error: 'Not Logged In', status: 401, description: 'you need to be logged in to use this' },
  noTicket: { error: 'No Ticket Provided', status: 401, description: 'open a ticket using /account/ticket' },
  ticketExpired: { error: 'Ticket expired', status: 401, description: 'please open a new ticket' },
  invalidTicket: { error: 'Invalid Ticket', status: 401, description: 'open a ticket using /account/ticket' },
  /** The relay's own, in Semoxy's shape: the cluster's ticket store (NATS) cannot answer now. */
  ticketsUnavailable: { error: 'Service Unavailable', status: 503, description: 'tickets cannot be issued or checked right now, please retry' },
} as const;

/** The `success` text of a ticket response. */
export const TICKET_CREATED = 'ticket created';

/**
 * Paths of the real server, relative to its API base. `servers` is Semoxy's server list
 * (`GET /server/`, any logged-in session as `Authorization: Bearer|Token <sid>`): a JSON array of
 * server objects, each with its `onlineStatus`, in both eras.
 */
export const PATHS = { ticket: '/account/ticket', events: '/server/events', servers: '/server/' } as const;

/** `onlineStatus` numbering: 0 offline, 1 starting, 2 online (canonical `running`), 3 stopping. */
export const ONLINE_STATUS: readonly ServerState[] = ['offline', 'starting', 'running', 'stopping'];

/** Semoxy's socket library pings every 20 s (websockets' `ping_interval`); there is no app heartbeat. */
export const PROTOCOL_PING_MS = 20_000;

/** Intent families a v2 client enables: `console.<id>` / `console.*`, `stat.<id>` / `stat.*`. */
export const INTENT_FAMILIES = { console: 'console', stat: 'stat' } as const;
export type IntentFamily = (typeof INTENT_FAMILIES)[keyof typeof INTENT_FAMILIES];

/** Intent strings default to what a bot user of Semoxy asks for: every console and every stat. */
export const DEFAULT_INTENTS: readonly string[] = ['console.*', 'stat.*'];
