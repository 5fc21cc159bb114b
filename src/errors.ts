/**
 * One table of errors and disconnects. Every close the relay initiates, downstream or upstream,
 * names a row here, so every close carries a code and a reason; every error a caller can act on
 * has a stable BRIDGE_ERR_* code. Each close code has exactly one meaning (one row).
 *
 * Close-code ranges (as the reconnect policy reads them; test/unit/errors.test.ts enforces them):
 *   1000–1015  standard WebSocket codes;
 *   4000–4099  protocol-native codes a real server uses (`native` names the protocol);
 *   4100–4199  relay codes after which a client should reconnect (with backoff);
 *   4400–4499  terminal: reconnecting will not help until something changes (Wings 4400, 4409).
 * Rows with `close: null` only ever refuse an HTTP request or an upgrade.
 */

export interface ErrorSpec {
  /** WebSocket close code sent when this error ends a session; null for HTTP-only errors. */
  readonly close: number | null;
  /** HTTP status when the error refuses a request or an upgrade. */
  readonly http: number;
  /** Close reason / default message (≤ 123 bytes, the WebSocket limit). */
  readonly reason: string;
  /** Whether a client should reconnect after it. */
  readonly reconnect: boolean;
  /** For 4000–4099: the protocol whose own code this is. */
  readonly native?: string;
}

export const ERRORS = {
  // 1000–1015: standard codes.
  BRIDGE_ERR_NORMAL: { close: 1000, http: 200, reason: 'normal closure', reconnect: false },
  BRIDGE_ERR_SHUTDOWN: { close: 1001, http: 503, reason: 'relay shutting down', reconnect: true },
  BRIDGE_ERR_PROTOCOL: { close: 1002, http: 400, reason: 'protocol error', reconnect: false },
  BRIDGE_ERR_UNSUPPORTED_DATA: { close: 1003, http: 400, reason: 'unsupported data', reconnect: false },
  BRIDGE_ERR_BAD_FRAME: { close: 1007, http: 400, reason: 'invalid frame payload', reconnect: false },
  BRIDGE_ERR_UNAUTHORIZED: { close: 1008, http: 401, reason: 'unauthorized', reconnect: false },
  BRIDGE_ERR_TOO_LARGE: { close: 1009, http: 413, reason: 'message too large', reconnect: false },
  BRIDGE_ERR_INTERNAL: { close: 1011, http: 500, reason: 'internal error', reconnect: true },
  BRIDGE_ERR_NOT_FOUND: { close: 1014, http: 404, reason: 'unknown resource', reconnect: false },

  // HTTP only.
  BRIDGE_ERR_BAD_REQUEST: { close: null, http: 400, reason: 'bad request', reconnect: false },
  BRIDGE_ERR_HOST_NOT_ALLOWED: { close: null, http: 421, reason: 'host not served here', reconnect: false },
  BRIDGE_ERR_CONFIG: { close: null, http: 500, reason: 'invalid configuration', reconnect: false },
  /** The port is bound before the listeners are mounted: only /healthz, /readyz and /metrics answer until then. */
  BRIDGE_ERR_STARTING: { close: null, http: 503, reason: 'relay starting', reconnect: true },

  // 4000–4099: protocol-native.
  /** anonroom ends a participant's socket with 4001 (missed heartbeat, or kicked in the later version). */
  BRIDGE_ERR_ROOM_SESSION_ENDED: { close: 4001, http: 410, reason: 'room session ended', reconnect: true, native: 'gateway' },

  // 4100–4199: relay codes, reconnect with backoff.
  BRIDGE_ERR_HEARTBEAT_TIMEOUT: { close: 4101, http: 408, reason: 'heartbeat timeout', reconnect: true },
  BRIDGE_ERR_AUTH_TIMEOUT: { close: 4103, http: 408, reason: 'authentication timeout', reconnect: true },
  BRIDGE_ERR_UPSTREAM_UNAVAILABLE: { close: 4104, http: 503, reason: 'upstream unavailable', reconnect: true },
  BRIDGE_ERR_COMMAND_TIMEOUT: { close: 4105, http: 504, reason: 'command timed out', reconnect: true },
  BRIDGE_ERR_UPSTREAM_TIMEOUT: { close: 4106, http: 504, reason: 'upstream did not answer in time', reconnect: true },
  BRIDGE_ERR_UPSTREAM_AUTH: { close: 4107, http: 502, reason: 'upstream refused the credential', reconnect: true },
  BRIDGE_ERR_SLOW_CONSUMER: { close: 4108, http: 503, reason: 'slow consumer', reconnect: true },
  BRIDGE_ERR_INBOUND_OVERFLOW: { close: 4109, http: 429, reason: 'too many frames', reconnect: true },
  BRIDGE_ERR_CAPACITY: { close: 4113, http: 503, reason: 'relay at connection capacity', reconnect: true },
  BRIDGE_ERR_ADDRESS_LIMIT: { close: 4114, http: 429, reason: 'too many connections from this address', reconnect: true },
  BRIDGE_ERR_AUTH_FAILURES: { close: 4115, http: 429, reason: 'too many failed authentications', reconnect: true },
  /** The credential a session was opened with (an app JWT) has expired: reconnect with a fresh one. */
  BRIDGE_ERR_CREDENTIAL_EXPIRED: { close: 4116, http: 401, reason: 'credential expired', reconnect: true },
  BRIDGE_ERR_RATE_LIMITED: { close: 4129, http: 429, reason: 'rate limited', reconnect: true },

  // 4400–4499: terminal.
  BRIDGE_ERR_UPSTREAM_REJECTED: { close: 4400, http: 400, reason: 'upstream rejected the connection', reconnect: false },
  BRIDGE_ERR_FORBIDDEN: { close: 4403, http: 403, reason: 'forbidden', reconnect: false },
  BRIDGE_ERR_SUSPENDED: { close: 4409, http: 409, reason: 'server suspended', reconnect: false },
} as const satisfies Record<string, ErrorSpec>;

