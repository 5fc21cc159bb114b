/**
 * Every metric of the relay, on one prom-client Registry per relay instance (so several relays,
 * e.g. cluster nodes in one test process, never share counters). Labels are low-cardinality only:
 * protocol/dialect, upstream name, direction, state, reason — never ids, keys or tokens.
 *
 * Under `--workers N` a scrape answers for every worker process (src/process/cluster-metrics.ts):
 * each metric is merged by its prom-client `aggregator`. Counters, the histogram and the gauges that
 * count things (connections, links, queued bytes, bus states) are summed, which is what they mean
 * for the whole relay; prom-client's own process metrics carry theirs (start time omitted, event
 * loop lag averaged, version taken once). A new per-process gauge that does not add up across
 * processes must say how to merge (`aggregator: 'max'`, `'omit'`, …).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DropReason, Telemetry } from './contracts.ts';
import { FanoutTiming } from './fanout-timing.ts';

/** Where a contained error escaped from (`bridge_handler_errors_total{where}`). */
export type HandlerSite = 'request' | 'upgrade' | 'frame' | 'timer' | 'bus' | 'link' | 'process';

export type Direction = 'upstream' | 'downstream';

/**
 * Link states. `standby` (another node owns the link) and `unowned` (no owner seen) are the
 * states of a link this node does not hold; a link it holds shows its runner's state.
 */
export const LINK_STATES = ['idle', 'connecting', 'authenticating', 'ready', 'backoff', 'failed', 'closed', 'standby', 'unowned'] as const;
export type LinkState = (typeof LINK_STATES)[number];

export class Metrics {
  readonly registry = new Registry();

