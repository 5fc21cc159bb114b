/**
 * One downstream session: what it may do ({@link SessionIO}) and the adapter's state machine
 * the core drives for it ({@link SessionHooks}).
 */
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';
import type { CloseErrorCode } from '../errors.ts';

/**
 * What a downstream session may do. Valid until its `onClose`; after the session closed (whoever
 * closed it) every member is a cheap no-op: nothing is sent, subscribed, read or requested.
 *
 * The core keeps, for every session of every listener, the duties no adapter may forget: frames
 * are handed to `onMessage` one at a time, in order, within `limits.inboundRate` and
 * `limits.inboundQueueFrames`; an unauthenticated socket is closed at the auth deadline; every
 * socket is pinged and a dead one terminated; commands and history reads are rate-limited here.
 */
export interface SessionIO {
  /** Unique within this process (e.g. `s42`); never shown to clients. */
  readonly id: string;
  /** The peer's address, for logs and admission control; never a metric label. */
  readonly remoteAddress: string;
  /**
   * True once the session is closing or closed, whoever closed it (`onClose` may not have come
   * yet). Work that resumes after an await checks it before it changes any state.
   */
  readonly closed: boolean;
  /**
   * Queues a text frame. Shared encoded frames (from `onEvent`) are passed as-is; the write queue
   * is bounded and a session past its high-water mark is closed as a slow consumer.
   */
  send(frame: string | Buffer): void;
  /** Closes with a row of the error table (protocol-native codes are rows too); idempotent. */
  close(code: CloseErrorCode, detail?: string): void;
  /** Drops the connection without a close handshake. */
  terminate(): void;
  /** Subscribes this session to a subject pattern through the hub; events arrive at `onEvent`. */
  subscribe(pattern: string): () => void;
  /** Removes every subscription of this session. */
  unsubscribeAll(): void;
  /**
   * Replaces what this session wants from upstreams that must be told what to send (Felix
   * `20002`): each entry replaces the session's previous ids of that (upstream, resource). The
   * core keeps the union over sessions and hands it to the upstream's links, coalesced (at most
   * one update per `limits.interestCoalesceMs`, never within the calling turn); it is dropped
   * when the session closes. One call is one change against `limits.interestRate`: false when
   * the session is past it (nothing changed; the core counted the drop), true otherwise.
   */
  declareInterest(declarations: readonly InterestDeclaration[]): boolean;
  /**
   * The session proved its credential (Wings `auth success`, panel v2 `AUTH_SUCCESS`): ends the
   * auth deadline. Idempotent; sessions accepted with `authenticated: true` need not call it.
   */
  authenticated(): void;
  /**
   * The session acts for the configured client named `client` (from here until it closes). The
   * core then closes it (4403 `BRIDGE_ERR_FORBIDDEN`, "grant withdrawn") when a config reload
   * removes that client, or takes away a permission it held on a resource one of this session's
   * subscriptions covers: a session keeps exactly what its client may still see. `on` is a
   * resource the credential was issued for (a Wings token's server), checked now.
   *
   * Returns false, having closed the session the same way, when the config in force no longer
   * grants it: the client was removed by a reload, or holds no grant on `on` (a token or ticket
   * issued before the reload). A name that was never a configured client (a Wings token signed by
   * a real panel that shares the `jwtSecret`) binds nothing and returns true. Call it once the
   * credential is proven, before subscribing; calling it again replaces the client.
   */
  bindPrincipal(client: string, on?: { readonly upstream: string; readonly id: string }): boolean;
  /**
   * A credential this session presented was refused (`reason` is a short label, never the
   * credential). The core counts it (`bridge_auth_failures_total`), reports it to admission
   * control for the remote address, and closes the socket (4115) after
   * `limits.authFailuresPerSocket` failures. Send the protocol's own answer before calling it.
   */
  authFailed(reason: string): void;
  /**
   * Sends a command to the link owner, within `limits.commandRate` for this session. Never
   * rejects. Past the rate nothing reaches the bus and the reply is
   * `{ok: false, code: 'BRIDGE_ERR_RATE_LIMITED'}`. The core counts every result in
   * `bridge_commands_total` (adapters count only the commands they refuse themselves: `denied`).
   */
  request(command: BridgeCommand): Promise<CommandReply>;
  /**
   * The last `limit` retained events of an exact subject, oldest first, within
   * `limits.historyRate` for this session: null when past it (nothing was read; counted).
   */
  history(subject: string, limit: number): Promise<BridgeEvent[] | null>;
  /** The last retained event of an exact subject (one key read; not charged to `historyRate`). */
  last(subject: string): Promise<BridgeEvent | undefined>;
}

/** One entry of {@link SessionIO.declareInterest}: the ids of `resource` wanted from `upstream`. */
export interface InterestDeclaration {
  readonly upstream: string;
  readonly resource: string;
  readonly ids: readonly string[];
}

/** The adapter's state machine for one downstream session. */
export interface SessionHooks {
  /**
   * The encoding variant of this session (e.g. Wings: whether real error texts are shown). The hub
   * encodes each event once per (dialect, variant) and shares the bytes. Read at delivery time.
   */
  readonly variant: string;
  /**
   * One text frame from the client (binary frames are decoded as UTF-8). Return a promise when
   * the frame's work is asynchronous (a JWT check, a history read): the core hands over the next
   * frame only once it settled, so frames are handled in order and one at a time per session.
   * Return nothing for work done at once: while a promise is pending, later frames wait in a queue
   * of `limits.inboundQueueFrames`, and a socket that overflows it is closed (4109).
   * Should neither throw nor reject; if it does, the core counts and logs it and the session goes on.
   * Never called after the session closed: frames still waiting then are discarded.
   */
  onMessage(text: string): void | Promise<void>;
  /**
   * An event on one of this session's subscriptions, with its shared encoded frame (events the
   * dialect cannot express never come here; the hub has counted them). Decide and
   * `io.send(frame)`; an empty frame (see {@link EventEncoder}) is for the session to act on, not to send.
   */
  onEvent(event: BridgeEvent, frame: Buffer): void;
  /** The socket closed, whoever closed it. Cancel timers. Called once. */
  onClose(code: number, reason: string): void;
}
