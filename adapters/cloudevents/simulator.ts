/**
 * A CloudEvents producer speaking this dialect: the demo upstream of a `cloudevents` upstream and
 * the far side of its tests. Same wire as the relay's listener: `Authorization: Bearer <apiKey>`
 * at the upgrade (HTTP 401 when wrong), or without the header `{"op":"auth","key"}` in a frame
 * before any subscription; `subscribe`/`unsubscribe` with the same replies, and every matching
 * event as BridgeEvent JSON. It has no grants: a good key may subscribe to anything.
 *
 * It emits demo `server.console` and `server.status` events on a timer (`intervalMs`, 0 disables)
 * and pings every socket (`pingIntervalMs`, 0 disables), terminating one that missed a pong, so
 * the relay's upstream keep-alive is exercised too. All time comes from the injected clock.
 */
import { HostedSimulator, Type, bearerKey, keepLast, listenSimulator, makeEvent } from '../../src/simulator-kit.ts';
import type { BridgeEvent, HostConnection, HttpRequest, SimulatorContext, SimulatorEndpoint, SimulatorFactory, SimulatorStart, Static, Timer, UpgradeVerdict } from '../../src/simulator-kit.ts';
import { decodeClient, encodeEvent, encodeServerMessage, errorFrame, type SubscriptionMessage } from './codec.ts';
import { eventSubject, parseSubject, subjectMatches } from './subject.ts';
import { CLIENT_OPS, DEFAULT_PATH, REPLY_ERRORS, SERVER_OPS } from './vocabulary.ts';

/** Config options of the CloudEvents simulator (besides `name`, `protocol`, `host`, `port`). */
export const CloudEventsSimulatorOptions = Type.Object(
  {
    apiKey: Type.String({ minLength: 1, default: 'ce_simulator_demo_key', description: 'Key accepted as `Authorization: Bearer <apiKey>`.' }),
    upstream: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'demo', description: 'Upstream name in the `source` (bridge://<upstream>) of the events it produces.' }),
    servers: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, default: ['demo-1', 'demo-2'], description: 'Resource ids of its demo `server` events.' }),
    intervalMs: Type.Integer({ minimum: 0, default: 2000, description: 'Period of the demo events; 0 disables them.' }),
    pingIntervalMs: Type.Integer({ minimum: 0, default: 30000, description: 'WebSocket ping period; a socket that missed a pong is terminated. 0 disables.' }),
  },
  { additionalProperties: false },
);
export type CloudEventsSimulatorConfig = Static<typeof CloudEventsSimulatorOptions>;

const DEMO_STATES = ['running', 'stopping', 'offline', 'starting'] as const;
/** Every this many demo ticks a server also changes state. */
const STATUS_EVERY = 5;

/** One client socket: its subscriptions and its keep-alive. */
class SimConnection {
  readonly subjects = new Set<string>();
  alive = true;
  constructor(
    readonly conn: HostConnection,
    /** The key came with the upgrade, or later in an `auth` frame. */
    public authenticated: boolean,
  ) {}

  wants(subject: string): boolean {
    for (const pattern of this.subjects) if (subjectMatches(pattern, subject)) return true;
    return false;
  }
}

export class CloudEventsSimulator extends HostedSimulator<CloudEventsSimulatorConfig> {
  /** Base URL; the socket is `ws://…/cloudevents`, the key `credentials.apiKey`. */
  declare readonly endpoint: SimulatorEndpoint;
  /** The last RECORD_LIMIT valid subscription messages, in arrival order (`auth` frames, which hold a key, are not kept). */
  readonly received: SubscriptionMessage[] = [];
  /** Pongs received (the relay keeping its keep-alive duty). */
  pongs = 0;

  readonly #connections = new Set<SimConnection>();
  readonly #timers: Timer[] = [];
  #ticks = 0;

  private constructor(start: SimulatorStart<CloudEventsSimulatorConfig>) {
    super(start, { apiKey: start.config.apiKey });
    const { ctx, config } = start;
    if (config.intervalMs > 0) this.#timers.push(ctx.clock.setInterval(() => this.#demoTick(), config.intervalMs));
    if (config.pingIntervalMs > 0) this.#timers.push(ctx.clock.setInterval(() => this.#heartbeat(), config.pingIntervalMs));
  }