  readonly downstreamConnections = new Gauge({
    name: 'bridge_downstream_connections',
    help: 'Open dashboard WebSocket sessions.',
    labelNames: ['dialect'] as const,
    registers: [this.registry],
  });
  readonly upstreamLinks = new Gauge({
    name: 'bridge_upstream_links',
    help: 'Upstream links by state (one link per upstream resource).',
    labelNames: ['protocol', 'upstream', 'state'] as const,
    registers: [this.registry],
  });
  readonly leaseLosses = new Counter({
    name: 'bridge_lease_losses_total',
    help: 'Upstream link leases this node lost while holding them (its link was dropped at once): `deadline` (no renewal within half the lease TTL), `conflict` (another node holds it), `deleted`.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly upstreamReconnects = new Counter({
    name: 'bridge_upstream_reconnects_total',
    help: 'Reconnect attempts scheduled after an upstream link went down.',
    labelNames: ['protocol', 'upstream'] as const,
    registers: [this.registry],
  });
  readonly eventsIn = new Counter({
    name: 'bridge_events_in_total',
    help: 'Events published to the bus from upstream frames.',
    labelNames: ['protocol', 'upstream'] as const,
    registers: [this.registry],
  });
  /** Deliveries counted on the write path as plain numbers, one cell per dialect (see {@link deliveries}). */
  readonly #deliveries = new Map<string, { n: number }>();
  readonly eventsOut: Counter<'dialect'> = (() => {
    const cells = this.#deliveries;
    return new Counter({
      name: 'bridge_events_out_total',
      help: 'Frames delivered to dashboard sessions (deliveries, not publishes).',
      labelNames: ['dialect'] as const,
      registers: [this.registry],
      // Folded in at scrape time: a labelled inc() per socket write hashes its labels every call.
      collect() {
        for (const [dialect, cell] of cells) {
          if (cell.n === 0) continue;
          this.inc({ dialect }, cell.n);
          cell.n = 0;
        }
      },
    });
  })();
  readonly eventsDropped = new Counter({
    name: 'bridge_events_dropped_total',
    help: 'Events or frames not delivered, by reason.',
    labelNames: ['dialect', 'direction', 'reason'] as const,
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'bridge_auth_failures_total',
    help: 'Refused or failed authentications.',
    labelNames: ['dialect', 'direction', 'reason'] as const,
    registers: [this.registry],
  });
  readonly authSourceResults = new Counter({
    name: 'bridge_auth_source_results_total',
    help: 'Answers of the principal sources (config `auth`, listener `auth`) by source (static, jwt, hook, panel) and result: ok, unknown (not this source\'s credential), invalid, expired, forbidden, not_found, unavailable (the hook, the JWKS or the panel did not answer in time or at all); `session_expired` counts sessions ended because their credential expired.',
    labelNames: ['source', 'result'] as const,
    registers: [this.registry],
  });
  readonly heartbeatTimeouts = new Counter({
    name: 'bridge_heartbeat_timeouts_total',
    help: 'Connections ended because a heartbeat obligation was missed.',
    labelNames: ['dialect', 'direction'] as const,
    registers: [this.registry],
  });
  readonly commands = new Counter({
    name: 'bridge_commands_total',
    help: 'Dashboard commands by result.',
    labelNames: ['dialect', 'result'] as const,
    registers: [this.registry],
  });
  readonly fanoutLatency = new Histogram({
    name: 'bridge_fanout_latency_seconds',
    help: 'Time from receiving an upstream frame to handing the event to local sessions.',
    labelNames: ['dialect'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly fanoutWrite = new Histogram({
    name: 'bridge_fanout_write_seconds',
    help: 'Time from receiving an upstream frame to the last socket write of its event to this node\'s sessions, for events this node received itself: the relay\'s own share of delivery latency.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  /** Times events from upstream receipt to last socket write, into {@link fanoutWrite}. */
  readonly fanout = new FanoutTiming((seconds) => this.fanoutWrite.observe(seconds));
  /** The delivery count cell of a dialect: add to `n`; it reaches `bridge_events_out_total` at the next scrape. */
  deliveries(dialect: string): { n: number } {
    let cell = this.#deliveries.get(dialect);
    if (!cell) this.#deliveries.set(dialect, (cell = { n: 0 }));
    return cell;
  }

  /** Set by the downstream server: yields [dialect, queued bytes] per session, read at scrape time. */
  queueProbe: (() => Iterable<readonly [string, number]>) | null = null;
  readonly writeQueueBytes: Gauge<'dialect'> = (() => {
    const metrics = this;
    return new Gauge({
      name: 'bridge_write_queue_bytes',
      help: 'Bytes queued for dashboard sessions and not yet written to the kernel.',
      labelNames: ['dialect'] as const,
      registers: [this.registry],
      collect() {
        // Summed at scrape time, so the write path carries no gauge update.
        this.reset();
        for (const [dialect, bytes] of metrics.queueProbe?.() ?? []) this.inc({ dialect }, bytes);
      },
    });
  })();
  readonly handlerErrors = new Counter({
    name: 'bridge_handler_errors_total',
    help: 'Errors that escaped a handler and were contained (the connection was answered or closed; the relay went on).',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly limitHits = new Counter({
    name: 'bridge_limit_hits_total',
    help: 'Times a configured limit refused, dropped or closed something; `limit` is the config key under `limits`.',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });
  readonly requestsRefused = new Counter({
    name: 'bridge_http_refused_total',
    help: 'Requests and upgrades the port refused before any route or listener ran (bad target or Host, draining, unknown path, a limit), by error code.',
    labelNames: ['kind', 'code'] as const,
    registers: [this.registry],
  });
  readonly configReloads = new Counter({
    name: 'bridge_config_reloads_total',
    help: 'Config reloads (SIGHUP, `bridge reload`) by result: applied, refused (a key that takes a restart changed; the old config stays), invalid (the file does not load; the old config stays).',
    labelNames: ['result'] as const,
    // Under --workers every worker handles every reload: the largest count is the relay's.
    aggregator: 'max',
    registers: [this.registry],
  });
  readonly busState = new Gauge({
    name: 'bridge_bus_state',
    help: 'Bus connection state: 1 for the current state (under --workers, how many workers are in it).',
    labelNames: ['kind', 'state'] as const,
    // Summed over workers: {state="connected"} counts the connected ones, and an alert on any other
    // state being > 0 fires for one worker off the bus as it does for a single process.
    aggregator: 'sum',
    registers: [this.registry],
  });

  /**
   * The text /metrics answers: this registry's, unless a `--workers` worker has pointed it at the
   * primary's aggregation of every worker.
   */
  exposition: () => Promise<string> = () => this.registry.metrics();

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'bridge_' });
  }

  /** Counters for one adapter role, pre-labelled. */
  telemetry(dialect: string, direction: Direction): Telemetry {
    return {
      dropped: (reason: DropReason, n = 1) => this.eventsDropped.inc({ dialect, direction, reason }, n),
      authFailed: (reason: string) => this.authFailures.inc({ dialect, direction, reason }),
      heartbeatTimeout: () => this.heartbeatTimeouts.inc({ dialect, direction }),
      command: (result) => this.commands.inc({ dialect, result }),
    };
  }

  setBusState(kind: string, state: string, all: readonly string[]): void {
    for (const s of all) this.busState.set({ kind, state: s }, s === state ? 1 : 0);
  }
}
