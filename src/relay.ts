/**
 * The composition root: builds the bus, the simulators, the upstream supervisor, the hub and the
 * downstream server from a frozen config, and tears them down in the order a drain needs.
 */
import { systemClock, type Clock } from './clock.ts';
import type { Bus, BusState } from './bus/bus.ts';
import { MemoryBus } from './bus/memory.ts';
import { NatsBus } from './bus/nats.ts';
import type { BridgeConfig, ListenerConfig } from './config/schema.ts';
import type { HttpRequest, ListenerContext, Log, ProtocolAdapter, Simulator } from './contracts.ts';
import { clientDirectory } from './auth/clients.ts';
import { Hub } from './downstream/hub.ts';
import { DownstreamServer } from './downstream/server.ts';
import { createLog, type LogLevel } from './log.ts';
import { Metrics } from './metrics.ts';
import { adapterFor, ADAPTERS } from './registry.ts';
import { Subjects } from './subjects.ts';
import { createHttpClient } from './upstream/http.ts';
import { Supervisor } from './upstream/supervisor.ts';
import { InterestTable } from './upstream/interest.ts';

export interface RelayOptions {
  config: BridgeConfig;
  /** Time for heartbeats, token expiry and backoff (tests pass a ManualClock). */
  clock?: Clock;
  log?: Log;
  /** Jitter source for backoff. */
  random?: () => number;
  adapters?: readonly ProtocolAdapter[];
  /** Collect prom-client's default process metrics (off when many relays share a test process). */
  defaultMetrics?: boolean;
}

const BUS_STATES: readonly BusState[] = ['connecting', 'connected', 'reconnecting', 'draining', 'closed'];

export class Relay {
  readonly config: BridgeConfig;
  readonly metrics: Metrics;
  readonly bus: Bus;
  readonly subjects: Subjects;
  readonly hub: Hub;
  readonly supervisor: Supervisor;
  readonly server: DownstreamServer;
  readonly simulators = new Map<string, Simulator>();
  readonly interest: InterestTable;
  readonly clock: Clock;
  readonly log: Log;
  readonly #adapters: readonly ProtocolAdapter[];
  #url = '';
  #port = 0;
  #listening = false;
  #draining = false;
  #stopped: Promise<void> | null = null;

  private constructor(opts: RelayOptions) {
    const { config } = opts;
    this.config = config;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLog(config.log.level as LogLevel, { node: config.node.id });
    this.#adapters = opts.adapters ?? ADAPTERS;
    this.metrics = new Metrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.subjects = new Subjects(config.bus.prefix);
    this.bus = Relay.#makeBus(config, this.log);
    this.metrics.setBusState(this.bus.kind, this.bus.state, BUS_STATES);
    this.bus.onStateChange((s) => {
      this.metrics.setBusState(this.bus.kind, s, BUS_STATES);
      this.log.info('bus state', { kind: this.bus.kind, state: s });
    });
    this.hub = new Hub(this.bus, this.metrics);
    this.interest = new InterestTable({ clock: this.clock, coalesceMs: config.limits.interestCoalesceMs });
    this.supervisor = new Supervisor({
      node: config.node.id,
      bus: this.bus,
      subjects: this.subjects,
      metrics: this.metrics,
      clock: this.clock,
      log: this.log,
      limits: config.limits,
      http: createHttpClient(config.limits.httpTimeoutMs),
      interest: this.interest,
      ...(opts.random ? { random: opts.random } : {}),
    });
    this.server = new DownstreamServer({
      maxPayloadBytes: config.limits.maxPayloadBytes,
      writeQueueBytes: config.limits.writeQueueBytes,
      hub: this.hub,
      metrics: this.metrics,
      log: this.log,
      interest: this.interest,
      clock: this.clock,
      limits: config.limits,
      backend: {
        request: (cmd) => this.bus.request(this.subjects.command(cmd.upstream, cmd.resource, cmd.id), cmd, config.limits.commandTimeoutMs),
        history: (subject, limit) => this.bus.history(subject, limit),
        last: (subject) => this.bus.last(subject),
      },
      readiness: () => this.#readiness(),
    });
  }

