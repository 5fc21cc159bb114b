/**
 * One Semoxy dashboard socket on the relay, in either wire version.
 *
 * v1 (ticket era): authenticated before the upgrade; joins at once. Every client frame is answered
 * with the META_MESSAGE "Don't send messages via websocket, use http endpoints instead" and the
 * socket stays open. Every packet goes to every socket (no filtering beyond the client's grants).
 * v2: the first frame must be AUTHENTICATE {sessionId} (a relay API key) → AUTH_SUCCESS, else
 * AUTH_ERROR and close; ENABLE_INTENT / DISABLE_INTENT {intent} are acknowledged, and the enabled
 * intents gate CONSOLE_MESSAGE (`console.<id>` / `console.*`) and STAT_UPDATE (`stat.<id>` / `stat.*`);
 * a malformed packet closes with 1007; an unknown action gets "unsupported action: X".
 *
 * Both versions see only the servers the client's grants allow, from every upstream the listener
 * serves (so a Semoxy dashboard can watch a Wings server), plus those upstreams' meta messages. A
 * grant of `*` covers every server of the upstream, present and future (one wildcard pattern per
 * upstream: Semoxy sends every packet to every socket, SERVER_ADD of a new server included); a
 * grant of ids covers those ids. A link that carries servers the client sees and fails for good
 * (a Wings server suspended upstream) is told as a META_MESSAGE, on the change and on joining.
 * Semoxy's socket library pings every 20 s; a ping still unanswered at the next one ends the
 * connection (as the library's ping timeout does). The core keeps that duty with the listener's
 * `pingIntervalMs`, and closes a v2 socket that has not authenticated by `limits.authDeadlineMs`.
 */
import {
  EVENT_TYPES,
  LINK_STATE_TYPE,
  eventUpstream,
  type ApiClient,
  type BridgeEvent,
  type LinkSpec,
  type ListenerContext,
  type ResourceRef,
  type SessionHooks,
  type SessionIO,
} from '../../src/adapter-kit.ts';
import { UPSTREAM_ID, decodeFrame, encode, encodeFrame, intentAllows, intentFamilyOf, type PanelVersion } from './codec.ts';
import { AuthenticateCheck, IntentCheck } from './schema.ts';
import type { PanelListenerConfig } from './ticket-endpoint.ts';
import { CLIENT_ACTIONS, MESSAGES, PROTOCOL, SERVER_ACTIONS, unsupportedAction } from './vocabulary.ts';

/**
 * A v2 client may enable any string as an intent (Semoxy keeps a set); past this many the relay
 * stops adding, so one client cannot grow the session without bound.
 */
const MAX_INTENTS = 1024;

/** An upstream whose servers the listener serves: the configured servers and the links carrying them. */
export interface ServedUpstream {
  readonly servers: readonly ResourceRef[];
  /** Distinct links of those servers (one for a Semoxy panel, one per server for Wings). */
  readonly links: readonly LinkSpec[];
}

/** Groups the listener's server resources by upstream (built once, on first use). */
export function servedUpstreams(resources: readonly ResourceRef[]): ReadonlyMap<string, ServedUpstream> {
  const out = new Map<string, { servers: ResourceRef[]; links: Map<string, LinkSpec> }>();
  for (const r of resources) {
    if (r.resource !== 'server') continue;
    let u = out.get(r.upstream);
    if (!u) out.set(r.upstream, (u = { servers: [], links: new Map() }));
    u.servers.push(r);
    if (r.link) u.links.set(`${r.link.resource}\u0000${r.link.id}`, r.link);
  }
  return new Map([...out].map(([name, u]) => [name, { servers: u.servers, links: [...u.links.values()] }]));
}

/** What the listener hands a session besides its socket. */
export interface SessionDeps {
  readonly ctx: ListenerContext<PanelListenerConfig>;
  /** The protocol of an upstream the listener serves. */
  protocolOf(upstream: string): string | undefined;
  /** The upstreams whose servers the listener serves. */
  served(): ReadonlyMap<string, ServedUpstream>;
}

function hasPatch(data: unknown): boolean {
  return typeof data === 'object' && data !== null && Object.hasOwn(data, 'patch');
}

/** The server ids `client` is granted on `upstream` by name (a `*` grant is handled apart). */
function grantedIds(client: ApiClient, upstream: string): Set<string> {
  const ids = new Set<string>();
  for (const g of client.grants) if (g.upstream === upstream || g.upstream === '*') for (const id of g.resources) ids.add(id);
  return ids;
}

