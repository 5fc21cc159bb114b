/**
 * One daemon websocket of the Wings simulator: authentication, the periodic token check, the
 * permission gates, and the rule that once a stored token is no longer valid every outbound event
 * is replaced by a `jwt error` (Wings' `SendJson`). Mirrors Wings' `router/websocket/websocket.go`.
 */
import { SimulatorSocket, hasPermission, verifyJwt } from '../../src/simulator-kit.ts';
import type { Clock, HostConnection, JwtClaims } from '../../src/simulator-kit.ts';
import { formatFrame, parseFrame, statsToWire } from './codec.ts';
import type { SimServer } from './simulator-server.ts';
import { CLIENT_EVENTS, CLOSE_CODES, GENERIC_DAEMON_ERROR, JWT_ERRORS, PERMISSIONS, SERVER_EVENTS } from './vocabulary.ts';

/** What a session needs from the simulator that owns it. */
export interface SessionDeps {
  readonly clock: Clock;
  readonly nodeToken: string;
  readonly tokenCheckIntervalMs: number;
  /** Records every valid frame a client sent (the simulator's `received`). */
  record(event: string, args: readonly string[]): void;
}

/** Wings drops inbound frames over 32 KiB without closing the socket. */
const MAX_FRAME_BYTES = 32 * 1024;

/** Outbound events only some tokens may receive; everything else is ungated. */
const RECEIVE_GATES: Readonly<Record<string, string>> = {
  [SERVER_EVENTS.installOutput]: PERMISSIONS.install,
  [SERVER_EVENTS.transferLogs]: PERMISSIONS.transfer,
  [SERVER_EVENTS.backupCompleted]: PERMISSIONS.backupRead,
};

const POWER_GATES: Readonly<Record<string, string>> = {
  start: PERMISSIONS.start,
  stop: PERMISSIONS.stop,
  restart: PERMISSIONS.restart,
  kill: PERMISSIONS.stop,
};

/** The texts go-jwt gives for a token that does not verify; shown only to `admin.websocket.errors`. */
const VERIFY_ERRORS = { signature: 'jwt: HMAC verification failed', malformed: 'jwt: malformed token' } as const;

