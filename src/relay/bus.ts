/**
 * The relay's bus side, built from the config: the bus itself (memory, or NATS with retention),
 * the coordinator that says which node holds which link (one node, or leases on the bus's NATS
 * connection), and what the start log says while the bus has never connected.
 */
import { monotonicClock, type Clock } from '../clock.ts';
import type { ErrorReport } from '../contain.ts';
import type { Bus, BusState } from '../bus/bus.ts';
import { MemoryBus } from '../bus/memory.ts';
import { NatsBus } from '../bus/nats.ts';
import { MAX_RETRY_MS as NATS_MAX_RETRY_MS } from '../bus/nats-connect.ts';
import type { Coordinator } from '../cluster/coordinator.ts';
import { MemoryCoordinator } from '../cluster/memory.ts';
import { NatsCoordinator } from '../cluster/nats-coordinator.ts';
import type { BridgeConfig } from '../config/schema.ts';
import type { Log } from '../contracts.ts';
import type { Metrics } from '../metrics.ts';
import type { ThrottledLog } from '../throttled-log.ts';

export const BUS_STATES: readonly BusState[] = ['connecting', 'connected', 'reconnecting', 'draining', 'closed'];

export function makeBus(config: BridgeConfig, log: Log, clock: Clock, metrics: Metrics, notes: ThrottledLog): Bus {
  const b = config.bus;
  const onError = (err: unknown) => log.warn('bus error', { err: err as Error });
  if (b.kind === 'memory') return new MemoryBus({ historyLimit: b.historyLimit, onError, clock });
  return new NatsBus({
    servers: [...b.servers],
    prefix: b.prefix,
    historyLimit: b.historyLimit,
    storage: b.storage,
    maxAgeSeconds: b.maxAgeSeconds,
    replicas: b.replicas,
    historyConcurrency: config.limits.historyConcurrency,
    onHistoryRefused: () => {
      metrics.limitHits.inc({ limit: 'historyConcurrency' });
      notes.note('warn', 'bus:historyConcurrency', 1, 'limit hit', { limit: 'historyConcurrency' });
    },
    clock,
    // This node's own events reach its dashboards without the round trip (issue 15).
    localDelivery: true,
    name: `protocol-bridge ${config.node.id}`,
    ...(b.token ? { token: b.token } : {}),
    ...(b.user ? { user: b.user } : {}),
    ...(b.password ? { pass: b.password } : {}),
    onError,
  });
}

export interface CoordinatorParts {
  config: BridgeConfig;
  bus: Bus;
  /** The relay's clock, for the one-node coordinator. */
  clock: Clock;
  log: Log;
  metrics: Metrics;
  report: ErrorReport;
  /** Run the stalled-loop watchdog (NATS only). */
  watchdog: boolean;
  random?: () => number;
}

export function makeCoordinator(p: CoordinatorParts): Coordinator {
  const { config, bus } = p;
  if (!(bus instanceof NatsBus)) return new MemoryCoordinator(config.node.id, p.clock);
  return new NatsCoordinator({
    node: config.node.id,
    connection: () => bus.connection(),
    prefix: config.bus.prefix,
    leaseTtlMs: config.cluster.leaseTtlMs,
    interestTtlMs: config.cluster.interestTtlMs,
    replicas: config.bus.replicas,
    // Real time even when a test drives the relay's clock: the bucket ages entries out in real
    // time, and the self-fence measures intervals on a clock no NTP step can stretch.
    clock: monotonicClock((err) => p.report('timer', err)),
    log: p.log,
    watchdog: p.watchdog,
    ...(p.random ? { random: p.random } : {}),
    onLost: (_key, reason) => p.metrics.leaseLosses.inc({ reason }),
    onInvalidInterest: () => p.metrics.eventsDropped.inc({ dialect: 'cluster', direction: 'upstream', reason: 'bad_frame' }),
  });
}

/** What the relay does while the bus has never connected, in one sentence for the start log. */
export function busWaitMessage(config: BridgeConfig, bus: Bus): string {
  const b = config.bus;
  const where = b.kind === 'nats' ? `NATS (${b.servers.join(', ')})` : 'the bus';
  const why = bus.lastError ? ` (${bus.lastError})` : '';
  return `${where} is not reachable yet${why}: the relay keeps trying every ${NATS_MAX_RETRY_MS / 1000} s at most, answers /readyz with 503 meanwhile, and starts the upstream links once it connects; dashboards may connect now`;
}
