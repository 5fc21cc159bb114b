/**
 * One Wings dashboard socket on the relay (the listener is downstream.ts): the `auth` handshake
 * and token lifetime as Wings checks them, the first `status`/`stats`, commands with Wings'
 * permission rules and answers, `send logs` / `send stats` from the bus, and the delivery of the
 * server's events (held during the first auth, gated by permission, replaced by `jwt error` once
 * the token is dead, and a close as Wings' own when the server's link fails for good).
 */
import { EVENT_TYPES, LINK_STATE_TYPE, closingRow, hasPermission, mayReceive, verifyJwt } from '../../src/adapter-kit.ts';
import type { BridgeEvent, CommandReply, ListenerContext, ResourceRef, ServerStatsData, SessionHooks, SessionIO, UpstreamStateData } from '../../src/adapter-kit.ts';
import { formatFrame, packetToCommand, parseFrame, statsToWire, variantFor } from './codec.ts';
import { MAX_FRAME_BYTES, WingsLimiter } from './limits.ts';
import type { Shared } from './listener-state.ts';
import type { WingsListenerConfig } from './servers.ts';
import { POWER_PERMISSION, hasWebsocketScope, stateOf, zeroStats } from './session-rules.ts';
import type { TokenChecked } from './token-watch.ts';
import { CLIENT_EVENTS, GENERIC_DAEMON_ERROR, JWT_ERRORS, PERMISSIONS, SERVER_EVENTS } from './vocabulary.ts';

export type Ctx = ListenerContext<WingsListenerConfig>;

/**
 * Wings' JWT library truncates the clock to whole seconds before comparing it with `exp`, so a
 * token is still good during the second `exp` names.
 */
const EXP_LEEWAY_SECONDS = 1;

/**
 * Deliveries held while a first auth is answered. The status read is one bus round trip, so this
 * is a few milliseconds of events even on a very busy server; past it the oldest half goes (the
 * lines stay in the history for `send logs`), so a stalled read cannot grow a session.
 */
const HOLD_MAX = 1024;

export class WingsSession implements SessionHooks, TokenChecked {
  variant = '';
  tokenCheckDue = 0;
  readonly #io: SessionIO;
  readonly #ctx: Ctx;
  readonly #server: ResourceRef;
  readonly #shared: Shared;
  /** Wings 1.12 behaviour: rate limits, frame cap, scope check. */
  readonly #limiter: WingsLimiter | null;
  #permissions: readonly string[] | null = null;
  #client = '';
  /**
   * Token expiry, whole seconds since the epoch: a small integer held inline (a time in
   * milliseconds would be a heap number per session).
   */
  #exp = 0;
  /** Events that arrived while the first auth was answered, in order; null otherwise (see HOLD_MAX). */
  #held: [BridgeEvent, Buffer][] | null = null;
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

  /** Sends an event as Wings' SendJson does: replaced by the exp `jwt error` once the token is dead. */
  #emit(event: string, args: readonly string[] | undefined, now: number): void {
    if (this.#dead(now)) return this.#jwtError(JWT_ERRORS.expired);
    this.#send(event, args);
  }

  /** Whether the token no longer works at `now` (clock ms): from exp + 1 s on (see EXP_LEEWAY_SECONDS). */
  #dead(now: number): boolean {
    return now >= (this.#exp + EXP_LEEWAY_SECONDS) * 1000;
  }

