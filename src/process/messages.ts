/**
 * What the primary and the workers of `--workers N` say to each other over the node:cluster IPC
 * channel (JSON serialization). Every type starts with `bridge:`, so prom-client's own
 * `prom-client:getMetrics*` messages on the same channel never match, and a message of another
 * shape is ignored rather than trusted.
 */
import type { BridgeConfig } from '../config/schema.ts';
import type { SimulatorEndpoint } from '../contracts.ts';

/** Primary → worker, once after the fork: all a worker needs to run its relay. */
export interface WorkerInit {
  readonly type: 'bridge:init';
  /** 1-based; a restarted worker keeps the index (and so its node id) of the one it replaces. */
  readonly index: number;
  /** The config the primary loaded and validated (the worker does not read the file again). */
  readonly config: BridgeConfig;
  /** The simulators the primary runs, by name: the worker's upstreams use these, none is started twice. */
  readonly simulators: Readonly<Record<string, SimulatorEndpoint>>;
  /** How the primary writes its log (the workers share its stderr): human lines, with colour. */
  readonly log?: { readonly pretty: boolean; readonly color: boolean };
}

/**
 * Primary → worker, on SIGHUP: the config file as the primary read it again (with the command
 * line's overrides), for the worker's Relay.reload; or, when it did not load, why (the worker
 * counts the reload as invalid).
 */
export interface ReloadRequest {
  readonly type: 'bridge:reload';
  readonly config?: BridgeConfig;
  readonly error?: string;
  readonly issues?: readonly { readonly path: string; readonly message: string }[];
}

/** Worker → primary: its IPC listener is installed; send the {@link WorkerInit}. */
export interface WorkerHello {
  readonly type: 'bridge:hello';
}

/** Worker → primary: its relay listens (on the shared port) and has started. */
export interface WorkerReady {
  readonly type: 'bridge:ready';
  readonly node: string;
  readonly url: string;
}

/** Worker → primary: a scrape of /metrics arrived; answer with every worker's metrics, aggregated. */
export interface ScrapeRequest {
  readonly type: 'bridge:scrape';
  readonly id: number;
}

/** Primary → worker: the answer to one {@link ScrapeRequest}: the exposition text, or why there is none. */
export interface ScrapeAnswer {
  readonly type: 'bridge:scrape-result';
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

/** Primary → worker: send your own metrics (prom-client's `getMetricsAsJSON()`) for an aggregation. */
export interface CollectRequest {
  readonly type: 'bridge:collect';
  readonly id: number;
}

/** Worker → primary: the answer to one {@link CollectRequest}. */
export interface CollectAnswer {
  readonly type: 'bridge:collected';
  readonly id: number;
  readonly metrics: readonly unknown[];
}

export type ToWorker = WorkerInit | ScrapeAnswer | CollectRequest | ReloadRequest;
export type ToPrimary = WorkerHello | WorkerReady | ScrapeRequest | CollectAnswer;

function typed(msg: unknown): string | null {
  if (typeof msg !== 'object' || msg === null) return null;
  const type = (msg as { type?: unknown }).type;
  return typeof type === 'string' && type.startsWith('bridge:') ? type : null;
}

const withId = (msg: unknown) => Number.isInteger((msg as { id?: unknown }).id);

export const is = {
  init: (m: unknown): m is WorkerInit => typed(m) === 'bridge:init' && Number.isInteger((m as WorkerInit).index) && typeof (m as WorkerInit).config === 'object',
  hello: (m: unknown): m is WorkerHello => typed(m) === 'bridge:hello',
  ready: (m: unknown): m is WorkerReady => typed(m) === 'bridge:ready' && typeof (m as WorkerReady).node === 'string',
  scrape: (m: unknown): m is ScrapeRequest => typed(m) === 'bridge:scrape' && withId(m),
  scrapeAnswer: (m: unknown): m is ScrapeAnswer => typed(m) === 'bridge:scrape-result' && withId(m),
  collect: (m: unknown): m is CollectRequest => typed(m) === 'bridge:collect' && withId(m),
  collected: (m: unknown): m is CollectAnswer => typed(m) === 'bridge:collected' && withId(m) && Array.isArray((m as CollectAnswer).metrics),
  reload: (m: unknown): m is ReloadRequest =>
    typed(m) === 'bridge:reload' && (typeof (m as ReloadRequest).config === 'object' || typeof (m as ReloadRequest).error === 'string'),
};

/** The node id of worker `index`: `<id>-w<index>`, the base cut so the whole stays within 64 characters. */
export function workerNodeId(base: string, index: number): string {
  const suffix = `-w${index}`;
  return `${base.slice(0, 64 - suffix.length)}${suffix}`;
}
