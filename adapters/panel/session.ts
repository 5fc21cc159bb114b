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
 * serves (so a Semoxy dashboard can watch a Wings server), plus those upstreams' meta messages.
 * Semoxy's socket library pings every 20 s; a ping still unanswered at the next one ends the
 * connection (as the library's ping timeout does). The core keeps that duty with the listener's
 * `pingIntervalMs`, and closes a v2 socket that has not authenticated by `limits.authDeadlineMs`.
 */
import { eventUpstream, type ApiClient, type BridgeEvent, type ListenerContext, type SessionHooks, type SessionIO } from '../../src/adapter-kit.ts';
import { UPSTREAM_ID, decodeFrame, encodeFrame, intentAllows, intentFamilyOf, type PanelVersion } from './codec.ts';
import { AuthenticateCheck, IntentCheck } from './schema.ts';
import type { PanelListenerConfig } from './ticket-endpoint.ts';
import { CLIENT_ACTIONS, MESSAGES, PROTOCOL, SERVER_ACTIONS, unsupportedAction } from './vocabulary.ts';

/**
 * A v2 client may enable any string as an intent (Semoxy keeps a set); past this many the relay
 * stops adding, so one client cannot grow the session without bound.
 */
const MAX_INTENTS = 1024;

/** What the listener hands a session besides its socket. */
export interface SessionDeps {
  readonly ctx: ListenerContext<PanelListenerConfig>;
  /** The protocol of an upstream the listener serves. */
  protocolOf(upstream: string): string | undefined;
}

export class PanelSession implements SessionHooks {
  readonly variant: PanelVersion;
  readonly #io: SessionIO;
  readonly #deps: SessionDeps;
  readonly #intents = new Set<string>();
  #client: ApiClient | null = null;

  /** `client` is set for v1 (the ticket named it); a v2 session waits for AUTHENTICATE. */
  constructor(io: SessionIO, deps: SessionDeps, version: PanelVersion, client: ApiClient | null) {
    this.#io = io;
    this.#deps = deps;
    this.variant = version;
    if (client) this.#join(client);
  }

  onMessage(text: string): void {
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

  /** AUTHENTICATE {sessionId}: the session id is a relay API key. A repeat re-checks it. */
  #authenticate(data: unknown): void {
    if (!AuthenticateCheck.Check(data)) return this.#malformed();
    const client = this.#deps.ctx.clients.authenticate(data.sessionId);
    if (!client) return this.#refuse(MESSAGES.invalidSession, 'invalid_session');
    // Join before answering, so nothing published after AUTH_SUCCESS is missed.
    if (client !== this.#client) this.#join(client);
    this.#io.authenticated();
    this.#send(SERVER_ACTIONS.authSuccess, {});
  }

  /** Subscribes to every server the client may see, and to the meta messages of their upstreams. */
  #join(client: ApiClient): void {
    const { ctx } = this.#deps;
    this.#io.unsubscribeAll();
    this.#client = client;
    const upstreams = new Set<string>();
    for (const r of ctx.resources()) {
      if (r.resource !== 'server' || ctx.clients.permissionsFor(client, r.upstream, r.id) === null) continue;
      this.#io.subscribe(ctx.subjects.resourceEvents(r.upstream, 'server', r.id));
      upstreams.add(r.upstream);
    }
    for (const upstream of upstreams) this.#io.subscribe(ctx.subjects.event(upstream, 'upstream.message', UPSTREAM_ID));
  }

  onEvent(event: BridgeEvent, frame: Buffer): void {
    // A Semoxy state change was published twice, as server.status and server.patch; the patch is
    // the native packet, so the status copy is dropped here (Wings' status has no patch twin).
    if (event.type === 'server.status' && this.#deps.protocolOf(eventUpstream(event)) === PROTOCOL) return;
    if (this.variant === 'v2') {
      const family = intentFamilyOf(event.type);
      if (family !== null && !intentAllows(this.#intents, family, event.subject)) return;
    }
    this.#io.send(frame);
  }

  onClose(): void {}

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
