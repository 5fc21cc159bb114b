/**
 * A FelixBot websocket: the demo upstream of `npm start` and the real upstream of the felix tests.
 * It follows REAL-BEHAVIOUR.md rather than the short public document: any path; `Authorization`
 * compared exactly with the configured tokens, else HTTP 403 before the upgrade; `10001` with a
 * string `memoryUsage` and shards with `ping`; `name` on every server frame; a ping sweep that
 * terminates sockets that did not pong. Every timer runs on the injected clock.
 *
 * Per-socket protocol lives in {@link FelixSimSocket}; this file is the config, the demo data,
 * the broadcast of updates and the test controls.
 */
import { HostedSimulator, Type, keepLast, listenSimulator } from '../../src/simulator-kit.ts';
import type { HttpRequest, SimulatorContext, SimulatorEndpoint, SimulatorFactory, SimulatorStart, Static, Timer, UpgradeVerdict } from '../../src/simulator-kit.ts';
import { encodeFrame, formatMemoryMb } from './codec.ts';
import type { HeartbeatAckWire } from './schema.ts';
import { FelixSimSocket, type ListenLists } from './simulator-session.ts';
import { DEFAULT_PING_INTERVAL_MS, RESOURCES, SERVER_CODES, SERVER_NAMES } from './vocabulary.ts';

/** Config options of the Felix simulator (besides `name`, `protocol`, `host`, `port`). */
export const FelixSimulatorOptions = Type.Object(
  {
    tokens: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      default: ['felix_simulator_demo_token'],
      description: 'Tokens accepted in `Authorization` (exact match); the first is handed to upstreams using this simulator.',
    }),
    updateIntervalMs: Type.Integer({ minimum: 0, default: 3000, description: 'Period of the demo guild/user updates; 0 disables them.' }),
    pingIntervalMs: Type.Integer({ minimum: 1, default: DEFAULT_PING_INTERVAL_MS, description: 'Ping sweep period; a socket that did not pong since the previous sweep is terminated.' }),
    shards: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'Shards reported in `10001`.' }),
    guildsCount: Type.Integer({ minimum: 0, default: 1312, description: '`guildsCount` reported in `10001`.' }),
  },
  { additionalProperties: false },
);
export type FelixSimulatorConfig = Static<typeof FelixSimulatorOptions>;

/** One decoded frame a client sent, as recorded by {@link FelixSimulator.received}. */
export interface FelixReceivedFrame {
  /** The socket's sequence number (see {@link FelixSimulator.listening}). */
  socket: number;
  code: number;
  data: unknown;
}

/** What the simulator's sockets listen to: the union, and each socket's own lists. */
export interface Listening extends ListenLists {
  readonly sockets: readonly (ListenLists & { readonly socket: number })[];
}

/** Demo ids, shaped like Discord snowflakes, whose entries change every update interval. */
export const DEMO_GUILDS = ['328842643746324481', '463766483329269771', '527248519343767552'] as const;
export const DEMO_USERS = ['140149699486154753', '249547406009409547'] as const;

/** `ws` accepts any path, so the simulator does too (as deep as a configured URL plausibly goes). */
const ANY_PATH = ['/', '/:a', '/:a/:b', '/:a/:b/:c', '/:a/:b/:c/:d'];

export class FelixSimulator extends HostedSimulator<FelixSimulatorConfig> {
  /** Base URL; connect to it with ws:// (any path). `credentials.token` is the first token. */
  declare readonly endpoint: SimulatorEndpoint;
  /** The last RECORD_LIMIT decoded frames any client sent, in arrival order (bounded: the demo runs for weeks). */
  readonly received: FelixReceivedFrame[] = [];

  readonly #sockets = new Set<FelixSimSocket>();
  readonly #timers: Timer[] = [];
  readonly #startedAt: number;
  #nextSocket = 1;
  /** The most sockets open at once (a test hook: "never two links"). */
  #peak = 0;
  #acks = 0;
  #revision = 0;
  #stalled = false;

  private constructor(start: SimulatorStart<FelixSimulatorConfig>) {
    super(start, { token: start.config.tokens[0]! });
    const { ctx, config } = start;
    this.#startedAt = ctx.clock.now();
    this.#timers.push(ctx.clock.setInterval(() => this.#sweep(), config.pingIntervalMs));
    if (config.updateIntervalMs > 0) this.#timers.push(ctx.clock.setInterval(() => this.#demoUpdates(), config.updateIntervalMs));
  }

  /** Starts listening on `host:port` (0 picks a free port). Missing options take their defaults. */
  static async start(ctx: SimulatorContext<FelixSimulatorConfig>, host: string, port: number): Promise<FelixSimulator> {
    const start = await listenSimulator(FelixSimulatorOptions, ctx, host, port);
    const { web, url } = start;
    const sim = new FelixSimulator(start);
    for (const path of ANY_PATH) {
      web.endpoint({
        path,
        authorize: (req) => sim.#authorize(req),
        open: (conn) => {
          const socket = new FelixSimSocket(sim.#nextSocket++, conn, {
            ackFrame: () => sim.#ackFrame(),
            record: (id, code, data) => keepLast(sim.received, { socket: id, code, data }),
          });
          sim.#sockets.add(socket);
          sim.#peak = Math.max(sim.#peak, sim.#sockets.size);
          return socket.hooks(sim.#sockets);
        },
      });
    }
    ctx.log.info('felix simulator listening', { url });
    return sim;
  }

