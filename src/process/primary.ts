/**
 * The primary of `--workers N` (node:cluster): it runs the configured simulators once, forks N
 * workers that share the one port (each a relay and a cluster node on the NATS bus), restarts a
 * worker that dies, aggregates /metrics for them, and on SIGTERM/SIGINT forwards the signal and
 * exits once every worker has exited, within http.shutdownGraceMs as a single process does.
 *
 * It serves nothing itself and holds no upstream link: with the memory bus each worker would be an
 * island (its own events, its own history, every link opened N times), so main.ts refuses that
 * before anything starts.
 *
 * SIGHUP reloads: the primary reads the config file again, once, and sends it to every worker,
 * each of which applies or refuses it as a single relay does (src/config/reload-plan.ts gives every
 * process the same answer); a worker started later gets the config in force.
 */
import cluster, { type Worker } from 'node:cluster';
import { createServer } from 'node:net';
import { guardedSystemClock } from '../clock.ts';
import { planReload } from '../config/reload-plan.ts';
import type { BridgeConfig } from '../config/schema.ts';
import { describeError, installProcessGuards, type ErrorReport } from '../contain.ts';
import type { Log, Simulator, SimulatorEndpoint } from '../contracts.ts';
import { createLog, type LogLevel } from '../log.ts';
import { adapterFor, ADAPTERS } from '../registry.ts';
import { MetricsAggregator } from './cluster-metrics.ts';
import { relayGrace, signalRepeats } from './drain-on-signal.ts';
import { WorkerPool, type WorkerHandle } from './pool.ts';
import { loadForReload, type ConfigSource } from './reload-signal.ts';

export interface PrimaryOptions {
  /** Human log lines (and colour) instead of JSON, for the primary and its workers. */
  pretty: boolean;
  color: boolean;
  /** Reads the config file again for a reload (with the command line's overrides). */
  source: ConfigSource;
  /** Writes the pid file once the workers are up, and logs where (or why not). */
  pidFile(log: Pick<Log, 'info'>): void;
}

/** A node:cluster Worker as the pool's {@link WorkerHandle}. */
function clusterWorker(w: Worker, log: Log): WorkerHandle {
  // Without a listener, an IPC error on a worker that is going away would be thrown in the primary.
  w.on('error', (err) => log.warn('worker IPC error', { pid: w.process.pid, err: describeError(err) }));
  return {
    get pid() {
      return w.process.pid;
    },
    send(msg) {
      if (!w.isConnected()) return false;
      w.send(msg, undefined, () => {});
      return true;
    },
    kill: (signal) => void w.process.kill(signal),
    onMessage: (fn) => void w.on('message', fn),
    onExit: (fn) => void w.once('exit', (code, signal) => fn(code, signal as NodeJS.Signals | null)),
  };
}

async function startSimulators(config: BridgeConfig, log: Log, report: ErrorReport): Promise<Map<string, Simulator>> {
  const clock = guardedSystemClock((err) => report('timer', err));
  const started = new Map<string, Simulator>();
  try {
    for (const sim of config.simulators) {
      const adapter = adapterFor(ADAPTERS, sim.protocol);
      const s = await adapter.startSimulator({ config: sim, clock, log }, sim.host, sim.port);
      started.set(sim.name, s);
      log.info('simulator started', { name: sim.name, protocol: sim.protocol, url: s.endpoint.url });
    }
  } catch (err) {
    await Promise.allSettled([...started.values()].map((s) => s.close()));
    throw err;
  }
  return started;
}

/**
 * Binds and closes the one port, so that a port in use is found (and said in one line by main.ts)
 * before a simulator or a worker starts. The workers' listen() is served by node:cluster later; a
 * process that takes the port in between makes the workers fail to start, which stops the primary.
 */
async function probePort(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Runs the primary until a signal (or a worker that cannot start) ends it; exits the process. */
export async function runPrimary(config: BridgeConfig, count: number, opts: PrimaryOptions): Promise<void> {
  await probePort(config.http.host, config.http.port);
  const logStyle = { pretty: opts.pretty, color: opts.color };
  const log = createLog(config.log.level as LogLevel, { node: config.node.id, role: 'primary' }, undefined, logStyle);
  // The config in force: what a worker (re)started now is given. A reload that applies replaces it.
  let current = config;
  const report: ErrorReport = (where, err) => log.error('contained an error', { where, error: describeError(err) });
  installProcessGuards(process, report);
  const clock = guardedSystemClock((err) => report('timer', err));
  const simulators = await startSimulators(config, log, report);
  const endpoints: Record<string, SimulatorEndpoint> = {};
  for (const [name, s] of simulators) endpoints[name] = s.endpoint;

  let metrics: MetricsAggregator | null = null;
  const pool = new WorkerPool({
    count,
    clock,
    log,
    fork: () => clusterWorker(cluster.fork(), log),
    init: (index) => ({ type: 'bridge:init', index, config: current, simulators: endpoints, log: logStyle }),
    onMessage: (w, msg) => void metrics?.onMessage(w, msg),
    onExit: (w) => metrics?.onExit(w),
  });
  metrics = new MetricsAggregator({ clock, log, workers: () => pool.ready() });

  let stopping = false;
  const stop = async (signal: NodeJS.Signals, failed: boolean) => {
    stopping = true;
    const grace = config.http.shutdownGraceMs;
    // The hard bound, as in the single process: whatever still hangs, the primary is gone at the
    // grace, and no worker outlives it.
    const hard = setTimeout(() => {
      pool.killAll();
      process.exit(1);
    }, grace);
    hard.unref();
    const deadline = Date.now() + grace;
    // Each worker stops its relay within relayGrace(grace) and exits; the primary waits for them
    // into half of the margin that leaves, and keeps the other half for its own exit.
    const margin = grace - relayGrace(grace);
    const { clean } = await pool.stop(signal, grace - margin / 2);
    const closing = Promise.allSettled([...simulators.values()].map((s) => s.close()));
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
    log.info('primary stopped', { clean });
    process.exit(failed || !clean ? 1 : 0);
  };
  const repeats = signalRepeats();
  const onSignal = (signal: NodeJS.Signals) => {
    // An echo of the first signal (a terminal's Ctrl-C also forwarded by bin/bridge.mjs) is not a second one.
    if (repeats() === 'echo') return;
    if (stopping) {
      // A second signal: as in the single process, exit at once (and take the workers along).
      pool.killAll();
      process.exit(130);
    }
    log.info('signal received, stopping the workers', { signal });
    void stop(signal, false);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => {
    if (stopping) return;
    log.info('signal received, reloading the config in every worker', { signal: 'SIGHUP' });
    const loaded = loadForReload(opts.source);
    if (!('config' in loaded)) {
      log.error(`config reload invalid: ${loaded.error}; the running config stays`, loaded.issues ? { issues: loaded.issues } : {});
      pool.broadcast({ type: 'bridge:reload', error: loaded.error, ...(loaded.issues ? { issues: loaded.issues } : {}) });
      return;
    }
    // The workers decide alike (and say so in their own lines); the primary keeps what they keep.
    if (planReload(current, loaded.config).refused.length === 0) {
      current = loaded.config;
      log.setLevel(current.log.level as LogLevel);
    }
    pool.broadcast({ type: 'bridge:reload', config: loaded.config });
  });

  try {
    await pool.start();
    log.info('workers ready', { workers: count });
    opts.pidFile(log);
  } catch (err) {
    if (stopping) return;
    log.error('a worker could not start: stopping', { error: describeError(err) });
    await stop('SIGTERM', true);
  }
}