export class PanelSession implements SessionHooks {
  readonly variant: PanelVersion;
  readonly #io: SessionIO;
  readonly #deps: SessionDeps;
  readonly #intents = new Set<string>();
  #client: ApiClient | null = null;
  /** Cancels the end of the session at its credential's expiry (an app JWT's `exp`). */
  #unwatch: () => void = () => {};

  /** `client` is set for v1 (the ticket named it); a v2 session waits for AUTHENTICATE. */
  constructor(io: SessionIO, deps: SessionDeps, version: PanelVersion, client: ApiClient | null) {
    this.#io = io;
    this.#deps = deps;
    this.variant = version;
    if (client) this.#join(client);
  }

  onMessage(text: string): void | Promise<void> {
    if (this.variant === 'v1') {
      this.#deps.ctx.telemetry.dropped(decodeFrame(text) === null ? 'bad_frame' : 'unknown_event');
      return this.#send(SERVER_ACTIONS.meta, { message: MESSAGES.useHttp });
    }
    const packet = decodeFrame(text);
    if (!packet) return this.#malformed();
    if (packet.action === CLIENT_ACTIONS.authenticate) return this.#authenticate(packet.data);
    if (!this.#client) {
      this.#deps.ctx.telemetry.authFailed('not_authenticated');
      return this.#refuse(MESSAGES.notAuthenticated);
    }
    switch (packet.action) {
      case CLIENT_ACTIONS.enableIntent:
        if (!IntentCheck.Check(packet.data)) return this.#malformed();
        if (this.#intents.size >= MAX_INTENTS && !this.#intents.has(packet.data.intent)) {
          this.#deps.ctx.telemetry.dropped('throttled');
          return this.#send(SERVER_ACTIONS.meta, { message: 'too many intents' });
        }
        this.#intents.add(packet.data.intent);
        return this.#send(SERVER_ACTIONS.intentEnabled, { intent: packet.data.intent });
      case CLIENT_ACTIONS.disableIntent:
        // Semoxy's set.remove() fails on an intent that was never enabled; the relay just acknowledges.
        if (!IntentCheck.Check(packet.data)) return this.#malformed();
        this.#intents.delete(packet.data.intent);
        return this.#send(SERVER_ACTIONS.intentDisabled, { intent: packet.data.intent });
      default:
        this.#deps.ctx.telemetry.dropped('unknown_event');
        return this.#send(SERVER_ACTIONS.meta, { message: unsupportedAction(packet.action) });
    }
  }

