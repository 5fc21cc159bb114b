/**
 * Wings, downstream role: the relay is a Wings daemon to dashboards.
 *
 * `GET <path>` (default /api/servers/:server/ws) → origin allow-list → upgrade. Then the session
 * waits for `auth` with an HS256 JWT the relay signed (see token-endpoint.ts). First auth:
 * `auth success`, then `status` (and one `stats` when offline), and the session joins the
 * server's events. Every check interval the token is looked at: ≤ 60 s left → `token expiring`;
 * expired → `token expired` each interval, the socket stays open, and every outbound event and
 * inbound non-auth message is answered with the exp `jwt error` (REAL-BEHAVIOUR.md).
 *
 * In both profiles the core closes a socket not authenticated within `authDeadlineMs` (4103, as
 * Wings 1.12), pings every socket, closes one after `limits.authFailuresPerSocket` refused tokens,
 * and limits commands and `send logs` per session; a refused one is answered as Wings 1.12 does,
 * with one `throttled` naming the event per episode. Profile 1.12 adds Wings' own per-event limits.
 */
import {
  hasPermission,
  verifyJwt,
  type BridgeEvent,
  type ListenerContext,
  type ListenerRole,
  type ResourceRef,
  type SessionHooks,
  type SessionIO,
  type Timer,
  type Clock,
  type CommandReply,
  type UpgradeRequest,
  type UpgradeVerdict,
} from '../../src/adapter-kit.ts';
import { formatFrame, packetToCommand, parseFrame, statsToWire, variantFor } from './codec.ts';
import { MAX_FRAME_BYTES, MAX_SOCKETS_PER_SERVER, WingsLimiter } from './limits.ts';
import { findServer, type WingsListenerConfig } from './servers.ts';
import { tokenRoute } from './token-endpoint.ts';
import { CLIENT_EVENTS, GENERIC_DAEMON_ERROR, HTTP_ERRORS, JWT_ERRORS, PERMISSIONS, SERVER_EVENTS } from './vocabulary.ts';

type Ctx = ListenerContext<WingsListenerConfig>;

/** Event types a Wings client only receives with a permission. */
const GATED: Readonly<Record<string, string>> = {
  'server.install.output': PERMISSIONS.install,
  'server.transfer.logs': PERMISSIONS.transfer,
  'server.backup.completed': PERMISSIONS.backupRead,
};

const POWER_PERMISSION: Readonly<Record<string, string>> = {
  start: PERMISSIONS.start,
  stop: PERMISSIONS.stop,
  restart: PERMISSIONS.restart,
  kill: PERMISSIONS.stop,
};

const ZERO_STATS = { memoryBytes: 0, memoryLimitBytes: 0, cpuAbsolute: 0, network: { rxBytes: 0, txBytes: 0 }, uptimeMs: 0, diskBytes: 0, state: 'offline' as const };

/** Listener-wide state the sessions share: authenticated sockets per server (the 1.12 cap). */
class Sockets {
  readonly #authed = new Map<string, number>();
  count(server: ResourceRef): number {
    return this.#authed.get(`${server.upstream}\u0000${server.id}`) ?? 0;
  }
  add(server: ResourceRef, delta: 1 | -1): void {
    const key = `${server.upstream}\u0000${server.id}`;
    const n = (this.#authed.get(key) ?? 0) + delta;
    if (n > 0) this.#authed.set(key, n);
    else this.#authed.delete(key);
  }
}

/**
 * Permission lists as sessions hold them: dashboards of one panel share a handful of permission
 * sets, so each distinct set is kept once rather than once per session (bounded: past the cap a
 * session keeps its own copy).
 */
class PermissionSets {
  static readonly MAX = 1024;
  readonly #sets = new Map<string, readonly string[]>();
  intern(permissions: string[]): readonly string[] {
    const key = permissions.join('\u0000');
    const known = this.#sets.get(key);
    if (known) return known;
    const frozen = Object.freeze([...permissions]);
    if (this.#sets.size < PermissionSets.MAX) this.#sets.set(key, frozen);
    return frozen;
  }
}

/**
 * The token check of every authenticated session of a listener on one timer (Wings checks each
 * socket's token every 30 s; one timer per listener instead of one per socket keeps an idle
 * session small). Each session is checked on the first tick after a full interval since its
 * first auth or its last check, so no check comes early.
 */
class TokenWatch {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #tickMs: number;
  readonly #sessions = new Set<WingsSession>();
  #timer: Timer | null = null;

