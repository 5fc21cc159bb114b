/**
 * The contracts between the core and a protocol adapter.
 *
 * Adapters are sans-I/O: the core owns every socket, timer and HTTP call. An adapter's roles are
 * state machines the core drives through hooks (a frame arrived, the socket opened or closed, an
 * event is to be delivered), and they act only through the narrow slices handed to them
 * ({@link LinkIO}, {@link SessionIO}, the contexts). Timers come from the injected {@link Clock}.
 * None of these interfaces mention `ws`, `nats`, `undici` or `prom-client`.
 */
import type { TSchema } from '@sinclair/typebox';
import type { AnyListenerConfig, AnySimulatorConfig, AnyUpstreamConfig } from './adapter-configs.ts';
import type { Clock } from './clock.ts';
import type { BridgeCommand, BridgeEvent, CommandReply } from './events.ts';
import type { CloseErrorCode } from './errors.ts';
import type { Subjects } from './subjects.ts';
import type { TicketPolicy, TicketService } from './auth/tickets.ts';
import type { PassThrough, PrincipalResolver } from './auth/types.ts';

export type { AuthRefusal, AuthSource, CredentialContext, PassThrough, PassThroughAnswer, PrincipalResolver, Resolution } from './auth/types.ts';

// ---- shared slices ----------------------------------------------------------------------------

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

