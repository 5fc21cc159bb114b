/**
 * The CloudEvents dialect's vocabulary: the `op` names of its control messages, the error codes
 * its replies use, and the limits on subscription subjects.
 *
 * The dialect is the relay's own: the event on the wire IS the BridgeEvent (CloudEvents 1.0,
 * structured JSON mode), and the only other frames are these small `op` messages.
 */

/**
 * Messages a client sends. `auth` carries the client key in the socket's first frame, for clients
 * that cannot set an Authorization header on the upgrade (browsers).
 */
export const CLIENT_OPS = {
  auth: 'auth',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
} as const;
export type ClientOp = (typeof CLIENT_OPS)[keyof typeof CLIENT_OPS];

/** Replies the server sends (events themselves carry no `op`: they are bare BridgeEvents). */
export const SERVER_OPS = {
  authenticated: 'authenticated',
  subscribed: 'subscribed',
  unsubscribed: 'unsubscribed',
  error: 'error',
} as const;
export type ServerOp = (typeof SERVER_OPS)[keyof typeof SERVER_OPS];

/**
 * The `code` of an error reply, a subset of the BRIDGE_ERR_* table in src/errors.ts:
 * - `BAD_FRAME`: not JSON, not a known op, a malformed subject, or `auth` on a socket already authenticated;
 * - `UNAUTHORIZED`: an `auth` key that is not known, or a subscription before the socket authenticated;
 * - `FORBIDDEN`: the client's grants do not cover the subject;
 * - `NOT_FOUND`: the upstream is granted but this listener does not serve it;
 * - `TOO_LARGE`: the session already holds `maxSubscriptions` subjects.
 */
export const REPLY_ERRORS = {
  badFrame: 'BRIDGE_ERR_BAD_FRAME',
  unauthorized: 'BRIDGE_ERR_UNAUTHORIZED',
  forbidden: 'BRIDGE_ERR_FORBIDDEN',
  notFound: 'BRIDGE_ERR_NOT_FOUND',
  tooMany: 'BRIDGE_ERR_TOO_LARGE',
} as const;
export type ReplyError = (typeof REPLY_ERRORS)[keyof typeof REPLY_ERRORS];

/** NATS wildcards, as they appear in a subscription subject. */
export const WILDCARDS = { one: '*', rest: '>' } as const;

/** Bounds on a client's subject (relative to `<prefix>.evt.`), checked before any bus call. */
export const SUBJECT_LIMITS = {
  /** Tokens: upstream, resource, id and at most 13 event tokens. */
  maxTokens: 16,
  /** Characters of the whole subject. */
  maxLength: 256,
  /** A subject without `>` names upstream, resource, id and at least one event token. */
  minLiteralTokens: 4,
} as const;

/**
 * Inbound events that already crossed this many relays are not republished (loop prevention).
 * The count is the event's `bridgehop` attribute.
 */
export const MAX_HOPS = 8;

/** The WebSocket path of both the listener (default) and the simulator. */
export const DEFAULT_PATH = '/cloudevents';
