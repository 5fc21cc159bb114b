/**
 * The body of `GET /status.json`: what the status page shows, built at request time from what the
 * relay already keeps — /readyz's detail (node, bus, links) and the metrics registry's counters.
 *
 * Nothing here runs per event. Rates (events/s) are the difference between the counters now and a
 * sample taken at an earlier request, over the time between them ({@link RateWindow}); with no
 * earlier sample yet the rate is `null`, never a guess.
 *
 * It shows only what /readyz and /metrics already show publicly, plus the listeners' paths and
 * dialects (what every client connects to anyway) and the relay's version: no client names, keys,
 * grants or upstream credentials ever reach it.
 */
import type { ListenerConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics.ts';

/** One upstream link as the page shows it. `owner`/`since`/`ownership` appear when the supervisor reports them (cluster leases); a null one is left out. */
export interface LinkView {
  upstream: string;
  protocol: string | null;
  resource: string;
  id: string;
  state: string;
  reason: string;
  owner?: string;
  since?: string | number;
  ownership?: string;
}

export interface ListenerView {
  name: string;
  dialect: string;
  path: string;
  upstreams: readonly string[];
}

export interface Count {
  labels: Record<string, string>;
  count: number;
}

export interface Rate {
  total: number;
  /** Events per second over `windowSeconds`; null until a second sample exists. */
  perSecond: number | null;
}

export interface StatusBody {
  node: string;
  version: string;
  ready: boolean;
  reason?: string;
  draining: boolean;
  /** When this body was built (RFC 3339). */
  time: string;
  bus: { kind: string; state: string; lastError?: string };
  links: LinkView[];
  listeners: ListenerView[];
  /** Open dashboard sessions per dialect, and in all. */
  dashboards: { total: number; byDialect: Record<string, number> };
  events: {
    /** The span the rates were measured over, in seconds (null: no earlier sample yet). */
    windowSeconds: number | null;
    in: Rate & { byUpstream: Record<string, Rate> };
    out: Rate & { byDialect: Record<string, Rate> };
  };
  /** Non-zero counters only, with their metric labels. */
  drops: Count[];
  authFailures: Count[];
  limitHits: Count[];
  refused: Count[];
  /** Where the page's live tail connects: the first CloudEvents listener, or null when there is none. */
  tail: { path: string; upstreams: readonly string[] } | null;
}

interface Sample {
  at: number;
  totals: Map<string, number>;
}

/** Samples at most this often: several page viewers polling at once share one sample. */
const SAMPLE_SPACING_MS = 1000;
/** Rates cover about this long (longer when requests are further apart than this). */
const WINDOW_MS = 10_000;

/**
 * Counter samples taken at requests, for rates. Holds at most ~WINDOW_MS / SAMPLE_SPACING_MS + 1
 * samples of a handful of numbers; no timer of its own.
 */
export class RateWindow {
  readonly #samples: Sample[] = [];

  /** Records `totals` taken at `at`, and returns the sample to measure them against (or null). */
  observe(at: number, totals: Map<string, number>): Sample | null {
    const s = this.#samples;
    // Drop the oldest while the next one alone still covers the window.
    while (s.length > 1 && at - s[1]!.at >= WINDOW_MS) s.shift();
    const base = s[0] !== undefined && at - s[0].at >= SAMPLE_SPACING_MS ? s[0] : null;
    const last = s.at(-1);
    if (!last || at - last.at >= SAMPLE_SPACING_MS) s.push({ at, totals });
    return base;
  }
}

function rate(now: Map<string, number>, base: Sample | null, seconds: number | null, key: string): Rate {
  const total = now.get(key) ?? 0;
  if (!base || !seconds) return { total, perSecond: null };
  const delta = total - (base.totals.get(key) ?? 0);
  // Counters only grow in a process; a negative delta would be a bug, and is not shown as a rate.
  return { total, perSecond: delta < 0 ? null : Math.round((delta / seconds) * 100) / 100 };
}

type Values = { labels: Record<string, string | number>; value: number }[];

async function values(metric: { get(): Promise<{ values: Values }> }): Promise<Values> {
  return (await metric.get()).values;
}

function counts(v: Values): Count[] {
  return v
    .filter((x) => x.value > 0)
    .map((x) => ({ labels: Object.fromEntries(Object.entries(x.labels).map(([k, l]) => [k, String(l)])), count: x.value }));
}

function sumBy(v: Values, label: string, into: Map<string, number>, prefix: string): number {
  let total = 0;
  for (const x of v) {
    const k = `${prefix}${String(x.labels[label] ?? '')}`;
    into.set(k, (into.get(k) ?? 0) + x.value);
    total += x.value;
  }
  return total;
}

const LINK_FIELDS = ['owner', 'since', 'ownership'] as const;

/** The links of /readyz's `upstreams` detail, flattened, with each upstream's protocol. */
function linkViews(upstreams: unknown, protocols: Map<string, string>): LinkView[] {
  const out: LinkView[] = [];
  if (typeof upstreams !== 'object' || upstreams === null) return out;
  for (const [upstream, links] of Object.entries(upstreams as Record<string, unknown>)) {
    if (!Array.isArray(links)) continue;
    for (const l of links as Record<string, unknown>[]) {
      const view: LinkView = {
        upstream,
        protocol: protocols.get(upstream) ?? null,
        resource: String(l.resource ?? ''),
        id: String(l.id ?? ''),
        state: String(l.state ?? ''),
        reason: String(l.reason ?? ''),
      };
      for (const f of LINK_FIELDS) {
        const v = l[f];
        if (typeof v === 'string' || typeof v === 'number') (view as unknown as Record<string, unknown>)[f] = v;
      }
      out.push(view);
    }
  }
  return out;
}

export interface SnapshotSources {
  metrics: Metrics;
  readiness(): { ready: boolean; detail: Record<string, unknown> };
  listeners: readonly ListenerView[];
  version: string;
  now(): number;
  rates: RateWindow;
}

/** Builds the /status.json body. Reads each counter once; never throws on a missing field. */
export async function buildSnapshot(src: SnapshotSources): Promise<StatusBody> {
  const { metrics } = src;
  const at = src.now();
  const r = src.readiness();
  const d = r.detail;
  const [inV, outV, linkV, connV, dropV, authV, limitV, refusedV] = await Promise.all([
    values(metrics.eventsIn),
    values(metrics.eventsOut),
    values(metrics.upstreamLinks),
    values(metrics.downstreamConnections),
    values(metrics.eventsDropped),
    values(metrics.authFailures),
    values(metrics.limitHits),
    values(metrics.requestsRefused),
  ]);
  const totals = new Map<string, number>();
  totals.set('in', sumBy(inV, 'upstream', totals, 'in:'));
  totals.set('out', sumBy(outV, 'dialect', totals, 'out:'));
  const base = src.rates.observe(at, totals);
  const seconds = base ? (at - base.at) / 1000 : null;
  const keyed = (prefix: string) => {
    const out: Record<string, Rate> = {};
    for (const k of totals.keys()) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = rate(totals, base, seconds, k);
    return out;
  };
  const protocols = new Map<string, string>();
  for (const x of linkV) protocols.set(String(x.labels.upstream), String(x.labels.protocol));
  const byDialect: Record<string, number> = {};
  let dashboards = 0;
  for (const x of connV) {
    byDialect[String(x.labels.dialect)] = x.value;
    dashboards += x.value;
  }
  const bus = (d.bus ?? {}) as { kind?: unknown; state?: unknown; lastError?: unknown };
  const tail = src.listeners.find((l) => l.dialect === 'cloudevents');
  return {
    node: String(d.node ?? ''),
    version: src.version,
    ready: r.ready,
    ...(typeof d.reason === 'string' ? { reason: d.reason } : {}),
    draining: d.draining === true,
    time: new Date(at).toISOString(),
    bus: { kind: String(bus.kind ?? ''), state: String(bus.state ?? ''), ...(typeof bus.lastError === 'string' ? { lastError: bus.lastError } : {}) },
    links: linkViews(d.upstreams, protocols),
    listeners: src.listeners.map((l) => ({ name: l.name, dialect: l.dialect, path: l.path, upstreams: l.upstreams })),
    dashboards: { total: dashboards, byDialect },
    events: {
      windowSeconds: seconds === null ? null : Math.round(seconds * 10) / 10,
      in: { ...rate(totals, base, seconds, 'in'), byUpstream: keyed('in:') },
      out: { ...rate(totals, base, seconds, 'out'), byDialect: keyed('out:') },
    },
    drops: counts(dropV),
    authFailures: counts(authV),
    limitHits: counts(limitV),
    refused: counts(refusedV),
    tail: tail ? { path: tail.path, upstreams: tail.upstreams } : null,
  };
}

/** The part of a listener's config the page shows (never its secrets: jwtSecret, keys, origins). */
export function listenerView(l: Readonly<ListenerConfig>): ListenerView {
  return { name: l.name, dialect: l.dialect, path: l.path, upstreams: [...l.upstreams] };
}
