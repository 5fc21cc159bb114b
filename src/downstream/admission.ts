/**
 * Admission control of the one port: what the web host asks before it spends a WebSocket on an
 * upgrade, and what every listener reports when a credential fails (nats-server's
 * `max_connections`, Centrifugo's connection limits). One instance per relay.
 */
import type { CloseErrorCode } from '../errors.ts';

export interface AdmissionControl {
  /**
   * An upgrade from `address` is about to be accepted. null: admitted, and the caller calls
   * {@link released} once when that socket closes. Otherwise the row it is refused with.
   */
  admit(address: string): CloseErrorCode | null;
  /** A socket admitted for `address` closed. */
  released(address: string): void;
  /** A credential presented from `address` failed (any listener; HTTP endpoint or socket). */
  authFailed(address: string): void;
  /** Whether `address` failed authentication too often lately (the endpoints answer 429). */
  blocked(address: string): boolean;
}

/** Admits everything (unit tests of parts that do not test admission). */
export const OPEN_ADMISSION: AdmissionControl = {
  admit: () => null,
  released() {},
  authFailed() {},
  blocked: () => false,
};
