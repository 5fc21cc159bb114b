/**
 * Panel, upstream role: the relay as a client of a Semoxy panel's event socket. One socket carries
 * every server of the panel, so the role holds ONE link (`panel/_`) and declares the configured
 * servers through `resources()`; events are published under the server id each packet names.
 *
 * v1 (ticket era): GET {url}/account/ticket with the session → `data.token` → connect
 * `…/server/events?ticket=<token>`; the link is ready once the socket is open.
 * v2: connect `…/server/events`, send AUTHENTICATE {sessionId}; on AUTH_SUCCESS send ENABLE_INTENT
 * per configured intent and become ready; AUTH_ERROR counts an auth failure and drops the socket to
 * the backoff loop. Keep-alive is WebSocket ping/pong, answered by the core's socket.
 * Semoxy takes commands over HTTP only, so every command is refused.
 *
 * Semoxy announces a server's state only when it changes, so a client that connects while a server
 * runs never hears it. Once the socket is authenticated the link reads `GET {url}/server/` (the
 * server list, with each server's `onlineStatus`) and publishes each state the socket has not
 * already reported since; a console line from a server whose state is still unknown (the list
 * failed) publishes `running` first, as only a running server prints.
 */
import {
  EVENT_TYPES,
  LinkFailure,
  handshakeDeadline,
  retryVerdict,
  type CommandReply,
  type ConnectTarget,
  type LinkHooks,
  type LinkIO,
  type LinkSpec,
  type LinkVerdict,
  type ServerState,
  type Timer,
  type UpstreamConfigOf,
  type UpstreamContext,
  type UpstreamRole,
} from '../../src/adapter-kit.ts';
import type { PanelUpstreamOptions } from './index.ts';
import { decodeFrame, encodeFrame, isControlAction, isKnownServerAction, packetToEvents, stateOfOnlineStatus, type PanelVersion } from './codec.ts';
import { semoxyPassThrough } from './pass-through.ts';
import { ListedServerCheck, MetaCheck } from './schema.ts';
import { CLIENT_ACTIONS, PATHS, SERVER_ACTIONS } from './vocabulary.ts';

/** The upstream's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type PanelUpstreamConfig = UpstreamConfigOf<typeof PanelUpstreamOptions>;

/** The one link of a panel upstream: the whole panel. */
export const PANEL_LINK: LinkSpec = Object.freeze({ resource: 'panel', id: '_' });

/** What every command gets: Semoxy's socket is server → client only. */
export const COMMANDS_UNSUPPORTED: CommandReply = Object.freeze({
  ok: false,
  code: 'BRIDGE_ERR_UNSUPPORTED_DATA',
  message: 'the panel takes commands over HTTP, not the event socket',
});

class PanelLink implements LinkHooks {
  readonly #io: LinkIO;
  readonly #base: string;
  readonly #session: string;
  readonly #version: PanelVersion;
  readonly #intents: readonly string[];
  readonly #authTimeoutMs: number;
  /** Last power state seen per server: STAT_UPDATE does not say it. */
  readonly #states = new Map<string, ServerState>();
  #authTimer: Timer | null = null;
  #authed = false;
  /** Bumped per socket, so a server list that comes back after its socket went is ignored. */
  #socket = 0;
  /** Servers whose state the socket reported while the server list was being read; null otherwise. */
  #reported: Set<string> | null = null;

  constructor(io: LinkIO, config: { base: string; session: string; version: PanelVersion; intents: readonly string[]; authTimeoutMs: number }) {
    this.#io = io;
    this.#base = config.base.replace(/\/+$/, '');
    this.#session = config.session;
    this.#version = config.version;
    this.#intents = config.intents;
    this.#authTimeoutMs = config.authTimeoutMs;
  }

