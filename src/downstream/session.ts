/**
 * One dashboard connection as an adapter sees it: the SessionIO slice over a host connection,
 * with a bounded write queue, bounded inbound work and the duties no adapter may forget.
 *
 * Out: a bounded write queue, closed as a slow consumer past its high-water mark (session-wire.ts).
 *
 * In: frames reach the adapter one at a time and in order (a frame whose work is asynchronous
 * holds the next until it settled), within `limits.inboundRate`, with at most
 * `limits.inboundQueueFrames` waiting (past it the socket is closed 4109). Once the session is
 * closed, waiting frames are discarded and nothing more is handed over, read, sent or requested.
 *
 * A relay holds many of these, so a session is kept small: what every session of a listener
 * shares lives once in {@link SessionShared}, the auth deadline and the keep-alive are entries in
 * the listener's deadline queues (no timer per session), the inbound state is created when the
 * session first spends a budget and given back once at rest, and nothing here is a closure per
 * connection.
 */
import type { EventEncoder, InterestDeclaration, SessionHooks, SessionIO } from '../contracts.ts';
import { ERRORS } from '../errors.ts';
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';
import type { ConnectionHooks } from './hosted-socket.ts';
import type { HubMember } from './hub.ts';
import { Inbound, type Budget } from './inbound.ts';
import type { Deadlined, SessionShared } from './session-shared.ts';
import { SessionWire } from './session-wire.ts';

export { SessionShared } from './session-shared.ts';

/** Past this many patterns a session keeps them in a Set (a Felix session may listen to 1 000 ids). */
const PATTERN_ARRAY_MAX = 8;

/** The limits that are rates (`{burst, refillMs}`). */
type RateLimit = 'inboundRate' | 'commandRate' | 'historyRate' | 'interestRate';

/** One bit per rate in Inbound.limitsLogged: each is logged at its first hit in a session, not per frame. */
const LOGGED_BIT: Record<RateLimit, number> = { inboundRate: 1, commandRate: 2, historyRate: 4, interestRate: 8 };

const RATE_LIMITED: CommandReply = Object.freeze({ ok: false, code: 'BRIDGE_ERR_RATE_LIMITED', message: ERRORS.BRIDGE_ERR_RATE_LIMITED.reason });
/** A command asked for after the session closed: nothing was sent. */
const CLOSED: CommandReply = Object.freeze({ ok: false, code: 'BRIDGE_ERR_NORMAL', message: 'session closed' });

let sessions = 0;

export class Session extends SessionWire implements SessionIO, HubMember, ConnectionHooks, Deadlined {
  readonly #n = (sessions += 1);
  /**
   * The adapter's hooks: set by {@link attach} right after the adapter opened the session, and
   * back to no-ops once the socket closed. A plain field, as the hub reads it per delivery.
   */
  hooks: SessionHooks = NO_HOOKS;
  /** Hub patterns this session is in: a session has one or two, a Felix session maybe 1 000. */
  #patterns: string[] | Set<string> | null = null;
  /** The configured client this session acts for (SessionIO.bindPrincipal); null for most. */
  #principal: string | null = null;
  /** A ping is out and no pong has come back since. */
  #awaitingPong = false;
  #in: Inbound | null = null;

  /** Unique within this process (keys the interest table); built when asked, as few sessions need it. */
  get id(): string {
    return `s${this.#n}`;
  }

  get dialect(): string {
    return this.shared.dialect;
  }

  get encode(): EventEncoder {
    return this.shared.encode;
  }

  /**
   * Enrols the session in its listener's keep-alive and, unless the upgrade already proved a
   * credential, its auth deadline. Called before the adapter opens the session, so an adapter
   * that authenticates at once (or closes at once) finds itself enrolled.
   */
  enrol(authenticated: boolean): void {
    const shared = this.shared;
    if (!authenticated) shared.authDeadline.schedule(this);
    shared.keepAlive.schedule(this);
  }

  attach(hooks: SessionHooks): void {
    this.hooks = hooks;
  }

