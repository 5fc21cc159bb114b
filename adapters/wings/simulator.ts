/**
 * A Pterodactyl Wings daemon plus the Panel's websocket-token endpoint, on one port: the demo
 * upstream of `npm start` and the real upstream of the end-to-end tests. It follows
 * REAL-BEHAVIOUR.md rather than the short public documents (origin check, JWT error texts, token
 * expiry that keeps the socket open, permission gates, 4409 for a suspended server).
 *
 * Per-server state lives in {@link SimServer}, per-socket protocol in {@link SimSession}; this file
 * is the config, the HTTP side and the test controls.
 */
import { createHash, randomBytes } from 'node:crypto';
import { HostedSimulator, SERVER_STATES, Type, hasPermission, keepLast, listenSimulator, signJwt } from '../../src/simulator-kit.ts';
import type { HttpRequest, HttpResponse, ServerState, SimulatorContext, SimulatorEndpoint, SimulatorFactory, SimulatorStart, Static, UpgradeVerdict } from '../../src/simulator-kit.ts';
import { SimServer } from './simulator-server.ts';
import { SimSession } from './simulator-session.ts';
import { CLOSE_CODES, HTTP_ERRORS, PERMISSIONS, SERVER_EVENTS } from './vocabulary.ts';

/** The two demo servers: fixed UUIDs so a demo config can name them. */
const DEMO_SERVERS = [
  { uuid: 'd3aac109-e5a0-4331-b03e-3454f7e136dc', name: 'Survival', state: 'running' as const },
  { uuid: '8e9b4a62-1c5f-4d0e-a7b3-5f2c9e81d4a7', name: 'Creative', state: 'offline' as const },
];

/** Config options of the Wings simulator (besides `name`, `protocol`, `host`, `port`). */
export const WingsSimulatorOptions = Type.Object(
  {
    /** Client API key the panel endpoint accepts as `Authorization: Bearer <apiKey>`. */
    apiKey: Type.String({ minLength: 1, default: 'ptlc_simulator_demo_key' }),
    /** The node's daemon token: the HS256 secret of every websocket JWT. */
    nodeToken: Type.String({ minLength: 1, default: 'simulator-node-token' }),
    servers: Type.Array(
      Type.Object(
        {
          uuid: Type.String({ minLength: 8 }),
          name: Type.Optional(Type.String()),
          state: Type.Optional(Type.Union(SERVER_STATES.map((s) => Type.Literal(s)), { default: 'running' })),
          memoryLimitBytes: Type.Optional(Type.Integer({ minimum: 0 })),
        },
        { additionalProperties: false },
      ),
      { default: DEMO_SERVERS },
    ),
    /** Lifetime of a panel token; the real panel issues 10 minutes. */
    tokenTtlSeconds: Type.Integer({ minimum: 1, default: 600 }),
    /** How often each socket's token is checked (`token expiring` / `token expired`). */
    tokenCheckIntervalMs: Type.Integer({ minimum: 1, default: 30_000 }),
    /** Automatic console line period while running; 0 disables it. */
    consoleIntervalMs: Type.Integer({ minimum: 0, default: 2000 }),
    /** `stats` period while running; 0 disables it. */
    statsIntervalMs: Type.Integer({ minimum: 0, default: 1000 }),
    /** Time spent in `starting` before `running`. */
    startupMs: Type.Integer({ minimum: 0, default: 1500 }),
    /** Time spent in `stopping` before `offline`. */
    stopMs: Type.Integer({ minimum: 0, default: 800 }),
    /** Wings `allowed_origins`: besides the simulator's own URL (the panel URL); `"*"` allows all. */
    allowedOrigins: Type.Array(Type.String(), { default: [] }),
  },
  { additionalProperties: false },
);
export type WingsSimulatorConfig = Static<typeof WingsSimulatorOptions>;

/** One valid frame a client sent, as recorded by {@link WingsSimulator.received}. */
export interface ReceivedFrame {
  uuid: string;
  event: string;
  args: readonly string[];
}

const DEFAULT_PERMISSIONS = ['*', PERMISSIONS.errors, PERMISSIONS.install, PERMISSIONS.transfer] as const;
const USER = { uuid: 'c4022c6c-9bf1-4a23-bff9-519cceb38335', id: 1 } as const;
/** Wings 1.12 caps authenticated sockets per server; the simulator caps all of them. */
const MAX_SOCKETS_PER_SERVER = 30;
/** Events Wings sends with `[""]` rather than without args. */
const EMPTY_STRING_ARG = new Set<string>([SERVER_EVENTS.installStarted, SERVER_EVENTS.installCompleted, SERVER_EVENTS.backupRestoreCompleted]);

function panelError(status: number, code: string, detail: string): HttpResponse {
  return { status, json: { errors: [{ code, status: String(status), detail }] } };
}

export class WingsSimulator extends HostedSimulator<WingsSimulatorConfig> {
  /** Panel base URL; the daemon listens on the same origin. */
  declare readonly endpoint: SimulatorEndpoint;
  /** The last RECORD_LIMIT valid frames any client sent, in arrival order. */
  readonly received: ReceivedFrame[] = [];
  /** How many tokens the panel endpoint has issued. */
  tokensIssued = 0;
  /** The last token issued, or null. */
  lastToken: string | null = null;

