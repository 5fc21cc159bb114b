/**
 * Wings, upstream role: the relay as a Pterodactyl client of one server's websocket.
 *
 * Per attempt: GET {panel}/api/client/servers/{id}/websocket with the client API key → {token,
 * socket}; connect with `Origin: <panel url>` (Wings refuses a missing or foreign Origin); send
 * `auth`. Tokens live ~10 minutes: on `token expiring`, `token expired`, or a `jwt error` with the
 * exp or denylist text, fetch a new token and re-`auth` on the same socket, as the panel's own
 * client does. 4409 (suspended) and 4400 end the link for good.
 */
import { LinkFailure, handshakeDeadline, retryVerdict } from '../../src/adapter-kit.ts';
import type { BridgeCommand, CommandReply, ConnectTarget, LinkHooks, LinkIO, LinkSpec, LinkVerdict, Timer, UpstreamConfigOf, UpstreamContext, UpstreamRole } from '../../src/adapter-kit.ts';
import type { WingsUpstreamOptions } from './index.ts';
import { wingsPassThrough } from './pass-through.ts';
import { commandToPacket, formatFrame, packetToEvent, parseFrame } from './codec.ts';
import { CLOSE_CODES, CLIENT_EVENTS, JWT_ERRORS, SERVER_EVENTS } from './vocabulary.ts';

/** The upstream's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type WingsUpstreamConfig = UpstreamConfigOf<typeof WingsUpstreamOptions>;

/** Frames already in flight when a re-auth is sent may still carry the old token's complaint. */
const REAUTH_GRACE_MS = 5000;

/** Why a token fetch failed, for the auth-failure counter. */
function fetchFailure(status: number): LinkFailure {
  return new LinkFailure(`token endpoint answered HTTP ${status}`);
}

class WingsLink implements LinkHooks {
  readonly #io: LinkIO;
  readonly #panel: string;
  readonly #apiKey: string;
  readonly #origin: string;
  readonly #authTimeoutMs: number;
  #authed = false;
  #refreshing = false;
  /** When a re-auth with a fresh token was sent and not yet answered by `auth success`. */
  #reauthSentAt: number | null = null;
  #disposed = false;
  #authTimer: Timer | null = null;

  constructor(io: LinkIO, panel: string, apiKey: string, origin: string, authTimeoutMs: number) {
    this.#io = io;
    this.#panel = panel.replace(/\/$/, '');
    this.#apiKey = apiKey;
    this.#origin = origin;
    this.#authTimeoutMs = authTimeoutMs;
  }