  /** From now on the session does no work: no frames handed over, no deadlines, no subscriptions. */
  protected override stop(): void {
    super.stop();
    if (this.#in) this.#in.queue = null;
    const shared = this.shared;
    shared.authDeadline.cancel(this);
    shared.keepAlive.cancel(this);
    shared.rest.cancel(this);
    this.unsubscribeAll();
  }

  subscribe(pattern: string): () => void {
    if (this.closing) return noop;
    const patterns = this.#patterns;
    const has = patterns === null ? false : Array.isArray(patterns) ? patterns.includes(pattern) : patterns.has(pattern);
    if (!has) {
      // The hub's copy of the pattern: sessions that share a pattern share one string. Small lists
      // are arrays built at their exact size (push would reserve room for 16 more, in every session).
      const held = this.shared.hub.subscribe(pattern, this);
      if (patterns === null) this.#patterns = [held];
      else if (!Array.isArray(patterns)) patterns.add(held);
      else if (patterns.length < PATTERN_ARRAY_MAX) this.#patterns = patterns.concat(held);
      else this.#patterns = new Set(patterns).add(held);
    }
    return () => this.#unsubscribe(pattern);
  }

  #unsubscribe(pattern: string): void {
    const patterns = this.#patterns;
    if (patterns === null) return;
    if (Array.isArray(patterns)) {
      const i = patterns.indexOf(pattern);
      if (i < 0) return;
      this.#patterns = patterns.length === 1 ? null : patterns.filter((_, j) => j !== i);
    } else if (!patterns.delete(pattern)) return;
    this.shared.hub.unsubscribe(pattern, this);
  }

  unsubscribeAll(): void {
    const patterns = this.#patterns;
    if (!patterns) return;
    this.#patterns = null;
    for (const p of patterns) this.shared.hub.unsubscribe(p, this);
  }