  #jwtError(text: string): void {
    this.#send(SERVER_EVENTS.jwtError, [text]);
  }

  #subject(type: string): string {
    return this.#ctx.subjects.event(this.#server.upstream, type, this.#server.id);
  }

  /** The subject of the state of the link that carries this server, if one does. */
  #linkSubject(): string | null {
    const link = this.#server.link;
    return link ? this.#ctx.subjects.event(this.#server.upstream, LINK_STATE_TYPE, link.id) : null;
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
    if (packet.event === CLIENT_EVENTS.auth) return this.#auth(packet.args[0] ?? '');
    if (!this.#permissions) return this.#jwtError(JWT_ERRORS.notPresent);
    // Wings' HandleInbound: every message but `auth` first checks the token against the clock.
    if (this.#dead(this.#ctx.clock.now())) return this.#jwtError(JWT_ERRORS.expired);
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
    const check = await verifyJwt(config.jwtSecret, token, clock, this.#ctx.tokenPolicy, EXP_LEEWAY_SECONDS);
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
    const client = typeof claims.user_uuid === 'string' ? claims.user_uuid : '';
    // The relay's token endpoint names the client in `user_uuid`: a client a reload removed, or
    // that lost this server, is refused here (the core closes 4403), and one that keeps it is
    // closed later if a reload takes it away. A panel's own user id binds nothing.
    if (client !== '' && !this.#io.bindPrincipal(client, { upstream: this.#server.upstream, id: this.#server.id })) return;
    const first = this.#permissions === null;
    this.#permissions = this.#shared.permissionSets.intern(permissions);
    this.#client = client;
    this.#exp = Math.floor(claims.exp);
    this.variant = variantFor(permissions);
    // A re-auth only refreshes the token: Wings answers `auth success` and nothing else.
    if (!first) return this.#send(SERVER_EVENTS.authSuccess);
    return this.#join();
  }

  /**
   * The first auth: join the server's events (and the upstream's meta messages, and the state of
   * the server's link) before reading where things stand, so nothing published meanwhile is
   * missed; what arrives is held until `auth success`, `status` and `stats` went out, so those
   * come first on every bus, however long the reads take. A server whose link failed for good
   * is refused as Wings refuses a suspended one: closed at `auth`.
   */
  async #join(): Promise<void> {
    const { subjects } = this.#ctx;
    const server = this.#server;
    const linkSubject = this.#linkSubject();
    this.#held = [];
    this.#io.subscribe(subjects.resourceEvents(server.upstream, server.resource, server.id));
    this.#io.subscribe(subjects.event(server.upstream, EVENT_TYPES.upstreamMessage, '_'));
    if (linkSubject) this.#io.subscribe(linkSubject);
    this.#shared.sockets.add(server, 1);
    this.#io.authenticated();
    const [status, link] = await Promise.all([this.#last(this.#subject(EVENT_TYPES.serverStatus)), linkSubject ? this.#last(linkSubject) : undefined]);
    if (this.#io.closed) return;
    if (stateOf(link) === 'failed') return this.#linkFailed(link!.data as UpstreamStateData);
    this.#send(SERVER_EVENTS.authSuccess);
    this.#shared.tokens.add(this);
    const state = stateOf(status) ?? 'offline';
    const now = this.#ctx.clock.now();
    this.#emit(SERVER_EVENTS.status, [state], now);
    if (state === 'offline') {
      const stats = await this.#last(this.#subject(EVENT_TYPES.serverStats));
      if (this.#io.closed) return;
      this.#emit(SERVER_EVENTS.stats, [statsToWire((stats?.data as ServerStatsData | undefined) ?? zeroStats('offline'))], this.#ctx.clock.now());
    }
    this.#release();
  }

  /**
   * A retained event, or undefined when the bus has none or refused the read (too many reads
   * waiting on this node): the session goes on as if nothing were stored rather than stall.
   */
  #last(subject: string): Promise<BridgeEvent | undefined> {
    return this.#io.last(subject).catch(() => undefined);
  }

  /** Delivers what arrived during the first auth, in order, then lets events through directly. */
  #release(): void {
    const held = this.#held;
    this.#held = null;
    if (held === null || held.length === 0) return;
    const now = this.#ctx.clock.now();
    for (const [event, frame] of held) {
      if (this.#io.closed) return;
      this.#deliver(event, frame, now);
    }
  }

  #hold(held: [BridgeEvent, Buffer][], event: BridgeEvent, frame: Buffer): void {
    if (held.length >= HOLD_MAX) {
      const dropped = held.splice(0, HOLD_MAX / 2).length;
      this.#ctx.telemetry.dropped('slow', dropped);
    }
    held.push([event, frame]);
  }

  /** The link of this server failed for good: close as Wings does (4409 suspended, 4400, …). */
  #linkFailed(data: UpstreamStateData): void {
    // The link's own row when it has one that closes (4409 suspended), else 4400 as Wings.
    const row = closingRow(data.code, 'BRIDGE_ERR_UPSTREAM_REJECTED');
    this.#io.close(row, data.code === row ? undefined : data.reason);
  }

  /** Called by the listener's {@link TokenWatch} every check interval: the notices only. */
  checkToken(now: number): void {
    const left = this.#exp - Math.floor(now / 1000);
    if (left <= 0) this.#send(SERVER_EVENTS.tokenExpired);
    else if (left <= this.#ctx.config.expiringWindowSeconds) this.#send(SERVER_EVENTS.tokenExpiring);
  }

  /** `send logs`: the history, whatever the stored status says (a relay may not know it). */
  async #sendLogs(): Promise<void> {
    // The history is read first: past the session's history rate nothing touches the bus.
    // A read the bus refuses (too many waiting on this node) is a throttled one too.
    const lines = await this.#io.history(this.#subject(EVENT_TYPES.serverConsole), this.#ctx.config.consoleLines).catch(() => null);
    if (lines === null) {
      if (this.#logsThrottled) return;
      this.#logsThrottled = true;
      return this.#send(SERVER_EVENTS.throttled, [CLIENT_EVENTS.sendLogs]);
    }
    this.#logsThrottled = false;
    for (const e of lines) this.#emit(SERVER_EVENTS.consoleOutput, [(e.data as { line: string }).line], this.#ctx.clock.now());
  }

  /** `send stats` is always answered, as Wings does: the last stats, else zeros and the state. */
  async #sendStats(): Promise<void> {
    const stats = await this.#last(this.#subject(EVENT_TYPES.serverStats));
    let data = stats?.data as ServerStatsData | undefined;
    if (data === undefined) {
      const status = await this.#last(this.#subject(EVENT_TYPES.serverStatus));
      data = zeroStats((stateOf(status) as ServerStatsData['state'] | undefined) ?? 'offline');
    }
    if (!this.#io.closed) this.#emit(SERVER_EVENTS.stats, [statsToWire(data)], this.#ctx.clock.now());
  }

  onEvent(event: BridgeEvent, frame: Buffer): void {
    const held = this.#held;
    if (held !== null) return this.#hold(held, event, frame);
    this.#deliver(event, frame, this.#shared.eventClock.at(event));
  }

  #deliver(event: BridgeEvent, frame: Buffer, now: number): void {
    if (event.type === LINK_STATE_TYPE) {
      if (stateOf(event) === 'failed') this.#linkFailed(event.data as UpstreamStateData);
      return;
    }
    // Wings' SendJson: no event goes out on a dead token, the exp `jwt error` goes instead.
    if (this.#dead(now)) return this.#jwtError(JWT_ERRORS.expired);
    if (!mayReceive(this.#permissions ?? [], event.type)) return;
    this.#io.send(frame);
  }

  onClose(): void {
    this.#held = null;
    this.#shared.tokens.remove(this);
    if (this.#permissions) this.#shared.sockets.add(this.#server, -1);
  }
}