export interface HttpCall {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Defaults to limits.httpTimeoutMs. */
  timeoutMs?: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON when the body was JSON, else undefined. */
  json: unknown;
  text: string;
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

// ---- upstream role (the relay as a client of a real server) -------------------------------------

/** One socket the relay holds for one upstream resource (one Wings server, one room, one bot). */
export interface LinkSpec {
  /** Resource family: `server`, `room`, `bot`, … (the subject's resource token). */
  readonly resource: string;
  /** The resource id (server uuid, room id, …). */
  readonly id: string;
}

/** Where and how to open the socket. */
export interface ConnectTarget {
  url: string;
  headers?: Record<string, string>;
}

/** How the supervisor should react to a closed socket or a failed attempt. */
export interface LinkVerdict {
  /** True: stop retrying (the link state becomes `failed`). */
  terminal: boolean;
  reason: string;
  /**
   * For a terminal verdict: the row of the error table that says why in words every dialect can
   * use (e.g. `BRIDGE_ERR_SUSPENDED` for a Wings 4409). It travels in the link's `upstream.state`
   * event, so each listener tells its dashboards in its own words (a Wings listener closes with
   * that row's code). Absent: the dialects use their generic answer for a link gone for good.
   */
  code?: CloseErrorCode;
}

/** Thrown (rejected) from {@link LinkHooks.prepare} to fail an attempt without opening a socket. */
export class LinkFailure extends Error {
  readonly terminal: boolean;
  constructor(reason: string, terminal = false, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'LinkFailure';
    this.terminal = terminal;
  }
}

/** What a link may do. Valid from `link()` until `dispose()`. */
export interface LinkIO {
  readonly spec: LinkSpec;
  readonly clock: Clock;
  readonly log: Log;
  readonly telemetry: Telemetry;
  /** Performs an HTTP call through the core. Rejects only on network errors or timeouts. */
  http(call: HttpCall): Promise<HttpResult>;
  /** Sends a text frame on the open socket; dropped (and logged) when no socket is open. */
  send(text: string): void;
  /**
   * Closes the current socket with a row of the error table. The link does not wait for the peer:
   * right after the calling handler returns, `onClose` is asked (with the code and reason sent)
   * whether to retry, and nothing more of that socket reaches the hooks; the socket is terminated
   * after a short grace. Ignored when no socket is open or connecting.
   */
  close(code: CloseErrorCode, detail?: string): void;
  /**
   * Publishes an event of `type` about `id` (default: the link's own id) from this upstream.
   * `hop` is the event's hop count (default 0); a relay republishing another relay's event passes
   * the incoming `bridgehop + 1`, so a loop of chained relays ends at the hop limit.
   */
  publish(type: string, data: unknown, id?: string, hop?: number): void;
  /**
   * Marks the link authenticated and live (state `ready`). The reconnect backoff starts over once
   * the link has stayed ready for `limits.backoffResetMs`. Ignored without an open socket.
   */
  ready(): void;
  /** What downstream sessions currently want from this upstream: resource family → ids. */
  interest(): ReadonlyMap<string, ReadonlySet<string>>;
}

/** The adapter's state machine for one link. The supervisor calls these in this order per attempt:
 *  `prepare` → (socket opens) `onOpen` → `onMessage`* → `onClose`, then backs off and repeats,
 *  unless `onClose` (or a rejected `prepare`) says terminal. `onCommand` may come at any time. */
export interface LinkHooks {
  /** Resolves where to connect (may fetch a token through `io.http`). Rejects with LinkFailure. */
  prepare(): Promise<ConnectTarget>;
  /** The socket is open. Send the auth frame here. */
  onOpen(): void;
  /** One text frame from the upstream. Never throws. */
  onMessage(text: string): void;
  /** The socket closed (`httpStatus` set when the upgrade itself was refused). */
  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict;
  /** A command for this resource, already permission-checked downstream. */
  onCommand(command: BridgeCommand): CommandReply | Promise<CommandReply>;
  /** The link is being removed: cancel timers. Idempotent. */
  dispose(): void;
  /** Downstream interest in this upstream changed (see SessionIO.declareInterest); optional. */
  onInterest?(interest: ReadonlyMap<string, ReadonlySet<string>>): void;
}

/** What a running simulator offers an upstream configured with `simulator: <name>`. */
export interface SimulatorEndpoint {
  /** Base URL (http://host:port) of the simulator. */
  readonly url: string;
  /** Credentials the simulator accepts (e.g. `apiKey`). */
  readonly credentials: Readonly<Record<string, string>>;
}

export interface UpstreamContext<C> {
  /** The upstream's validated, frozen config with secrets resolved. */
  readonly config: C;
  readonly node: string;
  readonly clock: Clock;
  readonly log: Log;
  /** Set when the config names a built-in simulator. */
  readonly simulator?: SimulatorEndpoint;
}

export interface UpstreamRole {
  /** The links to hold, fixed for the life of the role. */
  links(): readonly LinkSpec[];
  /**
   * Resources this upstream serves besides its links, for listeners to find (e.g. the servers
   * of a Semoxy panel, all carried by one socket). Commands for them go to the upstream's only link.
   */
  resources?(): readonly LinkSpec[];
  /** Creates the state machine of one link. */
  link(spec: LinkSpec, io: LinkIO): LinkHooks;
  /** How to check a dashboard's own credential with this upstream (config `auth.panel`), if it can. */
  readonly passThrough?: PassThrough;
}

// ---- downstream role (the relay as that server, to dashboards) ----------------------------------

/** A plain HTTP request on the relay's port (token and ticket endpoints). */
export interface HttpRequest {
  method: string;
  path: string;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  remoteAddress: string;
  /**
   * The scheme the client used as a trusted proxy reports it (X-Forwarded-Proto), present only when
   * the TCP peer is one of `http.trustedProxies`: anyone else could name any scheme.
   */
  readonly forwardedProto?: 'http' | 'https';
}

export interface HttpResponse {
  status: number;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as text/plain when `json` is absent. */
  text?: string;
  headers?: Record<string, string>;
}

export interface HttpRoute {
  method: 'GET' | 'POST';
  /** Path pattern with `:param` segments. */
  path: string;
  /**
   * The route checks a credential (a token or ticket endpoint). The core then counts its 401 and
   * 403 answers as failed authentications of the caller's address, and answers 429 without
   * running `handle` while that address has failed too often (`limits.authFailuresPerAddress`).
   */
  credential?: boolean;
  /** Answered whatever the Host header says (probes: /healthz, /readyz, /metrics); core routes only. */
  anyHost?: boolean;
  handle(req: HttpRequest): Promise<HttpResponse> | HttpResponse;
}

/** A WebSocket upgrade request, before the upgrade. */
export type UpgradeRequest = HttpRequest;

export type UpgradeVerdict =
  | {
      accept: true;
      /** Handed to {@link ListenerRole.open}. */
      state?: unknown;
      /**
       * The socket is authenticated already (the upgrade carried the credential, or the dialect
       * has none): the core arms no auth deadline for it. Otherwise the session must call
       * {@link SessionIO.authenticated} before the listener's auth deadline, or it is closed 4103.
       */
      authenticated?: true;
    }
  | { accept: false; status: number; json?: unknown; text?: string; reason: DropReason | 'auth' | 'origin' | 'not_found' | 'limit' | 'unavailable' };

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

/** An upstream resource a listener can serve, as configured. */
export interface ResourceRef {
  readonly upstream: string;
  readonly protocol: string;
  readonly resource: string;
  readonly id: string;
  /**
   * The link that carries this resource (itself for a Wings server; the panel's one link for a
   * Semoxy server). Its `upstream.state` (subject id = the link's id) says whether the resource
   * can be served at all. Absent when no single link carries it.
   */
  readonly link?: LinkSpec;
}

export interface ListenerContext<C> {
  /** The listener's validated, frozen config with secrets resolved. */
  readonly config: C;
  readonly node: string;
  readonly clock: Clock;
  readonly log: Log;
  readonly subjects: Subjects;
  readonly clients: ClientDirectory;
  /**
   * Who presented a credential, from the sources the listener's `auth` list names (default: the
   * configured clients only). Listeners resolve every credential a dashboard presents through it.
   */
  readonly principals: PrincipalResolver;
  readonly telemetry: Telemetry;
  /** The resources of the upstreams this listener serves (config `upstreams`). */
  resources(): readonly ResourceRef[];
  /** The public base URL of the relay for this request (config http.publicUrl, else Host header). */
  publicUrl(req: HttpRequest): string;
  /**
   * What a token the relay verifies itself may claim about time (config `limits.clockSkewSeconds`
   * and `limits.maxTokenLifetimeSeconds`): pass it to `verifyJwt`. A listener that accepts the
   * relay's own tokens must not accept one issued in the future or living longer than this.
   */
  readonly tokenPolicy: TokenPolicy;
  /**
   * The listener's ticket store, made once at mount (a dialect whose handshake trades a key for a
   * one-time ticket). On the NATS bus a ticket minted on any node opens a socket on any node, and a
   * single-use one only once in the whole cluster; a store that cannot answer says `unavailable`.
   */
  tickets(policy: TicketPolicy): TicketService;
}

/** Bounds on a token's time claims (see {@link ListenerContext.tokenPolicy}). */
export interface TokenPolicy {
  /** How far ahead of the relay's clock `iat` may be. */
  readonly clockSkewSeconds: number;
  /** Largest `exp - iat` accepted. */
  readonly maxLifetimeSeconds: number;
}

/**
 * A dialect's server side. The core owns each session's auth deadline and keep-alive: a listener
 * whose options declare `authDeadlineMs` or `pingIntervalMs` (the dialect's own figures) gets
 * those, every other listener `limits.authDeadlineMs` / `limits.pingIntervalMs`.
 */
export interface ListenerRole {
  /** Plain HTTP routes served on the relay's port besides the WebSocket path. */
  readonly routes: readonly HttpRoute[];
  /**
   * Decides an upgrade before it happens (origin, auth, resource). Never throws. An accepted
   * socket whose credential came with the upgrade (or whose dialect has none) says
   * `authenticated: true`; any other must prove itself within the auth deadline.
   */
  authorize(req: UpgradeRequest): Promise<UpgradeVerdict> | UpgradeVerdict;
  /** Opens a session after an accepted upgrade; `state` is the verdict's. */
  open(io: SessionIO, req: UpgradeRequest, state: unknown): SessionHooks;
}

/**
 * The dialect's encoder: pure, one call per (event, variant) on the hub's hot path. null: the
 * dialect cannot express the event (the hub counts it as unmapped and hands it to no session).
 * `''`: the dialect expresses it by what its sessions do rather than by a frame (a Wings session
 * closes 4409 when its server's link fails): the hub hands it to `onEvent` with an empty frame,
 * which a session never sends.
 */
export type EventEncoder = (event: BridgeEvent, variant: string) => string | null;

// ---- the adapter ------------------------------------------------------------------------------

export interface Simulator {
  readonly endpoint: SimulatorEndpoint;
  close(): Promise<void>;
}

export interface SimulatorContext<C> {
  readonly config: C;
  readonly clock: Clock;
  readonly log: Log;
}

/** One protocol: its config specs, both roles and its simulator. Listed in src/registry.ts. */
export interface ProtocolAdapter {
  /** Config value of `protocol` / `dialect`. */
  readonly protocol: string;
  /** TypeBox schema of the protocol's own upstream options (besides `name`, `protocol`, `simulator`). */
  readonly upstreamOptions: TSchema;
  /** TypeBox schema of the protocol's own listener options (besides `name`, `dialect`, `path`, `upstreams`). */
  readonly listenerOptions: TSchema;
  /** TypeBox schema of the simulator's own options (besides `name`, `protocol`, `host`, `port`). */
  readonly simulatorOptions: TSchema;
  /** Default WebSocket path of a listener of this dialect. */
  readonly defaultPath: string;
  /**
   * The HTTP paths a listener of this dialect serves besides its WebSocket path (token and ticket
   * endpoints), each with the JSON path (under the listener) of the option that sets it, so that
   * `bridge check` can refuse two things on one path. `config` has its defaults applied.
   */
  listenerRoutes?(config: Record<string, unknown>): { path: string; option: string }[];
  /** Extra config checks the schema cannot express; returns `[jsonPath, message]` pairs. */
  check?(kind: 'upstream' | 'listener', config: Record<string, unknown>): [string, string][];
  readonly encode: EventEncoder;
  createUpstream(ctx: UpstreamContext<AnyUpstreamConfig>): UpstreamRole;
  createListener(ctx: ListenerContext<AnyListenerConfig>): ListenerRole;
  startSimulator(ctx: SimulatorContext<AnySimulatorConfig>, host: string, port: number): Promise<Simulator>;
}