  async prepare(): Promise<ConnectTarget> {
    const socket = `${this.#base.replace(/^http/, 'ws')}${PATHS.events}`;
    if (this.#version === 'v2') return { url: socket };
    return { url: `${socket}?ticket=${encodeURIComponent(await this.#fetchTicket())}` };
  }

  /** v1: trades the session for a ticket. Rejects with LinkFailure (the supervisor backs off). */
  async #fetchTicket(): Promise<string> {
    let res;
    try {
      res = await this.#io.http({
        method: 'GET',
        url: `${this.#base}${PATHS.ticket}`,
        headers: { authorization: `Bearer ${this.#session}`, accept: 'application/json' },
      });
    } catch (err) {
      throw new LinkFailure(`ticket endpoint unreachable: ${(err as Error).message}`, false, { cause: err });
    }
    if (res.status === 401 || res.status === 403) this.#io.telemetry.authFailed(`ticket_http_${res.status}`);
    if (res.status !== 200) throw new LinkFailure(`ticket endpoint answered HTTP ${res.status}`);
    const token = (res.json as { data?: { token?: unknown } } | undefined)?.data?.token;
    if (typeof token !== 'string' || token === '') throw new LinkFailure('ticket endpoint answered without data.token');
    return token;
  }

  onOpen(): void {
    this.#authed = false;
    this.#socket += 1;
    if (this.#version === 'v1') {
      // The ticket was checked before the upgrade: an open socket is an authenticated one.
      this.#authed = true;
      this.#io.ready();
      void this.#learnStates();
      return;
    }
    this.#io.send(encodeFrame({ action: CLIENT_ACTIONS.authenticate, data: { sessionId: this.#session } }));
    this.#authTimer?.cancel();
    const expiry = { reason: 'timeout', code: 'BRIDGE_ERR_UPSTREAM_TIMEOUT', detail: 'no AUTH_SUCCESS in time' } as const;
    this.#authTimer = handshakeDeadline(this.#io, this.#authTimeoutMs, expiry, () => this.#authed);
  }

  onMessage(text: string): void {
    const packet = decodeFrame(text);
    if (!packet) return this.#io.telemetry.dropped('bad_frame');
    if (isControlAction(packet.action)) return this.#control(packet.action, packet.data);
    const events = packetToEvents(packet, (id) => this.#states.get(id));
    // A known action whose data does not fit is a broken frame; any other action is one we do not read.
    if (!events) return this.#io.telemetry.dropped(isKnownServerAction(packet.action) ? 'bad_frame' : 'unknown_event');
    for (const e of events) {
      if (e.type === EVENT_TYPES.serverStatus) {
        this.#states.set(e.id, (e.data as { state: ServerState }).state);
        this.#reported?.add(e.id);
      } else if (e.type === EVENT_TYPES.serverRemoved) this.#states.delete(e.id);
      else if (e.type === EVENT_TYPES.serverConsole && !this.#states.has(e.id)) this.#setState(e.id, 'running');
      this.#io.publish(e.type, e.data, e.id);
    }
  }

  #setState(id: string, state: ServerState): void {
    this.#states.set(id, state);
    this.#io.publish(EVENT_TYPES.serverStatus, { state }, id);
  }

  /**
   * Reads every server's state from the server list, once per authenticated socket. A state the
   * socket reported meanwhile is at least as new and is kept. A failed read costs nothing but a
   * log line and a count: states then come from the socket as they change.
   */
  async #learnStates(): Promise<void> {
    const socket = this.#socket;
    this.#reported = new Set();
    let res;
    try {
      res = await this.#io.http({ method: 'GET', url: `${this.#base}${PATHS.servers}`, headers: { authorization: `Bearer ${this.#session}`, accept: 'application/json' } });
    } catch (err) {
      res = null;
      this.#io.log.warn('panel server list unreachable', { error: (err as Error).name });
    }
    if (socket !== this.#socket) return;
    const reported = this.#reported;
    this.#reported = null;
    if (res === null) return;
    if (res.status !== 200 || !Array.isArray(res.json)) {
      if (res.status === 401 || res.status === 403) this.#io.telemetry.authFailed(`servers_http_${res.status}`);
      this.#io.log.warn('panel server list refused', { status: res.status });
      return;
    }
    for (const server of res.json) {
      if (!ListedServerCheck.Check(server)) {
        this.#io.telemetry.dropped('bad_frame');
        continue;
      }
      const state = stateOfOnlineStatus(server.onlineStatus);
      if (state !== null && !reported.has(server.id)) this.#setState(server.id, state);
    }
  }

  #control(action: string, data: unknown): void {
    switch (action) {
      case SERVER_ACTIONS.authSuccess:
        if (this.#authed) return;
        this.#authTimer?.cancel();
        this.#authed = true;
        // Intents after AUTH_SUCCESS: before it, Semoxy answers anything but AUTHENTICATE with AUTH_ERROR.
        for (const intent of this.#intents) this.#io.send(encodeFrame({ action: CLIENT_ACTIONS.enableIntent, data: { intent } }));
        this.#io.ready();
        void this.#learnStates();
        return;
      case SERVER_ACTIONS.authError: {
        const message = MetaCheck.Check(data) ? data.message : '';
        this.#io.telemetry.authFailed(message === 'session expired' ? 'session_expired' : 'invalid_session');
        this.#io.log.warn('panel refused the session', { message });
        this.#io.close('BRIDGE_ERR_UPSTREAM_AUTH', 'authentication refused');
        return;
      }
      default:
        // INTENT_ENABLED / INTENT_DISABLED acknowledge what was asked; nothing to do.
        return;
    }
  }

  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict {
    this.#authed = false;
    this.#socket += 1;
    this.#authTimer?.cancel();
    // A refused ticket (401) is worth a fresh ticket; a Semoxy restart looks the same as a drop.
    if (info.httpStatus === 401) this.#io.telemetry.authFailed('ticket_refused');
    return retryVerdict(info);
  }

  onCommand(): CommandReply {
    return COMMANDS_UNSUPPORTED;
  }

  dispose(): void {
    this.#socket += 1;
    this.#authTimer?.cancel();
    this.#authTimer = null;
  }
}

/** Builds the upstream role. With `simulator`, the URL and session come from the simulator's endpoint. */
export function createPanelUpstream(ctx: UpstreamContext<PanelUpstreamConfig>): UpstreamRole {
  const { config, simulator } = ctx;
  const base = config.url ?? simulator?.url ?? '';
  const session = config.session ?? simulator?.credentials.session ?? '';
  const servers: LinkSpec[] = config.servers.map((id) => Object.freeze({ resource: 'server', id }));
  return {
    links: () => [PANEL_LINK],
    resources: () => servers,
    link: (_spec, io) => new PanelLink(io, { base, session, version: config.version, intents: config.intents, authTimeoutMs: config.authTimeoutMs }),
    passThrough: semoxyPassThrough(base),
  };
}
