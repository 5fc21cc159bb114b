/**
 * Pterodactyl Wings websocket vocabulary: the `event` names of `{event, args}` frames, the JWT
 * error texts, permission names and the fixed strings of REAL-BEHAVIOUR.md.
 */

/** Events a client sends. */
export const CLIENT_EVENTS = {
  auth: 'auth',
  setState: 'set state',
  sendCommand: 'send command',
  sendLogs: 'send logs',
  sendStats: 'send stats',
} as const;
export type ClientEvent = (typeof CLIENT_EVENTS)[keyof typeof CLIENT_EVENTS];

/** Events the server sends. */
export const SERVER_EVENTS = {
  authSuccess: 'auth success',
  backupCompleted: 'backup completed',
  /** The document's name; real Wings sends `backup completed`. Accepted inbound only. */
  backupCompleteDoc: 'backup complete',
  backupRestoreCompleted: 'backup restore completed',
  consoleOutput: 'console output',
  daemonError: 'daemon error',
  daemonMessage: 'daemon message',
  installCompleted: 'install completed',
  installOutput: 'install output',
  installStarted: 'install started',
  jwtError: 'jwt error',
  stats: 'stats',
  status: 'status',
  tokenExpired: 'token expired',
  tokenExpiring: 'token expiring',
  transferLogs: 'transfer logs',
  transferStatus: 'transfer status',
  deleted: 'deleted',
  throttled: 'throttled',
} as const;
export type ServerEvent = (typeof SERVER_EVENTS)[keyof typeof SERVER_EVENTS];

/** `jwt error` texts, exactly as Wings sends them. */
export const JWT_ERRORS = {
  expired: 'jwt: exp claim is invalid',
  notPresent: 'jwt: no jwt present',
  missingConnect: 'jwt: missing connect permission',
  uuidMismatch: 'jwt: server uuid mismatch',
  denylist: 'jwt: created too far in past (denylist)',
} as const;

/** The text of a `daemon error` for a client without `admin.websocket.errors`. */
export const GENERIC_DAEMON_ERROR = 'an unexpected error was encountered while handling this request';

export const PERMISSIONS = {
  connect: 'websocket.connect',
  console: 'control.console',
  start: 'control.start',
  stop: 'control.stop',
  restart: 'control.restart',
  install: 'admin.websocket.install',
  transfer: 'admin.websocket.transfer',
  errors: 'admin.websocket.errors',
  backupRead: 'backup.read',
} as const;

/** HTTP bodies of the real daemon. */
export const HTTP_ERRORS = {
  notFound: 'The requested resource does not exist on this instance.',
  tooMany: 'Too many open websocket connections.',
} as const;

/** Close codes Wings uses: a suspended server, and a refused connection. Both are terminal. */
export const CLOSE_CODES = { suspended: 4409, rejected: 4400 } as const;

/** `send logs` answers with at most this many console lines. */
export const LOG_LINES = 150;
