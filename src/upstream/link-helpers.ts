/**
 * Small pieces every adapter's `LinkHooks` would otherwise write again: the handshake deadline
 * armed when a socket opens, and the verdict of a close that is worth retrying. Adapters reach them
 * through the kit.
 */
import type { Timer } from '../clock.ts';
import type { LinkIO, LinkVerdict } from '../contracts.ts';
import type { CloseErrorCode } from '../errors.ts';

/** What an expired handshake deadline does: the auth-failure reason it counts and the close it makes. */
export interface DeadlineExpiry {
  /** The `reason` label of the auth-failure counter, e.g. `timeout`. */
  readonly reason: string;
  readonly code: CloseErrorCode;
  /** The close's detail, e.g. `no auth success in time`. */
  readonly detail: string;
}

/**
 * Arms the deadline of a handshake on the open socket: after `ms`, unless `settled()` says the far
 * side answered meanwhile, one auth failure is counted and the socket is closed. The caller cancels
 * the returned timer when the answer comes, and before arming another.
 */
export function handshakeDeadline(io: LinkIO, ms: number, expiry: DeadlineExpiry, settled: () => boolean = () => false): Timer {
  return io.clock.setTimeout(() => {
    if (settled()) return;
    io.telemetry.authFailed(expiry.reason);
    io.close(expiry.code, expiry.detail);
  }, ms);
}

/** The verdict of a close nothing marks as final: retry with backoff, saying how the socket ended. */
export function retryVerdict(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict {
  return { terminal: false, reason: info.httpStatus ? `upgrade refused (HTTP ${info.httpStatus})` : `closed ${info.code} ${info.reason}`.trim() };
}
