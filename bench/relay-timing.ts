/**
 * The relay's own share of the latency, from its fan-out records (src/fanout-timing.ts): for each
 * event it received from its upstream, the time of each phase from the frame's receipt to the
 * event's last socket write. The relay publishes them on a diagnostics channel that its process
 * hook subscribes to (bench/process-hook.mjs `__fanout`); the orchestrator drains them per phase.
 */
import type { Ipc } from './procs.ts';

/** Phases of one record, in the order process-hook.mjs sends them (after `received`). */
export const PHASES = ['decoded', 'published', 'delivered', 'encoded', 'firstWrite', 'lastWrite'] as const;
type Row = [received: number, decoded: number, published: number, delivered: number, encoded: number, firstWrite: number, lastWrite: number, sessions: number];

export interface RelayTiming {
  /** Events timed. */
  events: number;
  /** Receipt of the upstream frame to the last socket write of its event, µs. */
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Sessions per event (the fan-out size), median. */
  sessions: number;
  /** The relay's GC pauses over the phase: count, total and longest (ms). */
  gc: { count: number; totalMs: number; maxMs: number; kinds: Record<string, number> } | null;
  /** Phase offsets from receipt (µs) of the event at the median and at the p99 of the total. */
  timeline: { p50: Record<string, number>; p99: Record<string, number> } | null;
}

const EMPTY: RelayTiming = { events: 0, p50Us: Number.NaN, p99Us: Number.NaN, maxUs: Number.NaN, sessions: Number.NaN, gc: null, timeline: null };

/** Drops the records so far (the start of a measured phase). */
export async function resetRelayTiming(ipc: Ipc | undefined): Promise<void> {
  await ipc?.call('__fanout', { reset: true });
  await ipc?.call('__gc');
}

/** The records since the last reset or read, summarised. */
export async function readRelayTiming(ipc: Ipc | undefined): Promise<RelayTiming> {
  if (!ipc) return EMPTY;
  const rows = await ipc.call<Row[]>('__fanout', {});
  const gc = await ipc.call<RelayTiming['gc']>('__gc');
  if (rows.length === 0) return { ...EMPTY, gc };
  const total = (r: Row) => r[6] - r[0];
  rows.sort((a, b) => total(a) - total(b));
  const at = (q: number) => rows[Math.min(rows.length - 1, Math.max(0, Math.ceil(q * rows.length) - 1))]!;
  const phases = (r: Row) => Object.fromEntries(PHASES.map((p, i) => [p, r[i + 1]! > 0 ? Math.round((r[i + 1]! - r[0]) * 1000) : Number.NaN]));
  const sessions = rows.map((r) => r[7]).sort((a, b) => a - b)[rows.length >> 1]!;
  return {
    events: rows.length,
    p50Us: Math.round(total(at(0.5)) * 1000),
    p99Us: Math.round(total(at(0.99)) * 1000),
    maxUs: Math.round(total(rows[rows.length - 1]!) * 1000),
    sessions,
    gc,
    timeline: { p50: phases(at(0.5)), p99: phases(at(0.99)) },
  };
}

/** The timeline lines `--timeline` prints for one run. */
export function renderTimeline(tag: string, t: RelayTiming): string[] {
  if (!t.timeline) return [`${tag}: no fan-out records`];
  const row = (label: string, p: Record<string, number>) =>
    `  ${label.padEnd(4)} ` + PHASES.map((k) => `${k} ${Number.isFinite(p[k]!) ? `${p[k]}µs` : '–'}`).join(' · ');
  const gc = t.gc ? `; GC ${t.gc.count}×, ${t.gc.totalMs.toFixed(1)} ms in all, longest ${t.gc.maxMs.toFixed(2)} ms (${Object.entries(t.gc.kinds).map(([k, ms]) => `${k} ${ms.toFixed(1)} ms`).join(', ')})` : '';
  return [
    `${tag}: ${t.events} events × ${t.sessions} sessions, receipt → last write p50 ${t.p50Us} µs, p99 ${t.p99Us} µs, max ${t.maxUs} µs${gc}; phases from receipt:`,
    row('p50', t.timeline.p50),
    row('p99', t.timeline.p99),
  ];
}