  readonly #servers = new Map<string, SimServer>();
  readonly #sessions = new Map<string, Set<SimSession>>();
  /** The most sockets each server had open at once (a test hook: "never two links"). */
  readonly #peaks = new Map<string, number>();
  #permissions: readonly string[] = DEFAULT_PERMISSIONS;
  /** Panel users besides the relay's own key: their key → who they are and what they hold per server. */
  readonly #users = new Map<string, { uuid: string; id: number; access: ReadonlyMap<string, readonly string[]> }>();
  /** Token requests per API key (the relay's own and every user's). */
  readonly #requests = new Map<string, number>();

  private constructor(start: SimulatorStart<WingsSimulatorConfig>) {
    super(start, { apiKey: start.config.apiKey });
    const { ctx, config } = start;
    for (const s of config.servers) {
      const server = new SimServer(
        {
          uuid: s.uuid,
          name: s.name ?? s.uuid.slice(0, 8),
          state: s.state ?? 'running',
          memoryLimitBytes: s.memoryLimitBytes ?? 1024 * 1024 * 1024,
          consoleIntervalMs: config.consoleIntervalMs,
          statsIntervalMs: config.statsIntervalMs,
          startupMs: config.startupMs,
          stopMs: config.stopMs,
        },
        ctx.clock,
        (event, args) => this.#broadcast(s.uuid, event, args),
      );
      this.#servers.set(s.uuid, server);
      this.#sessions.set(s.uuid, new Set());
    }
  }

