/**
 * Turns the runs into medians with min–max, the relay's ratios to the baseline and to the peer,
 * the cluster's ratios to the single relay on NATS, and PASS/FAIL per target (reported, never
 * asserted). The printed table and the JSON file are
 * built from the same summary.
 */
import type { RunResult } from './phases.ts';
import { SCENARIOS, type ScenarioName } from './scenarios.ts';

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

interface Metric {
  key: string;
  label: string;
  get(r: RunResult): number;
  fmt(v: number): string;
  /** Shown as relay ÷ other. */
  ratio: boolean;
}

const kfmt = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k` : v.toFixed(0));
const usfmt = (v: number) => (v >= 1e4 ? `${(v / 1e3).toFixed(1)}ms` : v >= 1e3 ? `${(v / 1e3).toFixed(2)}ms` : `${v.toFixed(0)}µs`);
const pctfmt = (v: number) => `${v.toFixed(0)}%`;
const mbfmt = (v: number) => `${(v / 1048576).toFixed(1)}MB`;
const kbfmt = (v: number) => `${(v / 1024).toFixed(1)}KB`;

export const METRICS: Metric[] = [
  { key: 'satDeliveriesPerSec', label: 'sat deliveries/s', get: (r) => r.sat.deliveriesPerSec, fmt: kfmt, ratio: true },
  { key: 'satServerCpuPct', label: 'sat server CPU', get: (r) => r.sat.serverCpuPct, fmt: pctfmt, ratio: false },
  { key: 'satCpuUsPerDelivery', label: 'server CPU µs/delivery', get: (r) => r.sat.serverCpuUsPerDelivery, fmt: (v) => v.toFixed(2), ratio: true },
  { key: 'satStackCpuUsPerDelivery', label: 'server+NATS µs/delivery', get: (r) => r.sat.stackCpuUsPerDelivery, fmt: (v) => v.toFixed(2), ratio: true },
  { key: 'satBusCpuPct', label: 'sat nats-server CPU', get: (r) => r.sat.busCpuPct ?? Number.NaN, fmt: pctfmt, ratio: false },
  { key: 'satLoadgenCpuPct', label: 'sat loadgen CPU', get: (r) => r.sat.loadgenCpuPct, fmt: pctfmt, ratio: false },
  { key: 'satOtherCpuPct', label: 'sat CPU, other work', get: (r) => r.sat.otherCpuPct, fmt: pctfmt, ratio: false },
  { key: 'satRssBytes', label: 'RSS at sat', get: (r) => r.sat.rssBytes, fmt: mbfmt, ratio: false },
  { key: 'p50Us', label: 'p50 @fixed rate', get: (r) => r.fixed.p50Us, fmt: usfmt, ratio: true },
  { key: 'p99Us', label: 'p99 @fixed rate', get: (r) => r.fixed.p99Us, fmt: usfmt, ratio: true },
  { key: 'relayP99Us', label: 'relay own p99 @fixed', get: (r) => r.relay?.fixed.p99Us ?? Number.NaN, fmt: usfmt, ratio: false },
  { key: 'relayShare', label: 'relay own ÷ e2e p99', get: (r) => (r.relay?.fixed.p99Us ?? Number.NaN) / r.fixed.p99Us, fmt: (v) => `${(v * 100).toFixed(0)}%`, ratio: false },
  { key: 'relayGcMaxMs', label: 'relay GC longest @fixed', get: (r) => r.relay?.fixed.gc?.maxMs ?? Number.NaN, fmt: (v) => `${v.toFixed(2)}ms`, ratio: false },
  { key: 'relaySatP99Us', label: 'relay own p99 @sat', get: (r) => r.relay?.sat.p99Us ?? Number.NaN, fmt: usfmt, ratio: false },
  { key: 'maxUs', label: 'max @fixed rate', get: (r) => r.fixed.maxUs, fmt: usfmt, ratio: true },
  { key: 'fixedServerCpuPct', label: 'server CPU @fixed', get: (r) => r.fixed.serverCpuPct, fmt: pctfmt, ratio: true },
  { key: 'rssIdleBytes', label: 'RSS, C idle', get: (r) => r.memory.rssIdleBytes, fmt: mbfmt, ratio: false },
  { key: 'perConnBytes', label: 'memory/idle conn', get: (r) => r.memory.perConnBytes, fmt: kbfmt, ratio: true },
  { key: 'rssPerConnBytes', label: 'RSS/idle conn, as is', get: (r) => r.memory.rssPerConnBytes, fmt: kbfmt, ratio: true },
  { key: 'heapPerConnBytes', label: 'JS heap+ext/idle conn', get: (r) => r.memory.heapPerConnBytes, fmt: kbfmt, ratio: true },
  { key: 'lost', label: 'lost deliveries', get: (r) => r.loss.lost, fmt: (v) => v.toFixed(0), ratio: false },
  { key: 'cut', label: 'clients cut', get: (r) => r.loss.clients - r.loss.open, fmt: (v) => v.toFixed(0), ratio: false },
];

export function stat(values: number[]): Stat | null {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

export type Summary = Record<string, Partial<Record<ScenarioName, Record<string, Stat | null>>>>;

export function summarize(runs: RunResult[]): Summary {
  const out: Summary = {};
  for (const C of [...new Set(runs.map((r) => r.clients))].sort((a, b) => a - b)) {
    const byScenario: Summary[string] = {};
    for (const s of SCENARIOS) {
      const mine = runs.filter((r) => r.clients === C && r.scenario === s);
      if (mine.length === 0) continue;
      byScenario[s] = Object.fromEntries(METRICS.map((m) => [m.key, stat(mine.map(m.get))]));
    }
    out[String(C)] = byScenario;
  }
  return out;
}

const med = (sum: Summary, C: string, s: ScenarioName, key: string) => sum[C]?.[s]?.[key]?.median ?? Number.NaN;

export interface Target {
  clients: number;
  target: string;
  value: string;
  pass: boolean | null;
}

export function targets(sum: Summary): Target[] {
  const out: Target[] = [];
  const ratioRow = (C: string, target: string, s: ScenarioName, other: ScenarioName, key: string, test: (r: number) => boolean, positive = false) => {
    const mine = med(sum, C, s, key);
    const theirs = med(sum, C, other, key);
    const r = mine / theirs;
    if (positive && (mine <= 0 || theirs <= 0)) {
      out.push({ clients: Number(C), target, value: `${Number.isFinite(r) ? r.toFixed(2) : 'n/a'}× (a reading ≤ 0: noise)`, pass: null });
      return;
    }
    out.push({ clients: Number(C), target, value: Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a', pass: Number.isFinite(r) ? test(r) : null });
  };
  for (const C of Object.keys(sum)) {
    if (sum[C]?.cluster) {
      // What three relays on three NATS nodes cost against one relay on one, in the same run.
      const info = (label: string, key: string) => {
        const r = med(sum, C, 'cluster', key) / med(sum, C, 'relay-nats', key);
        out.push({ clients: Number(C), target: `cluster ÷ relay-nats ${label}`, value: Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a', pass: null });
      };
      info('sat deliveries/s', 'satDeliveriesPerSec');
      info('p99 @fixed rate', 'p99Us');
      info('CPU/delivery, relays+NATS', 'satStackCpuUsPerDelivery');
    }
    if (Number(C) >= 1000) {
      ratioRow(C, 'relay-nats sat deliveries/s ≥ 1.5× nats-server ws', 'relay-nats', 'peer', 'satDeliveriesPerSec', (r) => r >= 1.5);
      ratioRow(C, 'relay-nats sat deliveries/s ≥ 10× ws.send baseline', 'relay-nats', 'baseline', 'satDeliveriesPerSec', (r) => r >= 10);
    }
    for (const s of ['relay-mem', 'relay-nats', 'cluster'] as const) {
      if (!sum[C]?.[s]) continue;
      ratioRow(C, `${s} p99 @fixed rate ≤ baseline p99`, s, 'baseline', 'p99Us', (r) => r <= 1);
      // Below ~1000 connections the RSS delta is within allocator noise (a few hundred KB).
      // A reading at or below zero is allocator noise (short settle, small C), not a result.
      if (Number(C) >= 1000) ratioRow(C, `${s} memory/idle conn ≤ 1.3× baseline`, s, 'baseline', 'perConnBytes', (r) => r <= 1.3, true);
      const lost = sum[C]?.[s]?.lost;
      const cut = sum[C]?.[s]?.cut;
      const ok = lost && cut ? lost.max === 0 && cut.max === 0 : null;
      out.push({ clients: Number(C), target: `${s} zero loss (all reps)`, value: lost && cut ? `lost ${lost.max}, cut ${cut.max}` : 'n/a', pass: ok });
    }
  }
  return out;
}

function cell(m: Metric, st: Stat | null | undefined): string {
  if (!st) return '–';
  return st.n > 1 && st.min !== st.max ? `${m.fmt(st.median)} [${m.fmt(st.min)}–${m.fmt(st.max)}]` : m.fmt(st.median);
}

const pad = (s: string, n: number) => (s.length >= n ? `${s} ` : s + ' '.repeat(n - s.length));

export function renderTable(sum: Summary, reps: number, notes: string[]): string {
  const lines: string[] = [];
  const heads = ['relay-mem', 'relay-nats', 'baseline(ws.send)', 'peer(nats-ws)', 'cluster(3 relays+3 NATS)'];
  const ratioHeads = ['mem÷base', 'mem÷peer', 'nats÷base', 'nats÷peer', 'clu÷nats'];
  const pairs: [ScenarioName, ScenarioName][] = [['relay-mem', 'baseline'], ['relay-mem', 'peer'], ['relay-nats', 'baseline'], ['relay-nats', 'peer'], ['cluster', 'relay-nats']];
  for (const [C, byScenario] of Object.entries(sum)) {
    lines.push('', `C = ${C} clients — median${reps > 1 ? ' [min–max]' : ''} of ${reps} rep${reps > 1 ? 's' : ''}`);
    lines.push(pad('metric', 24) + heads.map((h) => pad(h, 25)).join('') + ratioHeads.map((h) => pad(h, 10)).join(''));
    for (const m of METRICS) {
      const cells = SCENARIOS.map((s) => pad(cell(m, byScenario[s]?.[m.key]), 25)).join('');
      const ratios = m.ratio
        ? pairs.map(([s, o]) => {
            const r = med(sum, C, s, m.key) / med(sum, C, o, m.key);
            return pad(Number.isFinite(r) ? `${r.toFixed(2)}×` : '–', 10);
          })
        : [];
      lines.push(pad(m.label, 24) + cells + ratios.join(''));
    }
  }
  lines.push('', 'TARGETS (reported, not asserted)');
  for (const t of targets(sum)) {
    const verdict = t.pass === null ? 'n/a ' : t.pass ? 'PASS' : 'FAIL';
    lines.push(`  ${verdict}  C=${pad(String(t.clients), 6)} ${pad(t.target, 52)} ${t.value}`);
  }
  lines.push('', ...notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}