  constructor(clock: Clock, intervalMs: number) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    // Ticks finer than the interval bound how late a check can be (at most one tick).
    this.#tickMs = Math.max(1, Math.min(intervalMs, 1000));
  }

  add(session: WingsSession): void {
    session.tokenCheckDue = this.#clock.now() + this.#intervalMs;
    this.#sessions.add(session);
    this.#timer ??= this.#clock.setInterval(() => this.#tick(), this.#tickMs);
  }

  remove(session: WingsSession): void {
    if (!this.#sessions.delete(session) || this.#sessions.size > 0) return;
    this.#timer?.cancel();
    this.#timer = null;
  }

  #tick(): void {
    const now = this.#clock.now();
    for (const session of this.#sessions) {
      if (session.tokenCheckDue > now) continue;
      session.tokenCheckDue = now + this.#intervalMs;
      session.checkToken(now);
    }
  }
}

/** What every session of one listener shares. */
interface Shared {
  readonly sockets: Sockets;
  readonly permissionSets: PermissionSets;
  readonly tokens: TokenWatch;
}

/** `scope` may be a space-separated string or a list; Wings 1.12 needs `websocket` in it. */
function hasWebsocketScope(scope: unknown): boolean {
  const scopes = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? scope : [];
  return scopes.includes('websocket');
}

class WingsSession implements SessionHooks {
  variant = '';
  /** When the listener's {@link TokenWatch} checks this session's token next. */
  tokenCheckDue = 0;
  readonly #io: SessionIO;
  readonly #ctx: Ctx;
  readonly #server: ResourceRef;
  readonly #shared: Shared;
  /** Wings 1.12 behaviour: rate limits, frame cap, scope check. */
  readonly #limiter: WingsLimiter | null;
  #permissions: readonly string[] | null = null;
  #client = '';
  /** Token expiry, seconds since the epoch (the claim as it came). */
  #exp = 0;
  #expired = false;
  /** A `throttled` was sent for the current episode of refused commands (one per episode, as Wings 1.12). */
  #commandsThrottled = false;
  /** Replies of commands still in flight, answered in sending order (null when none). */
  #replies: Promise<void> | null = null;
  /** `send logs` is refused and passed in order (it holds the next frame): a flag is enough. */
  #logsThrottled = false;

  constructor(io: SessionIO, ctx: Ctx, server: ResourceRef, shared: Shared) {
    this.#io = io;
    this.#ctx = ctx;
    this.#server = server;
    this.#shared = shared;
    this.#limiter = ctx.config.profile === '1.12' ? new WingsLimiter(ctx.clock) : null;
  }

  #send(event: string, args?: readonly string[]): void {
    this.#io.send(formatFrame(event, args));
  }

