/**
 * A Semoxy panel on one port: `GET /account/ticket` (ticket era), `GET /server/` (the server list
 * with each `onlineStatus`) and `/server/events` in v1 (`?ticket=`) and v2 (AUTHENTICATE), exactly
 * as REAL-BEHAVIOUR.md "Semoxy" and Semoxy's own endpoints describe them. The
 * demo upstream of `npm start` and the real upstream of the tests.
 *
 * Per-server state lives in {@link SimServer}, per-socket protocol in {@link SimSession}; this file
 * is the config, the HTTP side, the packets per version, and the test controls. Tickets are the
 * original's: reusable, 7200 s by default. Times come from the injected clock.
 */
import { randomBytes } from 'node:crypto';
import { HostedSimulator, Type, keepLast, listenSimulator } from '../../src/simulator-kit.ts';
import type { HttpRequest, HttpResponse, SimulatorContext, SimulatorEndpoint, SimulatorFactory, SimulatorStart, Static, UpgradeVerdict } from '../../src/simulator-kit.ts';
import { encodeFrame, type PanelPacket, type PanelVersion } from './codec.ts';
import { SimServer } from './simulator-server.ts';
import { SimSession, type SessionLookup } from './simulator-session.ts';
import { HTTP_ERRORS, INTENT_FAMILIES, PATHS, PROTOCOL_PING_MS, SERVER_ACTIONS as A, TICKET_CREATED } from './vocabulary.ts';

/** Two demo servers with the ObjectIds of Semoxy's own documents, so a demo config can name them. */
const DEMO_SERVERS = [
  { id: '607c71907be61b381db28144', name: 'Survival', onlineStatus: 2 },
  { id: '614635a7e671a3df0a12154b', name: 'Creative', onlineStatus: 0 },
];

/** Config options of the panel simulator (besides `name`, `protocol`, `host`, `port`). */
export const PanelSimulatorOptions = Type.Object(
  {
    version: Type.Union([Type.Literal('v1'), Type.Literal('v2'), Type.Literal('both')], { default: 'both', description: 'Handshakes served: v1 (ticket), v2 (AUTHENTICATE) or both (a `ticket` query selects v1).' }),
    sessions: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['semoxy-demo-session'], description: 'Session ids accepted (ticket endpoint and AUTHENTICATE); the first is handed to upstreams.' }),
    servers: Type.Array(
      Type.Object(
        {
          id: Type.String({ pattern: '^[0-9a-f]{24}$', description: 'A 24-hex ObjectId.' }),
          name: Type.Optional(Type.String({ minLength: 1 })),
          onlineStatus: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
        },
        { additionalProperties: false },
      ),
      { default: DEMO_SERVERS },
    ),
    consoleIntervalMs: Type.Integer({ minimum: 0, default: 2000, description: 'Automatic console line period while online; 0 disables it.' }),
    statsIntervalMs: Type.Integer({ minimum: 0, default: 10000, description: 'STAT_UPDATE period while online (v2 sockets); 0 disables it.' }),
    startupMs: Type.Integer({ minimum: 0, default: 1500, description: 'Time starting before online; 0 stays starting.' }),
    stopMs: Type.Integer({ minimum: 0, default: 800, description: 'Time stopping before offline; 0 stays stopping.' }),
    ticketTtlSeconds: Type.Integer({ minimum: 1, default: 7200, description: 'Lifetime of a ticket (the original: 7200 s, reusable).' }),
    pingIntervalMs: Type.Integer({ minimum: 0, default: PROTOCOL_PING_MS, description: 'WebSocket ping period; an unanswered ping closes with 1011. 0 disables it.' }),
    consoleLayout: Type.Union([Type.Literal('event'), Type.Literal('flat')], { default: 'event', description: 'v2 CONSOLE_MESSAGE layout: `event` {serverId, eventData:{message}, id} as Semoxy v2, or `flat` {id, message} as intermediate builds.' }),
  },
  { additionalProperties: false },
);
export type PanelSimulatorConfig = Static<typeof PanelSimulatorOptions>;

