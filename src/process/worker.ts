/**
 * One worker of `--workers N`: a relay on the port it shares with its siblings (node:cluster hands
 * every worker's listen() to the primary's one listening socket), with node id `<id>-w<i>`, using
 * the simulators the primary runs. Its /healthz and /readyz are its own (a load balancer asks the
 * process it reaches); its /metrics answers for every worker (src/process/cluster-metrics.ts).
 */
import type { BridgeConfig } from '../config/schema.ts';
import { installProcessGuards } from '../contain.ts';
import { createLog, type LogLevel } from '../log.ts';
import { Relay } from '../relay.ts';
import { ScrapeClient } from './cluster-metrics.ts';
import { drainOnSignal } from './drain-on-signal.ts';
import { is, workerNodeId, type ReloadRequest, type ToPrimary, type WorkerInit } from './messages.ts';

/** A worker the primary never initialises (it died, or this is not its child) gives up after this. */
const INIT_TIMEOUT_MS = 15_000;

/** Sends to the primary; false when there is no channel. A closed channel is reported to the callback, never thrown. */
function toPrimary(msg: ToPrimary): boolean {
  if (!process.connected || !process.send) return false;
  process.send(msg, undefined, {}, () => {});
  return true;
}

function frozen<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) frozen(child);
    Object.freeze(v);
  }
  return v;
}

/** The primary's config with this worker's node id. */
export function workerConfig(init: Pick<WorkerInit, 'config' | 'index'>): BridgeConfig {
  const { config } = init;
  return frozen({ ...config, node: { ...config.node, id: workerNodeId(config.node.id, init.index) } });
}

/** Applies one reload the primary sent (it read the file; this worker applies or refuses it). */
function reload(relay: Relay, index: number, msg: ReloadRequest): Promise<unknown> {
  if (msg.config) return relay.reload(workerConfig({ config: msg.config, index }));
  relay.reloadFailed(msg.error ?? 'the config did not load', msg.issues);
  return Promise.resolve();
}

export async function runWorker(): Promise<void> {
  // A terminal's hangup reaches the whole process group; reloads come from the primary instead.
  process.on('SIGHUP', () => {});
  let scrapes: ScrapeClient | null = null;
  let relay: Relay | null = null;
  /** A reload that came while the relay was starting, applied once it has. */
  let early: ReloadRequest | null = null;
  let index = 0;
  // The listener goes first and the primary sends the init only on hello: a message that arrives
  // before anyone listens for it is lost, and loading the code takes a while.
  const init = await new Promise<WorkerInit>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no init from the primary within ${INIT_TIMEOUT_MS} ms`)), INIT_TIMEOUT_MS);
    process.on('message', (msg: unknown) => {
      if (is.init(msg)) {
        clearTimeout(timer);
        resolve(msg);
      } else if (is.reload(msg)) {
        if (relay) reload(relay, index, msg).catch((err: unknown) => relay?.report('process', err));
        else early = msg;
      } else {
        scrapes?.onMessage(msg);
      }
    });
    if (!toPrimary({ type: 'bridge:hello' })) reject(new Error('no IPC channel to the primary'));
  });
  const config = workerConfig(init);
  index = init.index;
  const log = createLog(config.log.level as LogLevel, { node: config.node.id }, undefined, init.log ?? { pretty: false, color: false });
  const started = await Relay.start({ config, log, simulatorEndpoints: new Map(Object.entries(init.simulators)) });
  relay = started;
  installProcessGuards(process, started.report);
  const client = new ScrapeClient({ send: toPrimary, registry: started.metrics.registry, clock: started.clock, log: started.log });
  scrapes = client;
  started.metrics.exposition = () => client.scrape();
  drainOnSignal(started, { repeat: 'ignore' });
  toPrimary({ type: 'bridge:ready', node: config.node.id, url: started.url });
  const pending = early as ReloadRequest | null;
  if (pending) await reload(started, index, pending);
}
