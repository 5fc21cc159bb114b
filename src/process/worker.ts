/**
 * One worker of `--workers N`: a relay on the port it shares with its siblings (node:cluster hands
 * every worker's listen() to the primary's one listening socket), with node id `<id>-w<i>`, using
 * the simulators the primary runs. Its /healthz and /readyz are its own (a load balancer asks the
 * process it reaches); its /metrics answers for every worker (src/process/cluster-metrics.ts).
 */
import type { BridgeConfig } from '../config/schema.ts';
import { installProcessGuards } from '../contain.ts';
import { Relay } from '../relay.ts';
import { ScrapeClient } from './cluster-metrics.ts';
import { drainOnSignal } from './drain-on-signal.ts';
import { is, workerNodeId, type ToPrimary, type WorkerInit } from './messages.ts';

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
export function workerConfig(init: WorkerInit): BridgeConfig {
  const { config } = init;
  return frozen({ ...config, node: { ...config.node, id: workerNodeId(config.node.id, init.index) } });
}

export async function runWorker(): Promise<void> {
  let scrapes: ScrapeClient | null = null;
  // The listener goes first and the primary sends the init only on hello: a message that arrives
  // before anyone listens for it is lost, and loading the code takes a while.
  const init = await new Promise<WorkerInit>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no init from the primary within ${INIT_TIMEOUT_MS} ms`)), INIT_TIMEOUT_MS);
    process.on('message', (msg: unknown) => {
      if (is.init(msg)) {
        clearTimeout(timer);
        resolve(msg);
      } else {
        scrapes?.onMessage(msg);
      }
    });
    if (!toPrimary({ type: 'bridge:hello' })) reject(new Error('no IPC channel to the primary'));
  });
  const config = workerConfig(init);
  const relay = await Relay.start({ config, simulatorEndpoints: new Map(Object.entries(init.simulators)) });
  installProcessGuards(process, relay.report);
  const client = new ScrapeClient({ send: toPrimary, registry: relay.metrics.registry, clock: relay.clock, log: relay.log });
  scrapes = client;
  relay.metrics.exposition = () => client.scrape();
  drainOnSignal(relay, { repeat: 'ignore' });
  toPrimary({ type: 'bridge:ready', node: config.node.id, url: relay.url });
}