interface StoredToken {
  readonly exp: number;
  readonly iat: number | null;
  readonly permissions: readonly string[];
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export class SimSession extends SimulatorSocket {
  readonly server: SimServer;
  readonly #deps: SessionDeps;
  #token: StoredToken | null = null;
  /** Inbound frames are handled one at a time, so a frame sent right after `auth` sees its result. */
  #queue: Promise<void> = Promise.resolve();

  /** Expiry (seconds since the epoch) of the token this socket authenticated with, or null. */
  get tokenExp(): number | null {
    return this.#token?.exp ?? null;
  }

  constructor(conn: HostConnection, server: SimServer, deps: SessionDeps) {
    super(conn);
    this.server = server;
    this.#deps = deps;
    // Wings' expiry ticker starts with the connection, not with the first auth.
    this.every(deps.clock, deps.tokenCheckIntervalMs, () => this.#checkToken());
  }

  /** True once a token has been accepted (it may have expired since). */
  get authenticated(): boolean {
    return this.#token !== null;
  }

  /** Handles one text frame from the client. */
  onMessage(text: string): void {
    if (this.closed || Buffer.byteLength(text) > MAX_FRAME_BYTES) return;
    this.#queue = this.#queue.then(() => this.#handle(text)).catch(() => undefined);
  }

  /**
   * Delivers a server event as Wings' `SendJson`: nothing before the first auth, a `jwt error`
   * instead of the event once the token is invalid, and the receive permission gates.
   */
  deliver(event: string, args: readonly string[] = []): void {
    if (this.#token === null) return;
    const problem = this.#tokenProblem();
    if (problem) return this.#send(SERVER_EVENTS.jwtError, [problem]);
    const gate = RECEIVE_GATES[event];
    if (gate && !hasPermission(this.#token.permissions, gate)) return;
    this.#send(event, args);
  }

  #send(event: string, args: readonly string[] = []): void {
    this.sendText(formatFrame(event, args));
  }

  /** Sends a `daemon error`: the real text only to a token holding `admin.websocket.errors`. */
  #daemonError(real: string): void {
    const revealed = this.#token !== null && hasPermission(this.#token.permissions, PERMISSIONS.errors);
    this.#send(SERVER_EVENTS.daemonError, [revealed ? real : GENERIC_DAEMON_ERROR]);
  }

  /**
   * Wings' `TokenValid` for an already stored token: expiry first, then the denylist. Its JWT
   * library compares `exp` with the time truncated to whole seconds, so the token still works
   * during the second `exp` names.
   */
  #tokenProblem(): string | null {
    const t = this.#token;
    if (t === null) return JWT_ERRORS.notPresent;
    if (Math.floor(this.#deps.clock.now() / 1000) > t.exp) return JWT_ERRORS.expired;
    if (this.#denylisted(t.iat)) return JWT_ERRORS.denylist;
    return null;
  }

  #denylisted(iat: number | null): boolean {
    // A token without `iat` counts as denylisted in Wings.
    return iat === null || iat * 1000 < this.server.denyBefore;
  }

  #checkToken(): void {
    const t = this.#token;
    if (t === null) return;
    const left = t.exp - Math.floor(this.#deps.clock.now() / 1000);
    // The socket stays open after expiry: the client is expected to re-auth on `token expired`.
    if (left <= 0) this.#send(SERVER_EVENTS.tokenExpired);
    else if (left <= 60) this.deliver(SERVER_EVENTS.tokenExpiring);
  }

  async #handle(text: string): Promise<void> {
    const frame = parseFrame(text);
    if (frame === null || this.closed) return;
    this.#deps.record(frame.event, frame.args);
    if (frame.event !== CLIENT_EVENTS.auth) {
      const problem = this.#tokenProblem();
      if (problem) return this.#send(SERVER_EVENTS.jwtError, [problem]);
    }
    const perms = this.#token?.permissions ?? [];
    const arg = frame.args.join('');
    switch (frame.event) {
      case CLIENT_EVENTS.auth:
        return this.#auth(arg);
      case CLIENT_EVENTS.setState: {
        const gate = POWER_GATES[arg];
        // Wings ignores a power action the token may not perform, without a reply.
        if (gate && !hasPermission(perms, gate)) return;
        const error = this.server.power(arg);
        if (error) this.#daemonError(error);
        return;
      }
      case CLIENT_EVENTS.sendCommand:
        // Commands to a stopped server go nowhere in Wings, and the gate is silent too.
        if (!hasPermission(perms, PERMISSIONS.console) || this.server.state === 'offline') return;
        this.server.console(`> ${arg}`);
        return;
      case CLIENT_EVENTS.sendLogs:
        for (const line of this.server.logs()) this.deliver(SERVER_EVENTS.consoleOutput, [line]);
        return;
      case CLIENT_EVENTS.sendStats:
        this.deliver(SERVER_EVENTS.stats, [statsToWire(this.server.stats())]);
        return;
      default:
        return;
    }
  }

  async #auth(token: string): Promise<void> {
    const check = await verifyJwt(this.#deps.nodeToken, token, this.#deps.clock, undefined, 1);
    if (this.closed) return;
    let claims: JwtClaims;
    if (check.ok) claims = check.claims;
    else if (check.error === 'expired') return this.#send(SERVER_EVENTS.jwtError, [JWT_ERRORS.expired]);
    // Wings validates `exp` only, so a token that is not valid yet by `nbf` still passes.
    else if (check.error === 'not_yet_valid' && check.claims) claims = check.claims;
    else return this.#daemonError(check.error === 'signature' ? VERIFY_ERRORS.signature : VERIFY_ERRORS.malformed);

    // go-jwt's expiry validator fails a token that has no `exp` at all; jose would accept it.
    if (typeof claims.exp !== 'number') return this.#send(SERVER_EVENTS.jwtError, [JWT_ERRORS.expired]);
    const iat = typeof claims.iat === 'number' ? claims.iat : null;
    const permissions = stringList(claims.permissions);
    // The order of Wings' checks: denylist, connect permission, then the server uuid.
    if (this.#denylisted(iat)) return this.#send(SERVER_EVENTS.jwtError, [JWT_ERRORS.denylist]);
    if (!hasPermission(permissions, PERMISSIONS.connect)) return this.#send(SERVER_EVENTS.jwtError, [JWT_ERRORS.missingConnect]);
    if (claims.server_uuid !== this.server.uuid) return this.#send(SERVER_EVENTS.jwtError, [JWT_ERRORS.uuidMismatch]);
    if (this.server.suspended) return this.close(CLOSE_CODES.suspended, 'server suspended');

    const first = this.#token === null;
    this.#token = { exp: claims.exp, iat, permissions };
    this.#send(SERVER_EVENTS.authSuccess);
    if (!first) return;
    this.#send(SERVER_EVENTS.status, [this.server.state]);
    if (this.server.state === 'offline') this.#send(SERVER_EVENTS.stats, [statsToWire(this.server.stats())]);
  }
}