  #jwtError(text: string): void {
    this.#send(SERVER_EVENTS.jwtError, [text]);
  }

  #subject(type: string): string {
    return this.#ctx.subjects.event(this.#server.upstream, type, this.#server.id);
  }

  /**
   * A promise only for frames whose work is asynchronous (a JWT check, a bus read): the core then
   * holds the next frame until it settled. Everything else is handled at once, so a burst of
   * commands or bad frames never waits in the inbound queue.
   */
  onMessage(text: string): void | Promise<void> {
    if (this.#limiter && Buffer.byteLength(text) > MAX_FRAME_BYTES) return this.#ctx.telemetry.dropped('too_large');
    const packet = parseFrame(text);
    if (!packet) return this.#ctx.telemetry.dropped('bad_frame');
    if (this.#limiter) {
      const verdict = this.#limiter.check(packet.event);
      if (!verdict.pass) {
        this.#ctx.telemetry.dropped('throttled');
        if (verdict.announce !== null) this.#send(SERVER_EVENTS.throttled, [verdict.announce]);
        return;
      }
    }
    if (packet.event === 'auth') return this.#auth(packet.args[0] ?? '');
    if (!this.#permissions) return this.#jwtError(JWT_ERRORS.notPresent);
    if (this.#expired) return this.#jwtError(JWT_ERRORS.expired);
    const command = packetToCommand(packet);
    if (!command) return this.#ctx.telemetry.dropped('unknown_event');
    switch (command.type) {
      case 'server.logs.request':
        return this.#sendLogs();
      case 'server.stats.request':
        return this.#sendStats();
      case 'server.command':
        if (!hasPermission(this.#permissions, PERMISSIONS.console)) return this.#ctx.telemetry.command('denied');
        return this.#forward(packet.event, command.type, command.data);
      case 'server.power': {
        const action = (command.data as { action: string }).action;
        const needed = POWER_PERMISSION[action];
        if (!needed || !hasPermission(this.#permissions, needed)) return this.#ctx.telemetry.command('denied');
        return this.#forward(packet.event, command.type, command.data);
      }
    }
  }

  /**
   * Sends a command upstream through the core, which keeps the command rate and counts the result.
   * The next frame does not wait for the reply (Wings answers a command only when it fails), so a
   * burst of commands never piles up in the inbound queue; the requests leave in frame order, and
   * the replies are taken in that order too (a refusal comes back before an earlier command's
   * reply), so an episode of refusals is exactly a run with no command passed in between.
   */
  #forward(event: string, type: 'server.command' | 'server.power', data: unknown): void {
    const reply = this.#io.request({
      type,
      upstream: this.#server.upstream,
      resource: this.#server.resource,
      id: this.#server.id,
      data,
      principal: { client: this.#client, permissions: this.#permissions ?? [] },
    });
    const answered = (this.#replies ?? Promise.resolve())
      .then(() => reply)
      .then((r) => this.#answer(event, r))
      .catch((err: unknown) => {
        this.#ctx.log.error('wings command reply failed', { error: err instanceof Error ? err.name : typeof err });
      })
      .finally(() => {
        // An idle session holds no promise.
        if (this.#replies === answered) this.#replies = null;
      });
    this.#replies = answered;
  }

  #answer(event: string, reply: CommandReply): void {
    if (!reply.ok && reply.code === 'BRIDGE_ERR_RATE_LIMITED') {
      if (this.#commandsThrottled) return;
      this.#commandsThrottled = true;
      return this.#send(SERVER_EVENTS.throttled, [event]);
    }
    this.#commandsThrottled = false;
    if (reply.ok) return;
    const showReal = this.#permissions !== null && hasPermission(this.#permissions, PERMISSIONS.errors);
    this.#send(SERVER_EVENTS.daemonError, [showReal ? reply.message : GENERIC_DAEMON_ERROR]);
  }

  async #auth(token: string): Promise<void> {
    const { config, clock } = this.#ctx;
    if (token === '') {
      this.#jwtError(JWT_ERRORS.notPresent);
      return this.#io.authFailed('no_jwt');
    }
    const check = await verifyJwt(config.jwtSecret, token, clock, this.#ctx.tokenPolicy);
    // A socket that went while its token was checked must not join the server or the token watch.
    if (this.#io.closed) return;
    if (!check.ok) {
      // Wings reports an expired token by text, and anything it cannot verify as a generic error.
      if (check.error === 'expired') this.#jwtError(JWT_ERRORS.expired);
      else this.#send(SERVER_EVENTS.daemonError, [GENERIC_DAEMON_ERROR]);
      return this.#io.authFailed(check.error);
    }
    const claims = check.claims;
    const permissions = Array.isArray(claims.permissions) ? claims.permissions.filter((p): p is string => typeof p === 'string') : [];
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') {
      this.#send(SERVER_EVENTS.daemonError, [GENERIC_DAEMON_ERROR]);
      return this.#io.authFailed('malformed');
    }
    if (!hasPermission(permissions, PERMISSIONS.connect)) {
      this.#jwtError(JWT_ERRORS.missingConnect);
      return this.#io.authFailed('missing_connect');
    }
    if (claims.server_uuid !== this.#server.id) {
      this.#jwtError(JWT_ERRORS.uuidMismatch);
      return this.#io.authFailed('uuid_mismatch');
    }
    if (this.#limiter && !hasWebsocketScope(claims.scope)) {
      // Wings 1.12 reports a token without the websocket scope as a generic error.
      this.#send(SERVER_EVENTS.daemonError, [GENERIC_DAEMON_ERROR]);
      return this.#io.authFailed('scope');
    }
    const first = this.#permissions === null;
    this.#permissions = this.#shared.permissionSets.intern(permissions);
    this.#client = typeof claims.user_uuid === 'string' ? claims.user_uuid : '';
    this.#exp = claims.exp;
    this.#expired = false;
    this.variant = variantFor(permissions);
    // Join the server's events before answering, so nothing published after `auth success` is
    // missed; also the upstream's meta messages (a Semoxy META_MESSAGE shows as `daemon message`).
    if (first) {
      const { subjects } = this.#ctx;
      this.#io.subscribe(subjects.resourceEvents(this.#server.upstream, this.#server.resource, this.#server.id));
      this.#io.subscribe(subjects.event(this.#server.upstream, 'upstream.message', '_'));
      this.#shared.sockets.add(this.#server, 1);
      this.#io.authenticated();
    }
    this.#send(SERVER_EVENTS.authSuccess);
    if (!first) return;
    this.#shared.tokens.add(this);
    const status = await this.#io.last(this.#subject('server.status'));
    const state = (status?.data as { state?: string } | undefined)?.state ?? 'offline';
    this.#send(SERVER_EVENTS.status, [state]);
    if (state === 'offline') {
      const stats = await this.#io.last(this.#subject('server.stats'));
      this.#send(SERVER_EVENTS.stats, [statsToWire((stats?.data as typeof ZERO_STATS | undefined) ?? ZERO_STATS)]);
    }
  }

  /** Called by the listener's {@link TokenWatch} every check interval. */
  checkToken(now: number): void {
    const left = this.#exp * 1000 - now;
    if (left <= 0) {
      this.#expired = true;
      this.#send(SERVER_EVENTS.tokenExpired);
    } else if (left <= this.#ctx.config.expiringWindowSeconds * 1000) {
      this.#send(SERVER_EVENTS.tokenExpiring);
    }
  }

  async #sendLogs(): Promise<void> {
    // The history is read first: past the session's history rate nothing touches the bus.
    const lines = await this.#io.history(this.#subject('server.console'), this.#ctx.config.consoleLines);
    if (lines === null) {
      if (this.#logsThrottled) return;
      this.#logsThrottled = true;
      return this.#send(SERVER_EVENTS.throttled, [CLIENT_EVENTS.sendLogs]);
    }
    this.#logsThrottled = false;
    const status = await this.#io.last(this.#subject('server.status'));
    if ((status?.data as { state?: string } | undefined)?.state === 'offline' || !status) return;
    for (const e of lines) this.#send(SERVER_EVENTS.consoleOutput, [(e.data as { line: string }).line]);
  }

  async #sendStats(): Promise<void> {
    const stats = await this.#io.last(this.#subject('server.stats'));
    if (stats) this.#send(SERVER_EVENTS.stats, [statsToWire(stats.data as typeof ZERO_STATS)]);
  }

  onEvent(event: BridgeEvent, frame: Buffer): void {
    if (this.#expired) return this.#jwtError(JWT_ERRORS.expired);
    const gate = GATED[event.type];
    if (gate && !hasPermission(this.#permissions ?? [], gate)) return;
    this.#io.send(frame);
  }

  onClose(): void {
    this.#shared.tokens.remove(this);
    if (this.#permissions) this.#shared.sockets.add(this.#server, -1);
  }
}

export function createWingsListener(ctx: Ctx): ListenerRole {
  const { config } = ctx;
  const anyOrigin = config.allowedOrigins.includes('*');
  const sockets = new Sockets();
  const shared: Shared = { sockets, permissionSets: new PermissionSets(), tokens: new TokenWatch(ctx.clock, config.tokenCheckIntervalMs) };
  return {
    routes: config.tokenEndpoint ? [tokenRoute(ctx)] : [],
    authorize(req: UpgradeRequest): UpgradeVerdict {
      const server = findServer(ctx, req.params.server ?? '');
      if (!server) return { accept: false, status: 404, json: { error: HTTP_ERRORS.notFound }, reason: 'not_found' };
      const origin = req.headers.origin;
      if (!anyOrigin && (origin === undefined || !config.allowedOrigins.includes(origin))) {
        return { accept: false, status: 403, text: 'Forbidden', reason: 'origin' };
      }
      if (config.profile === '1.12' && sockets.count(server) >= MAX_SOCKETS_PER_SERVER) {
        return { accept: false, status: 400, json: { error: HTTP_ERRORS.tooMany }, reason: 'limit' };
      }
      return { accept: true, state: server };
    },
    open(io, _req, state) {
      return new WingsSession(io, ctx, state as ResourceRef, shared);
    },
  };
}