/** One frame a client sent, as recorded by {@link PanelSimulator.received}. */
export interface ReceivedPacket {
  version: PanelVersion;
  raw: string;
  /** null when the frame was not a packet. */
  action: string | null;
  data: unknown;
}

export class PanelSimulator extends HostedSimulator<PanelSimulatorConfig> {
  /** Base URL; `credentials.session` is a session the simulator accepts. */
  declare readonly endpoint: SimulatorEndpoint;
  /** The last RECORD_LIMIT frames any client sent, in arrival order. */
  readonly received: ReceivedPacket[] = [];
  /** How many tickets `/account/ticket` issued. */
  ticketsIssued = 0;
  /** WebSocket pongs received (keep-alive answered). */
  pongsReceived = 0;
  /** How many times `GET /server/` answered the list. */
  serverListsServed = 0;

  readonly #servers = new Map<string, SimServer>();
  readonly #sessions = new Set<SimSession>();
  readonly #known = new Map<string, 'valid' | 'expired'>();
  readonly #tickets = new Map<string, { session: string; expiresAt: number }>();
  #objectIds = 0;

  private constructor(start: SimulatorStart<PanelSimulatorConfig>) {
    super(start, { session: start.config.sessions[0]! });
    const { ctx, config } = start;
    for (const s of config.sessions) this.#known.set(s, 'valid');
    for (const s of config.servers) this.#addServer(s.id, s.name ?? s.id.slice(-6), s.onlineStatus ?? 2);
  }