  /** Starts listening on `host:port` (0 picks a free port). Missing options take their defaults. */
  static async start(ctx: SimulatorContext<WingsSimulatorConfig>, host: string, port: number): Promise<WingsSimulator> {
    const start = await listenSimulator(WingsSimulatorOptions, ctx, host, port);
    const { config, web, url } = start;
    const sim = new WingsSimulator(start);
    web.route({ method: 'GET', path: '/api/client/servers/:server/websocket', handle: (req) => sim.#issueToken(req) });
    web.endpoint({
      path: '/api/servers/:server/ws',
      authorize: (req) => sim.#authorize(req),
      open: (conn, req) => {
        const uuid = req.params.server ?? '';
        const session = new SimSession(conn, sim.#server(uuid), {
          clock: ctx.clock,
          nodeToken: config.nodeToken,
          tokenCheckIntervalMs: config.tokenCheckIntervalMs,
          record: (event, args) => keepLast(sim.received, { uuid, event, args }),
        });
        const set = sim.#sessions.get(uuid)!;
        set.add(session);
        sim.#peaks.set(uuid, Math.max(sim.#peaks.get(uuid) ?? 0, set.size));
        return session.hooks(set);
      },
    });
    ctx.log.info('wings simulator listening', { url, servers: config.servers.length });
    return sim;
  }

  protected shutdown(): void {
    for (const server of this.#servers.values()) server.close();
    for (const set of this.#sessions.values()) for (const s of set) s.dispose();
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Current power state of a server. */
  state(uuid: string): ServerState {
    return this.#server(uuid).state;
  }

  /** Jumps a server to `state` and broadcasts `status`; `starting`/`stopping` finish on their timers. */
  setState(uuid: string, state: ServerState): void {
    this.#server(uuid).setState(state);
  }

  /** Writes a console line (recorded for `send logs`) and broadcasts it. */
  console(uuid: string, line: string): void {
    this.#server(uuid).console(line);
  }

  /** Sends a raw event to every authenticated socket of a server, with the receive gates applied. */
  emit(uuid: string, event: string, args: readonly string[] = []): void {
    this.#server(uuid);
    this.#broadcast(uuid, event, args.length === 0 && EMPTY_STRING_ARG.has(event) ? [''] : args);
  }

  /** Suspends a server: its sockets close with 4409, and so does every later `auth`. */
  suspend(uuid: string): void {
    this.#server(uuid).suspended = true;
    for (const s of this.#sessions.get(uuid) ?? []) s.close(CLOSE_CODES.suspended, 'server suspended');
  }

  /** Terminates every socket without a close frame (a daemon crash, for reconnect tests). */
  dropAll(): void {
    for (const set of this.#sessions.values()) for (const s of set) s.terminate();
  }

  /** Open sockets of a server, authenticated or not. */
  connectionCount(uuid: string): number {
    return this.#sessions.get(uuid)?.size ?? 0;
  }

  /** The most sockets a server had open at once since the simulator started. */
  peakConnections(uuid: string): number {
    return this.#peaks.get(uuid) ?? 0;
  }

  /** Expiry (ms since the epoch) of the token each socket of a server holds; null before auth. */
  tokenExpiries(uuid: string): (number | null)[] {
    return [...(this.#sessions.get(uuid) ?? [])].map((s) => (s.tokenExp === null ? null : s.tokenExp * 1000));
  }

  /** Permissions written into tokens issued from now on (default: the server owner's). */
  setTokenPermissions(perms: readonly string[]): void {
    this.#permissions = [...perms];
  }

  /**
   * Adds (or replaces) a panel user with their own client API key: `access` maps each server they
   * may see to their permissions there (a server not listed is 404 to them, as on the panel; one
   * without `websocket.connect` 403). Replacing a user's access is how a test revokes a permission.
   */
  setUser(apiKey: string, access: Readonly<Record<string, readonly string[]>>, uuid = `user-${this.#users.size + 2}`): void {
    const id = this.#users.get(apiKey)?.id ?? this.#users.size + 2;
    this.#users.set(apiKey, { uuid, id, access: new Map(Object.entries(access).map(([k, v]) => [k, [...v]])) });
  }

  /** Deletes a user's API key: the panel answers it 401 from now on. */
  removeUser(apiKey: string): void {
    this.#users.delete(apiKey);
  }

  /** How many token requests came with `apiKey` (answered or refused). */
  tokenRequests(apiKey: string): number {
    return this.#requests.get(apiKey) ?? 0;
  }

  /** Denylists tokens of a server issued before `ms` (epoch ms), as a panel password change does. */
  denyTokensIssuedBefore(uuid: string, ms: number): void {
    this.#server(uuid).denyBefore = ms;
  }

  // ---- internals ----------------------------------------------------------------------------

  #server(uuid: string): SimServer {
    const server = this.#servers.get(uuid);
    if (!server) throw new Error(`wings simulator: unknown server ${uuid}`);
    return server;
  }

  #broadcast(uuid: string, event: string, args: readonly string[]): void {
    for (const s of this.#sessions.get(uuid) ?? []) s.deliver(event, args);
  }

  async #issueToken(req: HttpRequest): Promise<HttpResponse> {
    const auth = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const key = auth?.[1] ?? '';
    if (key !== '') this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const user = key === this.config.apiKey ? null : this.#users.get(key);
    // Laravel authenticates before route-model binding, so a bad key is 401 even for unknown servers.
    if (user === undefined) return panelError(401, 'AuthenticationException', 'Unauthenticated.');
    const id = req.params.server ?? '';
    const server = [...this.#servers.values()].find((s) => s.uuid === id || (id.length === 8 && s.uuid.startsWith(id)));
    // A server the user has no access to is hidden, as the panel hides it.
    const granted = server && user ? user.access.get(server.uuid) : undefined;
    if (!server || (user && !granted)) return panelError(404, 'NotFoundHttpException', 'The requested resource could not be found on the server.');
    const permissions = granted ?? this.#permissions;
    if (!hasPermission(permissions, PERMISSIONS.connect)) {
      return panelError(403, 'HttpForbiddenException', "You do not have permission to connect to this server's websocket.");
    }
    const clock = this.ctx.clock;
    const now = Math.floor(clock.now() / 1000);
    const url = this.endpoint.url;
    const token = await signJwt(
      this.config.nodeToken,
      {
        iss: url,
        aud: [url],
        // The panel identifies the token by md5(user id + server uuid), so it repeats per pair.
        jti: createHash('md5').update(`${user?.id ?? USER.id}${server.uuid}`).digest('hex'),
        iat: now,
        nbf: now - 300,
        exp: now + this.config.tokenTtlSeconds,
        server_uuid: server.uuid,
        permissions: [...permissions],
        user_uuid: user?.uuid ?? USER.uuid,
        user_id: user?.id ?? USER.id,
        unique_id: randomBytes(12).toString('base64url').slice(0, 16),
      },
      clock,
    );
    this.tokensIssued += 1;
    this.lastToken = token;
    return { status: 200, json: { data: { token, socket: `${url.replace(/^http/, 'ws')}/api/servers/${server.uuid}/ws` } } };
  }

  #authorize(req: HttpRequest): UpgradeVerdict {
    const uuid = req.params.server ?? '';
    if (!this.#servers.has(uuid)) return { accept: false, status: 404, json: { error: HTTP_ERRORS.notFound }, reason: 'not_found' };
    const allowed = this.config.allowedOrigins;
    const origin = req.headers.origin;
    const ok = allowed.includes('*') || (origin !== undefined && (origin === this.endpoint.url || allowed.includes(origin)));
    // gorilla/websocket answers a failed origin check with a bare 403 before upgrading.
    if (!ok) return { accept: false, status: 403, text: 'Forbidden', reason: 'origin' };
    if (this.connectionCount(uuid) >= MAX_SOCKETS_PER_SERVER) {
      return { accept: false, status: 400, json: { error: HTTP_ERRORS.tooMany }, reason: 'limit' };
    }
    return { accept: true };
  }
}

/** The simulator half of the wings adapter (src/registry.ts joins it to the roles in index.ts). */
export const wingsSimulator: SimulatorFactory<typeof WingsSimulatorOptions> = {
  simulatorOptions: WingsSimulatorOptions,
  startSimulator: (ctx, host, port) => WingsSimulator.start(ctx, host, port),
};