  declareInterest(declarations: readonly InterestDeclaration[]): boolean {
    if (this.closing || !this.#allow('interest', 'interestRate')) return false;
    const shared = this.shared;
    for (const d of declarations) shared.interest.declare(this.id, d.upstream, d.resource, d.ids);
    return true;
  }

  /**
   * Spends one of this session's `budget`; past it the drop is counted against `limit`, and logged
   * the first time this session hits that limit (a flood of frames is one line, not thousands).
   */
  #allow(budget: Budget, limit: RateLimit): boolean {
    const shared = this.shared;
    // A spent budget refills on the clock: a while later the session looks whether it is at rest.
    if (!shared.rest.has(this)) shared.rest.schedule(this);
    const inb = (this.#in ??= new Inbound());
    if (inb.spend(budget, shared.limits[limit], shared.now())) return true;
    const bit = LOGGED_BIT[limit];
    const first = (inb.limitsLogged & bit) === 0;
    inb.limitsLogged |= bit;
    shared.throttled(limit, first ? this : undefined);
    return false;
  }

  /** The configured client this session acts for, if it bound one. */
  get principal(): string | null {
    return this.#principal;
  }

  /** The bus patterns this session is subscribed to (what a reload checks its grants against). */
  patterns(): Iterable<string> {
    return this.#patterns ?? NO_PATTERNS;
  }

  bindPrincipal(client: string, on?: { readonly upstream: string; readonly id: string }): boolean {
    if (this.closing) return false;
    const shared = this.shared;
    const binding = shared.clients?.bind(client, on) ?? 'unknown';
    if (binding === 'withdrawn') {
      shared.authFailed('grant_withdrawn', this);
      this.close('BRIDGE_ERR_FORBIDDEN', GRANT_WITHDRAWN);
      return false;
    }
    this.#principal = binding === 'bound' ? client : null;
    return true;
  }

  authenticated(): void {
    this.shared.authDeadline.cancel(this);
  }

  authFailed(reason: string): void {
    const shared = this.shared;
    shared.authFailed(reason, this);
    shared.admission.authFailed(this.remoteAddress);
    if (this.closing) return;
    const inb = (this.#in ??= new Inbound());
    inb.authFailures += 1;
    if (inb.authFailures < shared.limits.authFailuresPerSocket) return;
    shared.limitHit('authFailuresPerSocket', this);
    this.close('BRIDGE_ERR_AUTH_FAILURES', `${inb.authFailures} on this socket`);
  }

  async request(command: BridgeCommand): Promise<CommandReply> {
    if (this.closing) return CLOSED;
    const { metrics, dialect, backend } = this.shared;
    if (!this.#allow('commands', 'commandRate')) {
      metrics.commands.inc({ dialect, result: 'throttled' });
      return RATE_LIMITED;
    }
    const reply = await backend.request(command);
    metrics.commands.inc({ dialect, result: reply.ok ? 'ok' : reply.code === 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE' ? 'unavailable' : 'error' });
    return reply;
  }

  async history(subject: string, limit: number): Promise<BridgeEvent[] | null> {
    if (this.closing || !this.#allow('reads', 'historyRate')) return null;
    return this.shared.backend.history(subject, limit);
  }

  async last(subject: string): Promise<BridgeEvent | undefined> {
    if (this.closing) return undefined;
    return this.shared.backend.last(subject);
  }

  // Deadlined: what the listener's deadline queues call.

  authExpired(): void {
    if (this.closing) return;
    const shared = this.shared;
    shared.authFailed('auth_timeout', this, 'authDeadlineMs');
    shared.limitHit('authDeadlineMs');
    this.close('BRIDGE_ERR_AUTH_TIMEOUT', `not authenticated within ${shared.authDeadline.delayMs} ms`);
  }

  pingDue(): void {
    if (this.closing) return;
    const shared = this.shared;
    if (this.#awaitingPong) {
      shared.metrics.heartbeatTimeouts.inc({ dialect: shared.dialect, direction: 'downstream' });
      return this.terminate();
    }
    this.#awaitingPong = true;
    this.conn.ping();
    shared.keepAlive.schedule(this);
  }

  restDue(): void {
    const inb = this.#in;
    if (this.closing || inb === null) return;
    const shared = this.shared;
    // Budgets still refilling (or a frame still at work): look again later.
    if (!inb.idle(shared.now())) return shared.rest.schedule(this);
    // Failed authentications count for the socket's whole life, and a limit is logged once per
    // session; otherwise nothing is lost.
    if (inb.authFailures === 0 && inb.limitsLogged === 0) this.#in = null;
  }

  // ConnectionHooks: what the host reports about the socket.

  onMessage(text: string): void {
    if (this.closing || !this.#allow('frames', 'inboundRate')) return;
    const inb = this.#in!;
    if (!inb.busy) return this.#handle(text, inb);
    const { limits } = this.shared;
    if ((inb.queue ??= []).length < limits.inboundQueueFrames) {
      inb.queue.push(text);
      return;
    }
    this.shared.limitHit('inboundQueueFrames', this);
    this.close('BRIDGE_ERR_INBOUND_OVERFLOW', `more than ${limits.inboundQueueFrames} frames waiting`);
  }

  /** Hands `text`, then whatever waits behind it, to the adapter until a frame's work is asynchronous. */
  #handle(text: string | undefined, inb: Inbound): void {
    while (text !== undefined && !this.closing) {
      let result: void | Promise<void> = undefined;
      try {
        result = this.hooks.onMessage(text);
      } catch (err) {
        this.shared.handlerError(err);
      }
      if (result !== undefined && typeof result.then === 'function') {
        inb.busy = true;
        result.then(
          () => this.#settled(inb),
          (err: unknown) => {
            this.shared.handlerError(err);
            this.#settled(inb);
          },
        );
        return;
      }
      text = inb.next();
    }
  }

  #settled(inb: Inbound): void {
    inb.busy = false;
    this.#handle(inb.next(), inb);
  }

  onPong(): void {
    this.#awaitingPong = false;
  }

  /** The socket is gone. */
  onClose(code: number, reason: string): void {
    const shared = this.shared;
    shared.sessions.delete(this);
    shared.metrics.downstreamConnections.dec({ dialect: shared.dialect });
    this.stop();
    this.drop();
    shared.interest.drop(this.id);
    const hooks = this.hooks;
    this.hooks = NO_HOOKS;
    hooks.onClose(code, reason);
  }
}

function noop(): void {}

const NO_PATTERNS: readonly string[] = [];

/** The detail of the close of a session whose client lost its grant. */
export const GRANT_WITHDRAWN = 'grant withdrawn';

/** A session's hooks before the adapter attached its own, and after the socket closed. */
const NO_HOOKS: SessionHooks = {
  variant: '',
  onMessage() {},
  onEvent() {},
  onClose() {},
};
