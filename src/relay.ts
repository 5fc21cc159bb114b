/**
 * The composition root: builds the bus, the simulators, the upstream supervisor, the hub and the
 * downstream server from a frozen config, and tears them down in the order a drain needs.
 */
import { guardedSystemClock, type Clock } from './clock.ts';
import { errorReporter, type ErrorReport } from './contain.ts';
import type { Bus } from './bus/bus.ts';
import type { Coordinator } from './cluster/coordinator.ts';
import { shareInterest } from './cluster/interest-share.ts';
import type { BridgeConfig } from './config/schema.ts';
import type { Log, ProtocolAdapter, Simulator, SimulatorEndpoint } from './contracts.ts';
import { ClientRegistry } from './auth/clients.ts';
import { Principals } from './auth/principals.ts';
import { AddressAdmission } from './downstream/admission.ts';
import { ClientAddresses, HostPolicy } from './downstream/edge.ts';
import { Hub } from './downstream/hub.ts';
import { DownstreamServer } from './downstream/server.ts';
import { createLog, type LogLevel } from './log.ts';
import { Metrics } from './metrics.ts';
import { packageVersion } from './status/routes.ts';
import { ThrottledLog } from './throttled-log.ts';
import { adapterFor, ADAPTERS } from './registry.ts';
import { Subjects } from './subjects.ts';
import { createHttpClient } from './upstream/http.ts';
import { Supervisor } from './upstream/supervisor.ts';
import { ticketServices, type TicketServices } from './cluster/tickets.ts';
import { InterestTable } from './upstream/interest.ts';
import { Reloader, type ReloadOutcome } from './reload.ts';
import { readTls, readTlsSync } from './tls.ts';
import { readiness, sessionBackend } from './relay/backend.ts';
import { BUS_STATES, busWaitMessage, makeBus, makeCoordinator } from './relay/bus.ts';
import { listenerContext, type ListenerParts } from './relay/listener-context.ts';
import { stopRelay } from './relay/shutdown.ts';

export type { ReloadOutcome } from './reload.ts';

export interface RelayOptions {
  config: BridgeConfig;
  /**
   * Time for heartbeats, token expiry, backoff, limits and the shutdown deadline (tests pass a
   * ManualClock). Default: the system clock, with throwing timer callbacks contained.
   */
  clock?: Clock;
  log?: Log;
  /** Jitter source for backoff. */
  random?: () => number;
  adapters?: readonly ProtocolAdapter[];
  /** Collect prom-client's default process metrics (off when many relays share a test process). */
  defaultMetrics?: boolean;
  /**
   * The configured simulators already run elsewhere (the primary of `--workers`): their endpoints
   * by name. The relay then starts none, and its upstreams use these.
   */
  simulatorEndpoints?: ReadonlyMap<string, SimulatorEndpoint>;
  /**
   * On the NATS bus, run the thread that kills the process when its event loop stalls past a
   * lease's fence deadline (src/cluster/watchdog.ts). Default: on. (Leases always run on real
   * time, whatever `clock` is: the KV bucket ages them out in real time.)
   */
  watchdog?: boolean;
}

export class Relay {
  #config: BridgeConfig;
  readonly metrics: Metrics;
  readonly bus: Bus;
  readonly subjects: Subjects;
  readonly hub: Hub;
  readonly supervisor: Supervisor;
  /** Who holds which upstream link: this node always (memory bus), or leases in NATS KV. */
  readonly coordinator: Coordinator;
  readonly server: DownstreamServer;
  readonly simulators = new Map<string, Simulator>();
  readonly interest: InterestTable;
  readonly clock: Clock;
  readonly log: Log;
  /** Logs and counts an error contained anywhere in this relay (`bridge_handler_errors_total`). */
  readonly report: ErrorReport;
  readonly #adapters: readonly ProtocolAdapter[];
  readonly #simulatorEndpoints: ReadonlyMap<string, SimulatorEndpoint> | undefined;
  /** The clients in force; a reload replaces them in place. */
  readonly #clients: ClientRegistry;
  /** The principal sources (config `auth`); each listener resolves through the ones it names. */
  readonly #principals: Principals;
  readonly #admission: AddressAdmission;
  /** Handed to every listener; a reload changes its fields in place. */
  readonly #tokenPolicy: { clockSkewSeconds: number; maxLifetimeSeconds: number };
  /** Refusals, failed authentications and limit hits, bounded. */
  readonly #notes: ThrottledLog;
  readonly #reloader: Reloader;
  /** Each listener's tickets: in this process (memory bus) or in the cluster's KV bucket (NATS). */
  readonly #tickets: TicketServices;
  #url = '';
  #port = 0;
  #listening = false;
  /** Set once the supervisor has every link; links start when the bus is connected too. */
  #linksWanted = false;
  #linksStarted = false;
  #draining = false;
  /** A start that failed on the port never started the bus: its teardown leaves the bus alone. */
  #busStarted = false;
  #stopped: Promise<void> | null = null;