  static #makeBus(config: BridgeConfig, log: Log): Bus {
    const b = config.bus;
    const onError = (err: unknown) => log.warn('bus error', { err: err as Error });
    if (b.kind === 'memory') return new MemoryBus({ historyLimit: b.historyLimit, onError });
    return new NatsBus({
      servers: [...b.servers],
      prefix: b.prefix,
      historyLimit: b.historyLimit,
      storage: b.storage,
      maxAgeSeconds: b.maxAgeSeconds,
      name: `protocol-bridge ${config.node.id}`,
      ...(b.token ? { token: b.token } : {}),
      ...(b.user ? { user: b.user } : {}),
      ...(b.password ? { pass: b.password } : {}),
      onError,
    });
  }

  /** Builds and starts a relay; resolves once it listens and is ready. */
  static async start(opts: RelayOptions): Promise<Relay> {
    const relay = new Relay(opts);
    try {
      await relay.#start();
    } catch (err) {
      await relay.stop().catch(() => {});
      throw err;
    }
    return relay;
  }

  /** Base URL of the one port (http://host:port). */
  get url(): string {
    return this.#url;
  }

  get port(): number {
    return this.#port;
  }

  get ready(): boolean {
    return this.#listening && !this.#draining && this.bus.state === 'connected';
  }

  async #start(): Promise<void> {
    const { config } = this;
    await this.bus.start();
    for (const sim of config.simulators) {
      const adapter = adapterFor(this.#adapters, sim.protocol);
      const started = await adapter.startSimulator({ config: sim, clock: this.clock, log: this.log }, sim.host, sim.port);
      this.simulators.set(sim.name, started);
      this.log.info('simulator started', { name: sim.name, protocol: sim.protocol, url: started.endpoint.url });
    }
    for (const up of config.upstreams) {
      const adapter = adapterFor(this.#adapters, up.protocol);
      this.supervisor.add(up, adapter, up.simulator ? this.simulators.get(up.simulator)?.endpoint : undefined);
    }
    const clients = clientDirectory(config.clients);
    for (const listener of config.listeners) {
      const adapter = adapterFor(this.#adapters, listener.dialect);
      const role = adapter.createListener(this.#listenerContext(listener, clients));
      this.server.mount(listener, adapter, role);
    }
    this.supervisor.start();
    const bound = await this.server.listen(config.http.host, config.http.port);
    this.#port = bound.port;
    this.#url = bound.url;
    this.#listening = true;
    this.log.info('relay listening', { url: this.#url, port: this.#port, bus: this.bus.kind });
  }

  #listenerContext(listener: ListenerConfig, clients: ReturnType<typeof clientDirectory>): ListenerContext<ListenerConfig> {
    const served = new Set(listener.upstreams);
    const { config } = this;
    return {
      config: listener,
      node: config.node.id,
      clock: this.clock,
      log: this.log,
      subjects: this.subjects,
      clients,
      telemetry: this.metrics.telemetry(listener.dialect, 'downstream'),
      resources: () => this.supervisor.resources().filter((r) => served.has(r.upstream)),
      publicUrl: (req: HttpRequest) => {
        if (config.http.publicUrl) return config.http.publicUrl.replace(/\/$/, '');
        const proto = req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
        return `${proto}://${req.headers.host ?? `127.0.0.1:${this.#port}`}`;
      },
    };
  }

  #readiness(): { ready: boolean; detail: Record<string, unknown> } {
    return {
      ready: this.ready,
      detail: {
        node: this.config.node.id,
        draining: this.#draining,
        bus: { kind: this.bus.kind, state: this.bus.state },
        sessions: this.server.sessionCount,
        upstreams: this.supervisor.status(),
      },
    };
  }

  /**
   * Graceful stop: /readyz 503, refuse new upgrades, close dashboards with 1001, close upstream
   * links, drain the bus, close the port and the simulators. Idempotent.
   */
  stop(graceMs = this.config.http.shutdownGraceMs): Promise<void> {
    this.#stopped ??= (async () => {
      this.#draining = true;
      this.log.info('relay draining', { sessions: this.server.sessionCount });
      await this.server.drain(graceMs);
      await this.supervisor.stop();
      await this.bus.drain().catch((err) => this.log.warn('bus drain failed', { err: err as Error }));
      await this.server.close();
      await Promise.all([...this.simulators.values()].map((s) => s.close()));
      this.log.info('relay stopped');
    })();
    return this.#stopped;
  }
}