export type BridgeErrorCode = keyof typeof ERRORS;

/** The codes whose rows can end a WebSocket (a close code is set). */
export type CloseErrorCode = { [K in BridgeErrorCode]: (typeof ERRORS)[K]['close'] extends number ? K : never }[BridgeErrorCode];

/** An error a caller can act on: a stable code, the close code it maps to, and the cause. */
export class BridgeError extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].reason, options);
    this.name = 'BridgeError';
    this.code = code;
  }

  get closeCode(): number | null {
    return ERRORS[this.code].close;
  }
}

/** Keeps whole code points of `text` within `bytes` UTF-8 bytes, so no character is cut in half. */
function fit(text: string, bytes: number): string {
  if (Buffer.byteLength(text) <= bytes) return text;
  const chars = Array.from(text);
  while (Buffer.byteLength(chars.join('')) > bytes) chars.pop();
  return chars.join('');
}

/** A close code and a reason that fits in a close frame (123 bytes). */
export function closeFrame(code: CloseErrorCode, detail?: string): { code: number; reason: string } {
  const spec = ERRORS[code];
  return { code: spec.close, reason: fit(detail ? `${spec.reason}: ${detail}` : spec.reason, 123) };
}

/**
 * `code` when it names a row that can end a WebSocket, else `fallback`. For codes that travelled
 * as data (a failed link's `upstream.state` carries its row), which a listener passes on as a close.
 */
export function closingRow(code: unknown, fallback: CloseErrorCode): CloseErrorCode {
  const spec = typeof code === 'string' && Object.hasOwn(ERRORS, code) ? (ERRORS as Record<string, ErrorSpec>)[code] : undefined;
  return spec !== undefined && spec.close !== null ? (code as CloseErrorCode) : fallback;
}

/** The row of a close code, for closes the socket layer makes itself (ws closes 1009 with no reason). */
export function rowOfClose(close: number): BridgeErrorCode | undefined {
  for (const [code, spec] of Object.entries(ERRORS)) if (spec.close === close) return code as BridgeErrorCode;
  return undefined;
}