  private constructor(opts: RelayOptions) {
    const { config } = opts;
    this.#config = config;
    this.log = opts.log ?? createLog(config.log.level as LogLevel, { node: config.node.id });
    this.#clients = new ClientRegistry(config.clients);
    this.#tokenPolicy = { clockSkewSeconds: config.limits.clockSkewSeconds, maxLifetimeSeconds: config.limits.maxTokenLifetimeSeconds };
    this.#adapters = opts.adapters ?? ADAPTERS;
    this.#simulatorEndpoints = opts.simulatorEndpoints;
    this.metrics = new Metrics({ defaultMetrics: opts.defaultMetrics ?? true });
    this.report = errorReporter(this.log, this.metrics);
    this.clock = opts.clock ?? guardedSystemClock((err) => this.report('timer', err));
    this.#notes = new ThrottledLog(this.log, this.clock);
    this.#admission = new AddressAdmission(config.limits, this.clock);
    this.subjects = new Subjects(config.bus.prefix);
    this.bus = makeBus(config, this.log, this.clock, this.metrics, this.#notes);
    this.metrics.setBusState(this.bus.kind, this.bus.state, BUS_STATES);
    this.bus.onStateChange((s) => {
      this.metrics.setBusState(this.bus.kind, s, BUS_STATES);
      this.log.info('bus state', { kind: this.bus.kind, state: s, ...(this.bus.server ? { server: this.bus.server } : {}) });
      this.#startLinks();
    });
    const { bus, clock, log, metrics, report } = this;
    this.coordinator = makeCoordinator({ config, bus, clock, log, metrics, report, watchdog: opts.watchdog ?? true, ...(opts.random ? { random: opts.random } : {}) });
    this.#tickets = ticketServices({ bus: this.bus, prefix: config.bus.prefix, replicas: config.bus.replicas, clock: this.clock, log: this.log, clients: this.#clients });
    this.hub = new Hub(this.bus, this.metrics, this.#notes);
    this.interest = new InterestTable({ clock: this.clock, coalesceMs: config.limits.interestCoalesceMs });
    const http = createHttpClient(config.limits.httpTimeoutMs);
    this.#principals = new Principals({
      auth: config.auth,
      clients: this.#clients,
      clock: this.clock,
      metrics: this.metrics,
      notes: this.#notes,
      tokenPolicy: this.#tokenPolicy,
      http,
      passThrough: (upstream) => this.supervisor.passThrough(upstream),
    });
    this.supervisor = new Supervisor({
      node: config.node.id,
      bus: this.bus,
      subjects: this.subjects,
      metrics: this.metrics,
      clock: this.clock,
      log: this.log,
      limits: config.limits,
      http,
      interest: this.interest,
      coordinator: this.coordinator,
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
      admission: this.#admission,
      hosts: new HostPolicy(config.http.allowedHosts),
      addresses: new ClientAddresses(config.http.trustedProxies),
      report: this.report,
      limits: config.limits,
      notes: this.#notes,
      clients: this.#clients,
      backend: sessionBackend({ config: () => this.#config, bus: this.bus, subjects: this.subjects, supervisor: this.supervisor, clock: this.clock }),
      readiness: () => this.#readiness(),
      ...(config.http.tls ? { tls: readTlsSync(config.http.tls) } : {}),
    });
    this.#reloader = new Reloader({
      log: this.log,
      metrics: this.metrics,
      server: this.server,
      interest: this.interest,
      clients: this.#clients,
      admission: this.#admission,
      tokenPolicy: this.#tokenPolicy,
      prefix: this.subjects.prefix,
      draining: () => this.#draining,
      current: () => this.#config,
      put: (next) => void (this.#config = next),
    });
  }

  /**
   * Builds and starts a relay; resolves once it listens and is ready. A start that fails (the port
   * in use, a simulator that cannot bind) takes down what it had started, and rejects.
   */
  static async start(opts: RelayOptions): Promise<Relay> {
    const relay = new Relay(opts);
    try {
      await relay.#start();
    } catch (err) {
      await relay.#shutdown(relay.config.http.shutdownGraceMs, false).catch(() => {});
      throw err;
    }
    return relay;
  }

  /**
   * Reads the `http.tls` certificate and key again (files: src/tls.ts) and serves them to new
   * connections; open connections keep theirs. Rejects, keeping the current pair, when the new one
   * cannot be read or does not make a TLS identity; rejects when the relay serves plain HTTP.
   */
  async reloadTls(): Promise<void> {
    const tls = this.config.http.tls;
    if (!tls) throw new Error('http.tls is not set: this relay serves plain HTTP');
    const material = await readTls(tls);
    this.server.host.setSecureContext(material);
    this.log.info('tls certificate reloaded');
  }

  /** The config in force (a reload replaces it). */
  get config(): BridgeConfig {
    return this.#config;
  }

  /**
   * Puts `next` in force in place, or refuses it whole (src/reload.ts says what changes how).
   * Reloads run one after another; counted in `bridge_config_reloads_total{result}` and logged.
   */
  reload(next: BridgeConfig): Promise<ReloadOutcome> {
    return this.#reloader.reload(next);
  }

  /** Counts and logs a reload whose file could not be loaded (the caller read it). */
  reloadFailed(error: string, issues?: ReloadOutcome['issues']): ReloadOutcome {
    return this.#reloader.failed(error, issues);
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

  /**
   * The port is bound first, answering only the probes (src/downstream/server.ts), so that a port
   * in use ends the start before any simulator, upstream link or bus connection exists; then the
   * bus, the simulators, the links and the listeners; then the port serves everything.
   */
  async #start(): Promise<void> {
    const { config } = this;
    const bound = await this.server.listen(config.http.host, config.http.port);
    this.#port = bound.port;
    this.#url = bound.url;
    this.#busStarted = true;
    await this.bus.start();
    for (const sim of this.#simulatorEndpoints ? [] : config.simulators) {
      const adapter = adapterFor(this.#adapters, sim.protocol);
      const started = await adapter.startSimulator({ config: sim, clock: this.clock, log: this.log }, sim.host, sim.port);
      this.simulators.set(sim.name, started);
      this.log.info('simulator started', { name: sim.name, protocol: sim.protocol, url: started.endpoint.url });
    }
    for (const up of config.upstreams) {
      const adapter = adapterFor(this.#adapters, up.protocol);
      const sim = up.simulator;
      this.supervisor.add(up, adapter, sim ? (this.#simulatorEndpoints?.get(sim) ?? this.simulators.get(sim)?.endpoint) : undefined);
    }
    shareInterest(this.interest, this.coordinator, config.upstreams.map((u) => u.name));
    for (const listener of config.listeners) {
      const adapter = adapterFor(this.#adapters, listener.dialect);
      const role = adapter.createListener(listenerContext(this.#listenerParts(), listener));
      this.server.mount(listener, adapter, role);
    }
    this.server.open();
    this.#listening = true;
    this.#linksWanted = true;
    this.#startLinks();
    this.log.info('relay listening', {
      version: packageVersion(),
      url: this.#url,
      port: this.#port,
      bus: this.bus.kind,
      tls: this.server.host.secure,
      listeners: config.listeners.map((l) => ({ name: l.name, dialect: l.dialect, path: l.path })),
      upstreams: config.upstreams.length,
    });
    if (!config.http.publicUrl && !config.http.allowedHosts) {
      this.log.warn('the token and ticket endpoints trust the Host header: set http.publicUrl (or http.allowedHosts) so a client cannot choose the issuer and socket URL of its token');
    }
    if (this.bus.state !== 'connected') this.log.warn(busWaitMessage(config, this.bus), { kind: this.bus.kind, error: this.bus.lastError });
  }

  /**
   * Starts the upstream links (and their command serving) once everything is built and the bus
   * has connected for the first time. Links wait for the bus on purpose: every event a link
   * publishes into a bus that is not connected is lost (its `upstream.state`, a Wings `status`
   * a late dashboard would read back), and a command could not reach it anyway. Later bus outages
   * do not stop the links: the nats client buffers while it reconnects.
   */
  #startLinks(): void {
    if (!this.#linksWanted || this.#linksStarted || this.#draining || this.bus.state !== 'connected') return;
    this.#linksStarted = true;
    // Leases asked for before the coordinator's bucket is open wait for it (as `unowned`).
    void this.coordinator.start();
    this.supervisor.start();
  }

  #listenerParts(): ListenerParts {
    const { clock, log, subjects, metrics, supervisor, server } = this;
    const parts = { clock, log, subjects, metrics, supervisor, server, clients: this.#clients, principals: this.#principals, tickets: this.#tickets };
    return { ...parts, tokenPolicy: this.#tokenPolicy, config: () => this.#config, port: () => this.#port };
  }

  #readiness(): ReturnType<typeof readiness> {
    const { ready, bus, server, supervisor } = this;
    return readiness({ ready, draining: this.#draining, bus, node: this.config.node.id, sessions: server.sessionCount, upstreams: supervisor.status() });
  }

  /**
   * Graceful stop: /readyz 503, refuse new upgrades, close dashboards with 1001 while the upstream
   * links are closed and their leases released (at once, so another node takes them over while
   * this one still drains), drain the bus, close the port and the simulators. Idempotent.
   *
   * `graceMs` bounds the whole stop on the relay's clock: the sessions get the grace less a
   * reserve for the steps after them, and any step still running at the deadline is abandoned
   * (logged), so the caller can exit on time whatever a peer does.
   */
  stop(graceMs = this.config.http.shutdownGraceMs): Promise<void> {
    return this.#shutdown(graceMs, true);
  }

  /** {@link stop}; `logged` false for the teardown of a start that failed (main.ts says why in one line). */
  #shutdown(graceMs: number, logged: boolean): Promise<void> {
    if (this.#stopped) return this.#stopped;
    this.#draining = true;
    const { clock, log, server, supervisor, coordinator, bus, simulators } = this;
    const parts = { clock, log, server, supervisor, coordinator, bus, simulators, notes: this.#notes, busStarted: () => this.#busStarted };
    this.#stopped = stopRelay(parts, graceMs, logged);
    return this.#stopped;
  }
}
