/**
 * Holds every upstream link of this node: one LinkRunner per configured upstream resource, and
 * one bus `serve` per upstream that routes commands to the right link.
 */
import type { Bus, BusSubscription } from '../bus/bus.ts';
import type { Clock } from '../clock.ts';
import type { HttpCall, HttpResult, Log, ProtocolAdapter, ResourceRef, SimulatorEndpoint } from '../contracts.ts';
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
  /** Opens the links' sockets; default: real ones through `ws`. */
  connector?: Connector;
}

export interface LinkStatus {
  resource: string;
  id: string;
  state: string;
  reason: string;
}

export class Supervisor {
  readonly #o: SupervisorOptions;
  /** upstream name → `${resource}\0${id}` → runner */
  readonly #links = new Map<string, Map<string, LinkRunner>>();
  /** upstream name → `${resource}\0${id}` → the runner that takes its commands */
  readonly #routes = new Map<string, Map<string, LinkRunner>>();
  readonly #serves: BusSubscription[] = [];
  readonly #resources: ResourceRef[] = [];

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
    const runners = new Map<string, LinkRunner>();
    for (const spec of role.links()) {
      runners.set(`${spec.resource}\u0000${spec.id}`, new LinkRunner({
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
      }));
      this.#resources.push({ upstream: config.name, protocol: adapter.protocol, resource: spec.resource, id: spec.id, link: spec });
    }
    const routes = new Map(runners);
    const only = runners.size === 1 ? [...runners.values()][0] : undefined;
    for (const extra of role.resources?.() ?? []) {
      const link = only?.spec;
      this.#resources.push({ upstream: config.name, protocol: adapter.protocol, resource: extra.resource, id: extra.id, ...(link ? { link } : {}) });
      // Commands for a resource without a link of its own go to the upstream's only link.
      if (only) routes.set(`${extra.resource}\u0000${extra.id}`, only);
    }
    this.#links.set(config.name, runners);
    this.#routes.set(config.name, routes);
    o.interest.onChange(config.name, (union) => {
      for (const r of runners.values()) r.interestChanged(union);
    });
  }

  /** Every configured resource, for listeners to resolve what they serve. */
  resources(): readonly ResourceRef[] {
    return this.#resources;
  }

  /** Serves commands and connects every link. */
  start(): void {
    const o = this.#o;
    for (const [upstream, runners] of this.#links) {
      const routes = this.#routes.get(upstream)!;
      this.#serves.push(
        o.bus.serve(o.subjects.upstreamCommands(upstream), async (cmd, subject) => {
          const addr = o.subjects.parseCommand(subject);
          const runner = addr && routes.get(`${addr.resource}\u0000${addr.id}`);
          if (!runner) return { ok: false, code: 'BRIDGE_ERR_NOT_FOUND', message: 'no such upstream resource' };
          return runner.command(cmd);
        }),
      );
      for (const r of runners.values()) r.start();
    }
  }

  /** The runner of one link (tests and /readyz). */
  link(upstream: string, resource: string, id: string): LinkRunner | undefined {
    return this.#links.get(upstream)?.get(`${resource}\u0000${id}`);
  }

  /** Link states per upstream, for /readyz. */
  status(): Record<string, LinkStatus[]> {
    const out: Record<string, LinkStatus[]> = {};
    for (const [upstream, runners] of this.#links) {
      out[upstream] = [...runners.values()].map((r) => ({ resource: r.spec.resource, id: r.spec.id, state: r.state, reason: r.reason }));
    }
    return out;
  }

  /** Stops serving commands and closes every link with 1001. */
  async stop(): Promise<void> {
    for (const s of this.#serves.splice(0)) s.unsubscribe();
    await Promise.all([...this.#links.values()].flatMap((m) => [...m.values()].map((r) => r.stop())));
  }
}