  /** Starts listening on `host:port` (0 picks a free port). Missing options take their defaults. */
  static async start(ctx: SimulatorContext<PanelSimulatorConfig>, host: string, port: number): Promise<PanelSimulator> {
    const start = await listenSimulator(PanelSimulatorOptions, ctx, host, port);
    const { config, web, url } = start;
    const sim = new PanelSimulator(start);
    // v2 dropped the ticket endpoint; a v2-only panel answers it with the router's 404.
    if (config.version !== 'v2') web.route({ method: 'GET', path: PATHS.ticket, handle: (req) => sim.#issueTicket(req) });
    // The server list of both eras (`/server/`; the router also takes it without the slash).
    web.route({ method: 'GET', path: PATHS.servers.replace(/\/$/, ''), handle: (req) => sim.#listServers(req) });
    web.endpoint({
      path: PATHS.events,
      authorize: (req) => sim.#authorize(req),
      open: (conn, _req, state) => {
        const session = new SimSession(conn, state as PanelVersion, {
          clock: ctx.clock,
          pingIntervalMs: config.pingIntervalMs,
          lookup: (id) => sim.#lookup(id),
          record: (version, raw, packet) => keepLast(sim.received, { version, raw, action: packet?.action ?? null, data: packet?.data }),
          pong: () => (sim.pongsReceived += 1),
        });
        sim.#sessions.add(session);
        return session.hooks(sim.#sessions);
      },
    });
    ctx.log.info('panel simulator listening', { url, version: config.version, servers: config.servers.length });
    return sim;
  }

  protected shutdown(): void {
    for (const server of this.#servers.values()) server.close();
    for (const s of this.#sessions) s.dispose();
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Current `onlineStatus` of a server. */
  onlineStatus(id: string): number {
    return this.#server(id).onlineStatus;
  }

  /** Jumps a server to `status` (0 offline, 1 starting, 2 online, 3 stopping) and broadcasts it. */
  setOnline(id: string, status: 0 | 1 | 2 | 3): void {
    this.#server(id).setOnline(status);
  }

  /** Writes a console line: CONSOLE_LINE to v1 sockets, CONSOLE_MESSAGE to v2 sockets with a console intent. */
  console(id: string, line: string): void {
    this.#server(id).console(line);
  }

  /** Broadcasts a META_MESSAGE. */
  meta(message: string): void {
    this.emit(A.meta, { message });
  }

  /** Creates a server (defaults filled in, id generated when absent) and broadcasts SERVER_ADD with it. */
  addServer(fields: Record<string, unknown> = {}): Record<string, unknown> {
    const id = typeof fields.id === 'string' ? fields.id : this.#objectId();
    const name = typeof fields.name === 'string' ? fields.name : `server-${id.slice(-6)}`;
    const status = typeof fields.onlineStatus === 'number' ? fields.onlineStatus : 0;
    const server = this.#addServer(id, name, status, fields);
    const json = server.json();
    this.emit(A.serverAdd, json);
    return json;
  }

  /** Removes a server and broadcasts SERVER_DELETE. */
  deleteServer(id: string): void {
    this.#server(id).close();
    this.#servers.delete(id);
    this.emit(A.serverDelete, { id });
  }

  /** Broadcasts a STAT_UPDATE (v2 sockets with a stat intent): RAM in kB, CPU in % of the machine. */
  stats(id: string, ramKb: number | null, cpuPercent: number | null): void {
    this.#broadcastStats(id, ramKb, cpuPercent);
  }

  /** Sends a raw packet to every socket that receives broadcasts (ADDON_ADD, ADDON_DELETE, …). */
  emit(action: string, data: unknown): void {
    const frame = encodeFrame({ action, data });
    for (const s of this.#sessions) s.deliver(frame);
  }

  /** Marks a session id expired: its next AUTHENTICATE gets AUTH_ERROR "session expired". */
  expireSession(sessionId: string): void {
    this.#known.set(sessionId, 'expired');
  }

  /** Open sockets, authenticated or not. */
  connectionCount(): number {
    return this.#sessions.size;
  }

  /** Terminates every socket without a close frame (a crash, for reconnect tests). */
  dropAll(): void {
    for (const s of [...this.#sessions]) s.terminate();
  }

  // ---- internals ----------------------------------------------------------------------------

  #server(id: string): SimServer {
    const server = this.#servers.get(id);
    if (!server) throw new Error(`panel simulator: unknown server ${id}`);
    return server;
  }

  #addServer(id: string, name: string, onlineStatus: number, extra?: Record<string, unknown>): SimServer {
    const { consoleIntervalMs, statsIntervalMs, startupMs, stopMs } = this.config;
    const port = 25565 + this.#servers.size;
    const server = new SimServer({ id, name, onlineStatus, port, consoleIntervalMs, statsIntervalMs, startupMs, stopMs, ...(extra ? { extra } : {}) }, this.ctx.clock, {
      status: (sid, status) => this.#broadcastStatus(sid, status),
      console: (sid, line) => this.#broadcastConsole(sid, line),
      stats: (sid, ram, cpu) => this.#broadcastStats(sid, ram, cpu),
    });
    this.#servers.set(id, server);
    return server;
  }

  /** A fresh ObjectId: 4 bytes of clock seconds, then a counter. */
  #objectId(): string {
    this.#objectIds += 1;
    return Math.floor(this.ctx.clock.now() / 1000).toString(16).padStart(8, '0').slice(-8) + this.#objectIds.toString(16).padStart(16, '0');
  }

  #eachVersion(version: PanelVersion, frame: string, gate?: { family: 'console' | 'stat'; id: string }): void {
    for (const s of this.#sessions) if (s.version === version) s.deliver(frame, gate);
  }

  /**
   * v1 (ticket era) clears consoles with its own `{consoleOut: []}` patch before a start's status;
   * v2 stores a SERVER_START / SERVER_STOP event and broadcasts its EventPacket before the status.
   */
  #broadcastStatus(id: string, status: number): void {
    if (status === 1) this.#eachVersion('v1', encodeFrame({ action: A.stateChange, data: { id, patch: { consoleOut: [] } } }));
    if (status === 0 || status === 1) {
      const type = status === 1 ? 'SERVER_START' : 'SERVER_STOP';
      this.#eachVersion('v2', encodeFrame({ action: type, data: { serverId: id, eventData: {}, id: this.#objectId() } }));
    }
    const frame = encodeFrame({ action: A.stateChange, data: { id, patch: { onlineStatus: status } } });
    for (const s of this.#sessions) s.deliver(frame);
  }

  #broadcastConsole(id: string, line: string): void {
    this.#eachVersion('v1', encodeFrame({ action: A.consoleLine, data: { id, message: line } }));
    const data = this.config.consoleLayout === 'flat' ? { id, message: line } : { serverId: id, eventData: { message: line }, id: this.#objectId() };
    const event: PanelPacket = { action: A.consoleMessage, data };
    this.#eachVersion('v2', encodeFrame(event), { family: INTENT_FAMILIES.console, id });
  }

  #broadcastStats(id: string, ramUsage: number | null, cpuUsage: number | null): void {
    this.#eachVersion('v2', encodeFrame({ action: A.statUpdate, data: { serverId: id, ramUsage, cpuUsage } }), { family: INTENT_FAMILIES.stat, id });
  }

  #lookup(sessionId: string): SessionLookup {
    return this.#known.get(sessionId) ?? 'invalid';
  }

  /** The session of a logged-in request (`Authorization: Bearer|Token <sid>`, as Sanic reads it), or null. */
  #loggedIn(req: HttpRequest): string | null {
    const m = /^(?:Bearer|Token)\s+(.+)$/i.exec((req.headers.authorization ?? '').trim());
    return m && this.#lookup(m[1]!) === 'valid' ? m[1]! : null;
  }

  /** `GET /server/`: every server object, as Semoxy's `get_all_servers` writes them. */
  #listServers(req: HttpRequest): HttpResponse {
    if (this.#loggedIn(req) === null) return { status: 401, json: HTTP_ERRORS.notLoggedIn };
    this.serverListsServed += 1;
    return { status: 200, json: [...this.#servers.values()].map((s) => s.json()) };
  }

  #issueTicket(req: HttpRequest): HttpResponse {
    const session = this.#loggedIn(req);
    if (session === null) return { status: 401, json: HTTP_ERRORS.notLoggedIn };
    const token = randomBytes(24).toString('base64url');
    const now = this.ctx.clock.now();
    // Tickets are reusable until they expire, so nothing else removes them: drop the expired ones
    // here, or a demo link that reconnects for weeks would grow this map with every attempt.
    for (const [t, e] of this.#tickets) if (now >= e.expiresAt) this.#tickets.delete(t);
    this.#tickets.set(token, { session, expiresAt: now + this.config.ticketTtlSeconds * 1000 });
    this.ticketsIssued += 1;
    return { status: 200, json: { success: TICKET_CREATED, data: { token } } };
  }

  #authorize(req: HttpRequest): UpgradeVerdict {
    const ticket = req.query.get('ticket');
    const { version } = this.config;
    // A v2 server never looks at the query; a v1 one always does.
    if (version === 'v2' || (version === 'both' && ticket === null)) return { accept: true, state: 'v2' };
    const refuse = (json: unknown): UpgradeVerdict => ({ accept: false, status: 401, json, reason: 'auth' });
    if (!ticket) return refuse(HTTP_ERRORS.noTicket);
    const entry = this.#tickets.get(ticket);
    if (!entry || this.#lookup(entry.session) !== 'valid') return refuse(HTTP_ERRORS.invalidTicket);
    if (this.ctx.clock.now() >= entry.expiresAt) {
      this.#tickets.delete(ticket);
      return refuse(HTTP_ERRORS.ticketExpired);
    }
    return { accept: true, state: 'v1' };
  }
}

/** The simulator half of the panel adapter (src/registry.ts joins it to the roles in index.ts). */
export const panelSimulator: SimulatorFactory<typeof PanelSimulatorOptions> = {
  simulatorOptions: PanelSimulatorOptions,
  startSimulator: (ctx, host, port) => PanelSimulator.start(ctx, host, port),
};
