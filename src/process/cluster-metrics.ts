/**
 * `/metrics` under `--workers N`: whichever worker a scrape reaches answers for all of them.
 *
 *   worker (scraped) ──scrape──▶ primary ──collect──▶ every ready worker (itself included)
 *                    ◀─result──          ◀─collected─  (prom-client getMetricsAsJSON)
 *
 * The primary merges the answers with prom-client's `AggregatorRegistry.aggregate`, each metric by
 * its `aggregator` (sum unless src/metrics.ts or prom-client says otherwise). It does not use
 * `AggregatorRegistry.clusterMetrics()`, which asks every connected worker: a worker still booting
 * (no listener yet) or one dying mid-request never answers, and every scrape in that window would
 * stall 5 s and fail. Here only workers whose relay is up are asked, a worker that exits stops
 * being waited for, and one that is late is left out of that scrape (logged) at a deadline shorter
 * than the scraped worker's, so a scrape gets the other workers' sums rather than nothing.
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Clock, Timer } from '../clock.ts';
import type { Log } from '../contracts.ts';
import { describeError } from '../contain.ts';
import { is, type ToPrimary } from './messages.ts';
import type { PoolWorker } from './pool.ts';

/** How long the scraped worker waits for the primary before it answers with its own metrics. */
export const SCRAPE_TIMEOUT_MS = 2000;
/** How long the primary waits for each worker's metrics (inside {@link SCRAPE_TIMEOUT_MS}). */
export const COLLECT_TIMEOUT_MS = 1500;

interface Collection {
  readonly waiting: Set<PoolWorker>;
  readonly answers: unknown[];
  readonly done: () => void;
}

/** The primary's half: answers scrapes with every ready worker's metrics, aggregated. */
export class MetricsAggregator {
  readonly #o: { clock: Clock; log: Log; workers: () => PoolWorker[]; timeoutMs?: number };
  readonly #collections = new Map<number, Collection>();
  #seq = 0;

  constructor(opts: { clock: Clock; log: Log; workers: () => PoolWorker[]; timeoutMs?: number }) {
    this.#o = opts;
  }

  /** Every ready worker's metrics as one exposition text. */
  async aggregate(): Promise<string> {
    const id = ++this.#seq;
    const workers = this.#o.workers();
    const answers: unknown[] = [];
    const waiting = new Set<PoolWorker>();
    let timer: Timer | null = null;
    await new Promise<void>((resolve) => {
      const done = () => {
        timer?.cancel();
        this.#collections.delete(id);
        resolve();
      };
      this.#collections.set(id, { waiting, answers, done });
      for (const w of workers) if (w.handle.send({ type: 'bridge:collect', id })) waiting.add(w);
      if (waiting.size === 0) return done();
      timer = this.#o.clock.setTimeout(done, this.#o.timeoutMs ?? COLLECT_TIMEOUT_MS);
    });
    if (waiting.size > 0) {
      this.#o.log.warn('metrics of some workers left out of a scrape: no answer in time', { workers: [...waiting].map((w) => w.index) });
    }
    return AggregatorRegistry.aggregate(answers as object[]).metrics();
  }

  /** A worker's message; true when it was one of this aggregator's. */
  onMessage(worker: PoolWorker, msg: unknown): boolean {
    if (is.collected(msg)) {
      const c = this.#collections.get(msg.id);
      if (c?.waiting.delete(worker)) {
        c.answers.push(msg.metrics);
        if (c.waiting.size === 0) c.done();
      }
      return true;
    }
    if (is.scrape(msg)) {
      this.aggregate().then(
        (text) => worker.handle.send({ type: 'bridge:scrape-result', id: msg.id, text }),
        (err: unknown) => worker.handle.send({ type: 'bridge:scrape-result', id: msg.id, error: describeError(err).message }),
      );
      return true;
    }
    return false;
  }

  /** A worker exited: no collection waits for it any longer. */
  onExit(worker: PoolWorker): void {
    for (const c of this.#collections.values()) if (c.waiting.delete(worker) && c.waiting.size === 0) c.done();
  }
}

export interface ScrapeClientOptions {
  /** Sends to the primary; false when the IPC channel is closed. */
  send(msg: ToPrimary): boolean;
  /** This worker's registry: what it answers collections with, and scrapes when the primary cannot. */
  registry: Registry;
  clock: Clock;
  log: Log;
  timeoutMs?: number;
}

/** The worker's half: the text of a scrape, and this worker's answer to the primary's collections. */
export class ScrapeClient {
  readonly #o: ScrapeClientOptions;
  readonly #pending = new Map<number, { settle(text: string | null, why?: string): void }>();
  #seq = 0;

  constructor(opts: ScrapeClientOptions) {
    this.#o = opts;
  }

  /** Every worker's metrics, from the primary; this worker's own (and a warning) when it does not answer in time. */
  async scrape(): Promise<string> {
    const id = ++this.#seq;
    const text = await new Promise<string | null>((resolve) => {
      let timer: Timer | null = null;
      const settle = (t: string | null, why?: string) => {
        timer?.cancel();
        this.#pending.delete(id);
        if (t === null) this.#o.log.warn('answering a scrape with this worker\'s metrics only', { reason: why });
        resolve(t);
      };
      this.#pending.set(id, { settle });
      if (!this.#o.send({ type: 'bridge:scrape', id })) return settle(null, 'no channel to the primary');
      const ms = this.#o.timeoutMs ?? SCRAPE_TIMEOUT_MS;
      timer = this.#o.clock.setTimeout(() => settle(null, `the primary did not answer within ${ms} ms`), ms);
    });
    return text ?? this.#o.registry.metrics();
  }

  /** A message from the primary; true when it was one of this client's. */
  onMessage(msg: unknown): boolean {
    if (is.scrapeAnswer(msg)) {
      const p = this.#pending.get(msg.id);
      if (typeof msg.text === 'string') p?.settle(msg.text);
      else p?.settle(null, `the primary failed: ${msg.error ?? 'no text'}`);
      return true;
    }
    if (is.collect(msg)) {
      this.#o.registry.getMetricsAsJSON().then(
        (metrics) => this.#o.send({ type: 'bridge:collected', id: msg.id, metrics }),
        (err: unknown) => this.#o.log.warn('could not collect this worker\'s metrics', { err: describeError(err) }),
      );
      return true;
    }
    return false;
  }
}