  protected shutdown(): void {
    for (const t of this.#timers) t.cancel();
    for (const s of this.#sockets) s.dispose();
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Sends `10002` about guild `id` to every socket listening to it; returns how many got it. */
  updateGuild(id: string, data: unknown): number {
    return this.#broadcast(RESOURCES.guild, id, encodeFrame({ code: SERVER_CODES.guildUpdate, name: SERVER_NAMES[SERVER_CODES.guildUpdate], data: { guildID: id, guildData: data } }));
  }

  /** Sends `10003` about user `id` to every socket listening to it; returns how many got it. */
  updateUser(id: string, data: unknown): number {
    return this.#broadcast(RESOURCES.user, id, encodeFrame({ code: SERVER_CODES.userUpdate, name: SERVER_NAMES[SERVER_CODES.userUpdate], data: { userID: id, userData: data } }));
  }

  /** What the open sockets listen to: the sorted union, and each socket's lists. */
  listening(): Listening {
    const sockets = [...this.#sockets].map((s) => ({ socket: s.id, ...s.lists() }));
    const union = (pick: (l: ListenLists) => readonly string[]) => [...new Set(sockets.flatMap(pick))].sort();
    return { users: union((l) => l.users), guilds: union((l) => l.guilds), sockets };
  }

  /** Open sockets. */
  connectionCount(): number {
    return this.#sockets.size;
  }

  /** The most sockets open at once since the simulator started. */
  peakConnections(): number {
    return this.#peak;
  }

  /** Terminates every socket without a close frame (a bot restart, for reconnect tests). */
  dropAll(): void {
    for (const s of [...this.#sockets]) s.terminate();
  }

  /**
   * A hung bot: while stalled, heartbeats go unanswered and no update is sent, but sockets stay
   * open and `ws` still answers pings (it does so below the application, as in a busy event loop).
   */
  stall(stalled: boolean): void {
    this.#stalled = stalled;
  }

  /** The `10001` data a heartbeat received now would get. */
  health(): HeartbeatAckWire {
    const now = this.ctx.clock.now();
    const n = this.#acks;
    const shards = Array.from({ length: this.config.shards }, (_, id) => ({ id, status: 'ready', ready: true, ping: 38 + ((n * 7 + id * 13) % 45) }));
    const memoryMb = 48 + ((n * 37) % 200) / 10 + 0.01 * (n % 7);
    return { receivedAt: now, shards, guildsCount: this.config.guildsCount, memoryUsage: formatMemoryMb(memoryMb), uptime: now - this.#startedAt };
  }

  // ---- internals ----------------------------------------------------------------------------

  #authorize(req: HttpRequest): UpgradeVerdict {
    const token = req.headers.authorization;
    // Felix compares the header with its stored tokens as is: no scheme, no trimming.
    if (token !== undefined && this.config.tokens.includes(token)) return { accept: true };
    return { accept: false, status: 403, text: 'Forbidden', reason: 'auth' };
  }

  #ackFrame(): string | null {
    if (this.#stalled) return null;
    const frame = encodeFrame({ code: SERVER_CODES.heartbeatAck, name: SERVER_NAMES[SERVER_CODES.heartbeatAck], data: this.health() });
    this.#acks += 1;
    return frame;
  }

  #broadcast(resource: string, id: string, frame: string): number {
    let n = 0;
    if (this.#stalled) return n;
    for (const s of this.#sockets) {
      if (!s.listensTo(resource, id)) continue;
      s.send(frame);
      n += 1;
    }
    return n;
  }

  #sweep(): void {
    for (const s of [...this.#sockets]) if (!s.sweep()) this.#sockets.delete(s);
  }

  /** One round of demo changes: every demo guild and user gets a new revision of its entry. */
  #demoUpdates(): void {
    this.#revision += 1;
    const rev = this.#revision;
    const at = this.ctx.clock.now();
    DEMO_GUILDS.forEach((id, i) => this.updateGuild(id, { id, prefix: 'f!', locale: ['en-US', 'fr', 'de'][i], revision: rev, updatedAt: at }));
    DEMO_USERS.forEach((id, i) => this.updateUser(id, { id, points: 100 * (i + 1) + rev * 3, experience: { level: 1 + Math.floor(rev / 10) }, revision: rev, updatedAt: at }));
  }
}

/** The simulator half of the felix adapter (src/registry.ts joins it to the roles in index.ts). */
export const felixSimulator: SimulatorFactory<typeof FelixSimulatorOptions> = {
  simulatorOptions: FelixSimulatorOptions,
  startSimulator: (ctx, host, port) => FelixSimulator.start(ctx, host, port),
};