  /** Starts listening on `host:port` (0 picks a free port). Missing options take their defaults. */
  static async start(ctx: SimulatorContext<CloudEventsSimulatorConfig>, host: string, port: number): Promise<CloudEventsSimulator> {
    const start = await listenSimulator(CloudEventsSimulatorOptions, ctx, host, port, 64 * 1024);
    const { config, web, url } = start;
    const sim = new CloudEventsSimulator(start);
    web.endpoint({
      path: DEFAULT_PATH,
      authorize: (req) => sim.#authorize(req),
      open: (conn, _req, state) => {
        const c = new SimConnection(conn, state === true);
        sim.#connections.add(c);
        return {
          onMessage: (text) => sim.#onMessage(c, text),
          onPong: () => {
            c.alive = true;
            sim.pongs += 1;
          },
          onClose: () => sim.#connections.delete(c),
        };
      },
    });
    ctx.log.info('cloudevents simulator listening', { url, servers: config.servers.length });
    return sim;
  }

  protected shutdown(): void {
    for (const t of this.#timers.splice(0)) t.cancel();
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Sends `event` once to every socket with a matching subscription; returns how many got it. */
  emit(event: BridgeEvent): number {
    const frame = encodeEvent(event, '');
    if (frame === null) return 0;
    const subject = eventSubject(event);
    let sent = 0;
    for (const c of this.#connections) {
      if (!c.wants(subject)) continue;
      c.conn.send(frame);
      sent += 1;
    }
    return sent;
  }

  /** A BridgeEvent from this producer (source `bridge://<upstream>`), for `emit`. */
  event(type: string, id: string, data: unknown): BridgeEvent {
    return makeEvent({ upstream: this.config.upstream, node: 'cloudevents-simulator', receivedAt: this.ctx.clock.now() }, type, id, data);
  }

  /** Open sockets. */
  connectionCount(): number {
    return this.#connections.size;
  }

  /** Terminates every socket without a close frame (a producer crash, for reconnect tests). */
  dropAll(): void {
    for (const c of this.#connections) c.conn.terminate();
  }

  // ---- internals ----------------------------------------------------------------------------

  #authorize(req: HttpRequest): UpgradeVerdict {
    // No header: the key may come in the first frame.
    if (req.headers.authorization === undefined) return { accept: true, state: false };
    if (bearerKey(req.headers.authorization) === this.config.apiKey) return { accept: true, state: true };
    return { accept: false, status: 401, json: { error: 'unauthorized', code: 'BRIDGE_ERR_UNAUTHORIZED' }, reason: 'auth' };
  }

  #onMessage(c: SimConnection, text: string): void {
    const message = decodeClient(text);
    if (message === null) return c.conn.send(errorFrame(REPLY_ERRORS.badFrame, 'expected {"op":"subscribe"|"unsubscribe","subject"} or {"op":"auth","key"}'));
    if (message.op === CLIENT_OPS.auth) {
      if (c.authenticated) return c.conn.send(errorFrame(REPLY_ERRORS.badFrame, 'already authenticated'));
      if (message.key !== this.config.apiKey) return c.conn.send(errorFrame(REPLY_ERRORS.unauthorized, 'the key is not known'));
      c.authenticated = true;
      return c.conn.send(encodeServerMessage({ op: SERVER_OPS.authenticated }));
    }
    if (!c.authenticated) return c.conn.send(errorFrame(REPLY_ERRORS.unauthorized, 'authenticate first', message.subject));
    const check = parseSubject(message.subject);
    if (!check.ok) return c.conn.send(errorFrame(REPLY_ERRORS.badFrame, `invalid subject: ${check.reason}`, message.subject));
    keepLast(this.received, message);
    if (message.op === CLIENT_OPS.subscribe) c.subjects.add(message.subject);
    else c.subjects.delete(message.subject);
    const op = message.op === CLIENT_OPS.subscribe ? SERVER_OPS.subscribed : SERVER_OPS.unsubscribed;
    c.conn.send(encodeServerMessage({ op, subject: message.subject }));
  }

  /** One console line from one server per tick, round robin; every few ticks a status change too. */
  #demoTick(): void {
    const n = this.#ticks++;
    const servers = this.config.servers;
    const id = servers[n % servers.length]!;
    this.emit(this.event('server.console', id, { line: `[demo] tick ${n} on ${id}` }));
    if (n % STATUS_EVERY === STATUS_EVERY - 1) this.emit(this.event('server.status', id, { state: DEMO_STATES[Math.floor(n / STATUS_EVERY) % DEMO_STATES.length] }));
  }

  /** Pings every socket; one that did not answer the previous ping is terminated. */
  #heartbeat(): void {
    for (const c of this.#connections) {
      if (!c.alive) {
        c.conn.terminate();
        continue;
      }
      c.alive = false;
      c.conn.ping();
    }
  }
}

/** The simulator half of the cloudevents adapter (src/registry.ts joins it to the roles in index.ts). */
export const cloudeventsSimulator: SimulatorFactory<typeof CloudEventsSimulatorOptions> = {
  simulatorOptions: CloudEventsSimulatorOptions,
  startSimulator: (ctx, host, port) => CloudEventsSimulator.start(ctx, host, port),
};
