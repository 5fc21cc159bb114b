/**
 * One table of errors and disconnects. Every close the relay initiates names a row here, so every
 * close carries a code and a reason; every error a caller can act on has a stable BRIDGE_ERR_* code.
 *
 * Close-code ranges (as the reconnect policy reads them):
 *   1000–1015  standard WebSocket codes;
 *   4000–4099  protocol-native codes the real servers use (gateway 4001, …);
 *   4100–4199  relay codes after which a client should reconnect (with backoff);
 *   4400–4499  terminal: reconnecting will not help until something changes (Wings 4400, 4409).
 */

export interface ErrorSpec {
  /** WebSocket close code sent when this error ends a session. */
  readonly close: number;
  /** HTTP status when the error refuses a request or an upgrade. */
  readonly http: number;
  /** Close reason / default message (≤ 123 bytes, the WebSocket limit). */
  readonly reason: string;
  /** Whether a client should reconnect after it. */
  readonly reconnect: boolean;
}

export const ERRORS = {
  BRIDGE_ERR_NORMAL: { close: 1000, http: 200, reason: 'normal closure', reconnect: false },
  BRIDGE_ERR_SHUTDOWN: { close: 1001, http: 503, reason: 'relay shutting down', reconnect: true },
  BRIDGE_ERR_UNSUPPORTED_DATA: { close: 1003, http: 400, reason: 'unsupported data', reconnect: false },
  BRIDGE_ERR_BAD_FRAME: { close: 1007, http: 400, reason: 'invalid frame payload', reconnect: false },
  BRIDGE_ERR_UNAUTHORIZED: { close: 1008, http: 401, reason: 'unauthorized', reconnect: false },
  BRIDGE_ERR_FORBIDDEN: { close: 1008, http: 403, reason: 'forbidden', reconnect: false },
  BRIDGE_ERR_TOO_LARGE: { close: 1009, http: 413, reason: 'message too large', reconnect: false },
  BRIDGE_ERR_INTERNAL: { close: 1011, http: 500, reason: 'internal error', reconnect: true },
  BRIDGE_ERR_NOT_FOUND: { close: 1014, http: 404, reason: 'unknown resource', reconnect: false },
  BRIDGE_ERR_HEARTBEAT_TIMEOUT: { close: 4001, http: 408, reason: 'heartbeat timeout', reconnect: true },
  BRIDGE_ERR_SLOW_CONSUMER: { close: 4108, http: 503, reason: 'slow consumer', reconnect: true },
  BRIDGE_ERR_AUTH_TIMEOUT: { close: 4103, http: 408, reason: 'authentication timeout', reconnect: true },
  BRIDGE_ERR_UPSTREAM_UNAVAILABLE: { close: 4104, http: 503, reason: 'upstream unavailable', reconnect: true },
  BRIDGE_ERR_COMMAND_TIMEOUT: { close: 4105, http: 504, reason: 'command timed out', reconnect: true },
  BRIDGE_ERR_UPSTREAM_REJECTED: { close: 4400, http: 400, reason: 'upstream rejected the connection', reconnect: false },
  BRIDGE_ERR_SUSPENDED: { close: 4409, http: 409, reason: 'server suspended', reconnect: false },
  BRIDGE_ERR_PERMISSION: { close: 4403, http: 403, reason: 'permission denied', reconnect: false },
  BRIDGE_ERR_CONFIG: { close: 1011, http: 500, reason: 'invalid configuration', reconnect: false },
} as const satisfies Record<string, ErrorSpec>;

export type BridgeErrorCode = keyof typeof ERRORS;

/** An error a caller can act on: a stable code, the close code it maps to, and the cause. */
export class BridgeError extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERRORS[code].reason, options);
    this.name = 'BridgeError';
    this.code = code;
  }

  get closeCode(): number {
    return ERRORS[this.code].close;
  }
}

/** Close codes the upstream may send after which the relay must not reconnect. */
export const TERMINAL_UPSTREAM_CLOSES: ReadonlySet<number> = new Set([
  ERRORS.BRIDGE_ERR_UPSTREAM_REJECTED.close,
  ERRORS.BRIDGE_ERR_SUSPENDED.close,
]);

/** A close code and a reason that fits in a close frame (123 bytes). */
export function closeFrame(code: BridgeErrorCode, detail?: string): { code: number; reason: string } {
  const spec = ERRORS[code];
  const chars = Array.from(detail ? `${spec.reason}: ${detail}` : spec.reason);
  // Drop whole code points, so a multi-byte character is never cut in half.
  while (Buffer.byteLength(chars.join('')) > 123) chars.pop();
  return { code: spec.close, reason: chars.join('') };
}
