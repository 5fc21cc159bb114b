/**
 * The slices of the core every adapter role is handed: the log, the counters, and the clients
 * with their grants. Part of the contracts between core and adapters (src/contracts.ts).
 */

/**
 * Structured logging; fields are never secrets (adapters must not log tokens or keys). The relay's
 * log (src/log.ts) also redacts secret-named fields by path, as a second line of defence.
 */
export interface Log {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /**
   * Whether a line of `level` would be written now. Code on a per-frame path asks before it builds
   * the fields of a debug line (`if (log.enabled?.('debug')) log.debug(…, {…})`), so a relay not
   * at debug level pays nothing for it. Optional: a log without it is taken to write every level.
   */
  enabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

/** Why an event or frame was not delivered; the `reason` label of bridge_events_dropped_total. */
export type DropReason = 'unmapped' | 'encode_error' | 'bad_frame' | 'slow' | 'throttled' | 'unauthorized' | 'unknown_event' | 'too_large';

/** Counters an adapter role may bump. The core pre-labels them with protocol/dialect and upstream. */
export interface Telemetry {
  /** A frame or event not handled or not delivered (`bridge_events_dropped_total`). */
  dropped(reason: DropReason, n?: number): void;
  /**
   * An authentication problem (`bridge_auth_failures_total`). A session that refuses a credential
   * calls {@link SessionIO.authFailed} instead, which counts it and also enforces the limits.
   */
  authFailed(reason: string): void;
  /** A heartbeat obligation of the protocol was missed (`bridge_heartbeat_timeouts_total`). */
  heartbeatTimeout(): void;
  /**
   * A command's result (`bridge_commands_total`). Downstream, {@link SessionIO.request} counts what
   * it sends; a listener counts only the commands it refuses itself (`denied`).
   */
  command(result: 'ok' | 'denied' | 'error' | 'unavailable'): void;
}

/**
 * A principal: an API client of the relay (config `clients`), as authenticated by its key, or one
 * another source admitted (an app JWT, the connect hook, upstream pass-through; src/auth/).
 */
export interface ApiClient {
  /** A configured client's name; other sources prefix theirs (`jwt:alice`), so none is mistaken for one. */
  readonly name: string;
  readonly grants: readonly Grant[];
  /** The source that admitted it; absent for configured clients (`static`). */
  readonly source?: 'jwt' | 'hook' | 'panel';
  /** When its credential stops working (ms since the epoch): a JWT's `exp`; absent when it does not. */
  readonly expiresAt?: number;
}

/** What a client may see and do on one upstream. `resources` and `permissions` may hold `*`. */
export interface Grant {
  readonly upstream: string;
  readonly resources: readonly string[];
  readonly permissions: readonly string[];
}

/**
 * The configured clients. A config reload (SIGHUP) replaces them in place: from then on
 * `authenticate` knows the new keys, and `permissionsFor` answers from the client's grants in the
 * config in force, by its name (a client the reload removed has none), whatever `ApiClient` object
 * a session kept. Sessions that lost a grant are closed by the core (see SessionIO.bindPrincipal).
 */
export interface ClientDirectory {
  /** Finds the client whose key equals `key` (constant-time over every client). */
  authenticate(key: string): ApiClient | null;
  /** The permissions `client` holds on resource `id` of `upstream`, or null when it has no grant. */
  permissionsFor(client: ApiClient, upstream: string, id: string): readonly string[] | null;
  /** Changes whenever a reload replaced the clients: a cache of `permissionsFor` answers keyed on it never goes stale. */
  readonly generation: number;
}