  /**
   * AUTHENTICATE {sessionId}: the session id is a relay API key, or what another source of the
   * listener admits (an app JWT, the user's own Semoxy session checked with the real panel). A
   * repeat re-checks it. Returned as a promise: the next frame waits until it is decided.
   */
  async #authenticate(data: unknown): Promise<void> {
    if (!AuthenticateCheck.Check(data)) return this.#malformed();
    const resolved = await this.#deps.ctx.principals.resolve(data.sessionId, { remoteAddress: this.#io.remoteAddress });
    if (this.#io.closed) return;
    if (!resolved.ok) return this.#refuse(resolved.reason === 'expired' ? MESSAGES.sessionExpired : MESSAGES.invalidSession, resolved.reason === 'unknown' || resolved.reason === 'invalid' ? 'invalid_session' : resolved.reason);
    const client = resolved.principal;
    // Join before answering, so nothing published after AUTH_SUCCESS is missed.
    // A repeat with the same principal keeps the subscriptions (another source's principal is a new object each time).
    const same = this.#client !== null && client.name === this.#client.name && (client.grants === this.#client.grants || JSON.stringify(client.grants) === JSON.stringify(this.#client.grants));
    if (!same) this.#join(client);
    if (this.#io.closed) return;
    this.#watch(client, data.sessionId);
    this.#io.authenticated();
    this.#send(SERVER_ACTIONS.authSuccess, {});
  }

  /**
   * Subscribes to every server the client may see (all of an upstream's, present and future, for
   * a `*` grant), to the meta messages of their upstreams and to the state of the links carrying
   * them; then tells the client of any such link that is already gone for good.
   */
  #join(client: ApiClient): void {
    const { ctx } = this.#deps;
    const { subjects, clients } = ctx;
    this.#io.unsubscribeAll();
    // A ticket issued before a reload removed its client is refused here (the core closes 4403);
    // later, a reload that removes the client or a grant its subscriptions use closes the session.
    if (!this.#io.bindPrincipal(client.name)) return;
    this.#client = client;
    this.#watch(client);
    const links = new Set<string>();
    for (const [upstream, served] of this.#deps.served()) {
      if (clients.permissionsFor(client, upstream, '*') !== null) {
        this.#io.subscribe(subjects.resourceFamily(upstream, 'server'));
        this.#io.subscribe(subjects.typeAcross(upstream, LINK_STATE_TYPE));
        for (const link of served.links) links.add(subjects.event(upstream, LINK_STATE_TYPE, link.id));
      } else {
        const ids = grantedIds(client, upstream);
        if (ids.size === 0) continue;
        for (const id of ids) this.#io.subscribe(subjects.resourceEvents(upstream, 'server', id));
        // One link for the whole upstream (a Semoxy panel) carries every server, listed or not.
        const carriers = served.links.length === 1 ? served.links : served.servers.filter((r) => ids.has(r.id) && r.link).map((r) => r.link!);
        for (const link of carriers) {
          const subject = subjects.event(upstream, LINK_STATE_TYPE, link.id);
          this.#io.subscribe(subject);
          links.add(subject);
        }
      }
      this.#io.subscribe(subjects.event(upstream, EVENT_TYPES.upstreamMessage, UPSTREAM_ID));
    }
    if (links.size > 0) void this.#announceFailed([...links]);
  }

  /** A client joining after a link failed for good hears of it too (it will not change again). */
  async #announceFailed(subjects: string[]): Promise<void> {
    // A read the bus refuses is skipped: the live change already reached those who were there.
    const states = await Promise.all(subjects.map((s) => this.#io.last(s).catch(() => undefined)));
    for (const state of states) {
      if (this.#io.closed) return;
      const frame = state === undefined ? null : encode(state, this.variant);
      if (frame) this.#io.send(frame);
    }
  }

  onEvent(event: BridgeEvent, frame: Buffer): void {
    // A link state with nothing to tell (see codec `encode`).
    if (frame.length === 0) return;
    // A Semoxy state change is one server.status carrying Semoxy's patch, written back as it came.
    // A status of a Semoxy server without one is a state the relay inferred (from the server list,
    // or a line from a server of unknown state) for dialects that need a current state (Wings' first
    // `status`); Semoxy itself said nothing, so neither does a Semoxy dashboard.
    if (event.type === EVENT_TYPES.serverStatus && !hasPatch(event.data) && this.#deps.protocolOf(eventUpstream(event)) === PROTOCOL) return;
    if (this.variant === 'v2') {
      const family = intentFamilyOf(event.type);
      if (family !== null && !intentAllows(this.#intents, family, event.subject)) return;
    }
    this.#io.send(frame);
  }

  /**
   * Ends the session when its credential expires: v2 as Semoxy ends an expired session
   * (AUTH_ERROR "session expired", then close); v1 has no such packet and is closed (4116).
   */
  #watch(client: ApiClient, credential?: string): void {
    this.#unwatch();
    const expired = this.variant === 'v2' ? () => this.#expired() : undefined;
    // v2 re-checks a hook's or panel's principal with the session id it presented; a v1 ticket was spent.
    const recheck = credential === undefined ? undefined : { credential, context: { remoteAddress: this.#io.remoteAddress } };
    this.#unwatch = this.#deps.ctx.principals.expireWith(this.#io, client, expired, recheck);
  }

  #expired(): void {
    this.#send(SERVER_ACTIONS.authError, { message: MESSAGES.sessionExpired });
    this.#io.close('BRIDGE_ERR_CREDENTIAL_EXPIRED');
  }

  onClose(): void {
    this.#unwatch();
  }

  #send(action: string, data: unknown): void {
    this.#io.send(encodeFrame({ action, data }));
  }

  /** Semoxy answers a packet it cannot read with a META_MESSAGE, then closes. */
  #malformed(): void {
    this.#deps.ctx.telemetry.dropped('bad_frame');
    this.#send(SERVER_ACTIONS.meta, { message: MESSAGES.malformed });
    this.#io.close('BRIDGE_ERR_BAD_FRAME', MESSAGES.malformed);
  }

  /** AUTH_ERROR and close, as Semoxy; `failure` names a refused credential (the core counts it per socket and address). */
  #refuse(message: string, failure?: string): void {
    this.#send(SERVER_ACTIONS.authError, { message });
    if (failure !== undefined) this.#io.authFailed(failure);
    this.#io.close('BRIDGE_ERR_UNAUTHORIZED', message);
  }
}