  /** Fetches `{token, socket}` from the panel. Rejects with LinkFailure. */
  async #fetchToken(): Promise<{ token: string; socket: string }> {
    const url = `${this.#panel}/api/client/servers/${encodeURIComponent(this.#io.spec.id)}/websocket`;
    let res;
    try {
      res = await this.#io.http({ method: 'GET', url, headers: { authorization: `Bearer ${this.#apiKey}`, accept: 'application/json' } });
    } catch (err) {
      throw new LinkFailure(`token endpoint unreachable: ${(err as Error).message}`, false, { cause: err });
    }
    if (res.status === 401 || res.status === 403) {
      this.#io.telemetry.authFailed(`token_http_${res.status}`);
      throw fetchFailure(res.status);
    }
    if (res.status !== 200) throw fetchFailure(res.status);
    const data = (res.json as { data?: { token?: unknown; socket?: unknown } } | undefined)?.data;
    if (typeof data?.token !== 'string' || typeof data.socket !== 'string') {
      throw new LinkFailure('token endpoint answered without data.token and data.socket');
    }
    return { token: data.token, socket: data.socket };
  }

  #token = '';

  async prepare(): Promise<ConnectTarget> {
    const { token, socket } = await this.#fetchToken();
    this.#token = token;
    return { url: socket, headers: { origin: this.#origin } };
  }

  onOpen(): void {
    this.#authed = false;
    this.#sendAuth(this.#token);
  }

  #sendAuth(token: string): void {
    this.#io.send(formatFrame(CLIENT_EVENTS.auth, [token]));
    this.#authTimer?.cancel();
    const expiry = { reason: 'timeout', code: 'BRIDGE_ERR_UPSTREAM_TIMEOUT', detail: 'no auth success in time' } as const;
    this.#authTimer = handshakeDeadline(this.#io, this.#authTimeoutMs, expiry, () => this.#authed);
  }

  onMessage(text: string): void {
    const packet = parseFrame(text);
    if (!packet) {
      this.#io.telemetry.dropped('bad_frame');
      return;
    }
    switch (packet.event) {
      case SERVER_EVENTS.authSuccess:
        this.#authTimer?.cancel();
        this.#reauthSentAt = null;
        if (!this.#authed) {
          this.#authed = true;
          this.#io.ready();
        }
        return;
      case SERVER_EVENTS.tokenExpiring:
      case SERVER_EVENTS.tokenExpired:
        return this.#onTokenTrouble();
      case SERVER_EVENTS.jwtError: {
        const message = packet.args[0] ?? '';
        if (message === JWT_ERRORS.expired || message === JWT_ERRORS.denylist) return this.#onTokenTrouble();
        this.#io.telemetry.authFailed('jwt_error');
        this.#io.log.warn('wings rejected the token', { upstream: this.#io.spec.id, message });
        this.#io.close('BRIDGE_ERR_UPSTREAM_AUTH', 'token rejected');
        return;
      }
    }
    if (!this.#authed && packet.event === SERVER_EVENTS.daemonError) {
      // Before auth, a daemon error is Wings' answer to a token with a bad signature.
      this.#io.telemetry.authFailed('daemon_error');
      this.#io.close('BRIDGE_ERR_UPSTREAM_AUTH', 'token rejected');
      return;
    }
    const event = packetToEvent(packet);
    if (event) this.#io.publish(event.type, event.data);
    else this.#io.telemetry.dropped('unknown_event');
  }

  /**
   * Wings asked for a new token (or replaced an event because the token is no longer valid).
   * Every replaced event repeats the complaint, so one refresh serves them all; if the complaint
   * outlives a fresh token by REAUTH_GRACE_MS, that token was refused too and the socket is
   * dropped to the backoff loop instead of fetching a token per event.
   */
  #onTokenTrouble(): void {
    if (this.#refreshing) return;
    if (this.#reauthSentAt !== null) {
      if (this.#io.clock.now() - this.#reauthSentAt < REAUTH_GRACE_MS) return;
      this.#io.telemetry.authFailed('refresh_rejected');
      this.#io.close('BRIDGE_ERR_UPSTREAM_AUTH', 'fresh token rejected');
      return;
    }
    void this.#refresh();
  }

  /** New token, re-auth on the same socket. On failure, drop the socket so the backoff loop takes over. */
  async #refresh(): Promise<void> {
    if (this.#refreshing || this.#disposed) return;
    this.#refreshing = true;
    try {
      const { token } = await this.#fetchToken();
      if (this.#disposed) return;
      this.#token = token;
      this.#reauthSentAt = this.#io.clock.now();
      this.#io.send(formatFrame(CLIENT_EVENTS.auth, [token]));
    } catch (err) {
      this.#io.log.warn('wings token refresh failed', { err: err as Error });
      this.#io.close('BRIDGE_ERR_UPSTREAM_UNAVAILABLE', 'token refresh failed');
    } finally {
      this.#refreshing = false;
    }
  }

  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict {
    this.#authed = false;
    this.#reauthSentAt = null;
    this.#authTimer?.cancel();
    // The error row travels in the link's state, so the relay's own Wings dashboards get the same close.
    if (info.code === CLOSE_CODES.suspended) return { terminal: true, reason: 'server suspended (4409)', code: 'BRIDGE_ERR_SUSPENDED' };
    if (info.code === CLOSE_CODES.rejected) return { terminal: true, reason: 'connection rejected (4400)', code: 'BRIDGE_ERR_UPSTREAM_REJECTED' };
    if (info.httpStatus === 403) this.#io.telemetry.authFailed('origin');
    return retryVerdict(info);
  }

  onCommand(command: BridgeCommand): CommandReply {
    const packet = commandToPacket(command);
    if (!packet) return { ok: false, code: 'BRIDGE_ERR_BAD_FRAME', message: 'invalid command data' };
    this.#io.send(formatFrame(packet.event, packet.args));
    return { ok: true };
  }

  dispose(): void {
    this.#disposed = true;
    this.#authTimer?.cancel();
  }
}

export function createWingsUpstream(ctx: UpstreamContext<WingsUpstreamConfig>): UpstreamRole {
  const { config, simulator } = ctx;
  const panel = config.panelUrl ?? simulator?.url ?? '';
  const apiKey = config.apiKey ?? simulator?.credentials.apiKey ?? '';
  const origin = config.origin ?? panel.replace(/\/$/, '');
  const specs: LinkSpec[] = config.servers.map((id) => ({ resource: 'server', id }));
  return {
    links: () => specs,
    link: (spec, io) => new WingsLink(io, panel, apiKey, origin, config.authTimeoutMs),
    passThrough: wingsPassThrough(panel),
  };
}
