/**
 * Holds every upstream link of this node: one LinkRunner per configured upstream resource, run
 * only while this node holds the link's lease (src/cluster/), and the bus `serve`s of the link's
 * command subjects, made while it holds the lease and dropped when it loses it, so that commands
 * from any node reach the one node that holds the socket.
 */
import type { Bus, BusSubscription } from '../bus/bus.ts';
import type { Coordinator, Lease, LeaseView, LinkOwnership } from '../cluster/coordinator.ts';
import type { Clock } from '../clock.ts';
import type { HttpCall, HttpResult, Log, PassThrough, ProtocolAdapter, ResourceRef, SimulatorEndpoint } from '../contracts.ts';
import type { LimitsConfig, UpstreamConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics.ts';
import type { Subjects } from '../subjects.ts';
import type { Connector } from './connector.ts';
import { LinkRunner } from './link-runner.ts';
import type { InterestTable } from './interest.ts';

export interface SupervisorOptions {
  node: string;
  bus: Bus;
  subjects: Subjects;
  metrics: Metrics;
  clock: Clock;
  log: Log;
  limits: LimitsConfig;
  http(call: HttpCall): Promise<HttpResult>;
  random?: () => number;
  interest: InterestTable;
  /** Who holds which link (memory: this node, always). */
  coordinator: Coordinator;
  /** Opens the links' sockets; default: real ones through `ws`. */
  connector?: Connector;
}

export interface LinkStatus {
  resource: string;
  id: string;
  /** The runner's state while this node holds the link, else `standby`/`unowned`. */
  state: string;
  reason: string;
  ownership: LinkOwnership;
  /** The owner's node id, when known. */
  owner: string | null;
  /** When the owner took the link (ms since the epoch), when known. */
  since: number | null;
}

interface Link {
  readonly upstream: string;
  readonly runner: LinkRunner;
  /** The lease key (Subjects.leaseKey). */
  readonly key: string;
  /** The command subjects this link answers: its own, and those of resources routed to it. */
  readonly commands: string[];
  serves: BusSubscription[];
  lease: Lease | null;
}

export class Supervisor {
  readonly #o: SupervisorOptions;
  /** upstream name → `${resource}\0${id}` → link */
  readonly #links = new Map<string, Map<string, Link>>();
  readonly #resources: ResourceRef[] = [];
  /** Upstreams whose role can check a dashboard's own credential (config `auth.panel`). */
  readonly #passThrough = new Map<string, PassThrough>();
  #stopping = false;

  constructor(o: SupervisorOptions) {
    this.#o = o;
  }

  /** Creates the role and the links of one upstream (not started yet). */
  add(config: UpstreamConfig, adapter: ProtocolAdapter, simulator?: SimulatorEndpoint): void {
    const o = this.#o;
    const log = o.log;
    const ctx = simulator
      ? { config, node: o.node, clock: o.clock, log, simulator }
      : { config, node: o.node, clock: o.clock, log };
    const role = adapter.createUpstream(ctx);
    if (role.passThrough) this.#passThrough.set(config.name, role.passThrough);
    const links = new Map<string, Link>();
    for (const spec of role.links()) {
      const runner = new LinkRunner({
        upstream: config.name,
        protocol: adapter.protocol,
        node: o.node,
        spec,
        role,
        bus: o.bus,
        subjects: o.subjects,
        metrics: o.metrics,
        clock: o.clock,
        log,
        http: o.http,
        interest: () => o.interest.union(config.name),
        backoff: { initialMs: o.limits.backoffInitialMs, maxMs: o.limits.backoffMaxMs, multiplier: o.limits.backoffMultiplier },
        backoffResetMs: o.limits.backoffResetMs,
        ...(o.connector ? { connector: o.connector } : {}),
        ...(o.random ? { random: o.random } : {}),
        connectTimeoutMs: o.limits.connectTimeoutMs,
        maxPayloadBytes: o.limits.maxPayloadBytes,
      });
      links.set(`${spec.resource}\u0000${spec.id}`, {
        upstream: config.name,
        runner,
        key: o.subjects.leaseKey(config.name, spec.resource, spec.id),
        commands: [o.subjects.command(config.name, spec.resource, spec.id)],
        serves: [],
        lease: null,
      });
      this.#resources.push({ upstream: config.name, protocol: adapter.protocol, resource: spec.resource, id: spec.id, link: spec });
    }
    const only = links.size === 1 ? [...links.values()][0] : undefined;
    for (const extra of role.resources?.() ?? []) {
      const link = only?.runner.spec;
      this.#resources.push({ upstream: config.name, protocol: adapter.protocol, resource: extra.resource, id: extra.id, ...(link ? { link } : {}) });
      // Commands for a resource without a link of its own go to the upstream's only link, and
      // so are served wherever that link is.
      only?.commands.push(o.subjects.command(config.name, extra.resource, extra.id));
    }
    this.#links.set(config.name, links);
    o.interest.onChange(config.name, (union) => {
      for (const l of links.values()) l.runner.interestChanged(union);
    });
  }

  /** How to check a dashboard's own credential with `upstream`, if its protocol can. */
  passThrough(upstream: string): PassThrough | undefined {
    return this.#passThrough.get(upstream);
  }

  /** Every configured resource, for listeners to resolve what they serve. */
  resources(): readonly ResourceRef[] {
    return this.#resources;
  }

  /**
   * Asks for every link's lease; from then on each link runs (and serves its commands) exactly
   * while this node holds the lease. On the memory coordinator that is at once and for good.
   */
  start(): void {
    for (const links of this.#links.values()) {
      for (const link of links.values()) {
        if (link.lease) continue;
        const lease = this.#o.coordinator.lease(link.key);
        link.lease = lease;
        lease.onChange((view) => this.#follow(link, view));
        this.#follow(link, lease);
      }
    }
  }

  /** The runner of one link (tests and /readyz). */
  link(upstream: string, resource: string, id: string): LinkRunner | undefined {
    return this.#links.get(upstream)?.get(`${resource}\u0000${id}`)?.runner;
  }

  /** Link states and ownership per upstream, for /readyz. */
  status(): Record<string, LinkStatus[]> {
    const out: Record<string, LinkStatus[]> = {};
    for (const [upstream, links] of this.#links) {
      out[upstream] = [...links.values()].map(({ runner, lease }) => ({
        resource: runner.spec.resource,
        id: runner.spec.id,
        state: runner.state,
        reason: runner.reason,
        ownership: lease?.ownership ?? 'unowned',
        owner: lease?.owner ?? null,
        since: lease?.since ?? null,
      }));
    }
    return out;
  }

  /**
   * Stops serving commands, closes every link with 1001, then gives up each lease once its link
   * is closed (never before: the next owner must not connect while this socket lives), so that
   * a standby node takes over at once.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    const all = [...this.#links.values()].flatMap((m) => [...m.values()]);
    for (const link of all) this.#unserve(link);
    await Promise.all(
      all.map(async (link) => {
        await link.runner.stop();
        await link.lease?.release();
      }),
    );
  }

  /** Runs the link while the lease is ours; drops it the moment it is not. */
  #follow(link: Link, view: LeaseView): void {
    const { spec } = link.runner;
    if (this.#stopping) {
      // A lease lost during the drain still ends the socket at once (it may be in its close handshake).
      if (view.ownership !== 'owned') link.runner.fence(view.ownership, 'lease lost while stopping');
      return;
    }
    this.#o.log.info('link ownership', { upstream: link.upstream, resource: spec.resource, id: spec.id, ownership: view.ownership, owner: view.owner });
    if (view.ownership === 'owned') {
      this.#serve(link);
      link.runner.start();
      return;
    }
    link.runner.fence(view.ownership, view.owner ? `owned by ${view.owner}` : 'no owner');
    this.#unserve(link);
  }

  #serve(link: Link): void {
    if (link.serves.length > 0) return;
    const runner = link.runner;
    link.serves = link.commands.map((subject) => this.#o.bus.serve(subject, (cmd) => runner.command(cmd)));
  }

  #unserve(link: Link): void {
    for (const s of link.serves.splice(0)) s.unsubscribe();
  }
}
