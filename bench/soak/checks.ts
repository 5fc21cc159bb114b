/**
 * The three soak checks. Each runs against one listener of a running relay and returns figures
 * and a verdict against the bound it states; nothing here is a timed unit test.
 *
 * - churn:  N × (connect, authenticate, join, close), a few at a time; the relay's open fds and
 *           its JS heap (after two full GCs) before and after. Bounds: fds back to where they
 *           were; heap growth under a fixed allowance (JIT code, pools) plus 64 B per cycle.
 *           A leak of one session per cycle (kilobytes) is far above it.
 * - unauth: N sockets that never authenticate, opened as fast as the relay takes them; every one
 *           must be closed 4103 at the auth deadline. Reports codes, and how late the last close
 *           came after its socket's deadline.
 * - flood:  one socket sends bad frames (forged JWTs, junk, deep JSON, `__proto__`) as fast as it
 *           can, then closes; the relay's CPU (from /proc) must be back to idle soon after.
 */
import { DIALECTS, open, openAuthed, type Socket } from './clients.ts';
import type { ListenerName, SoakRelay } from './stack.ts';

export const CHECKS = ['churn', 'unauth', 'flood'] as const;
export type CheckName = (typeof CHECKS)[number];

export interface Figure {
  check: CheckName;
  listener: ListenerName;
  /** Column → value, in print order. */
  figures: Record<string, string>;
  /** null: not applicable to this listener (the reason is in `figures`). */
  pass: boolean | null;
  bound: string;
}

export interface CheckOptions {
  cycles: number;
  /** Sockets of the unauth check. */
  sockets: number;
  /** Frames of one flood. */
  frames: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MiB = 1024 * 1024;
/** Connect/close cycles in flight at once in the churn. */
const CHURN_PARALLEL = 8;
/** Heap growth allowed whatever the cycle count: late JIT code, pools, V8's own tables. */
const HEAP_ALLOWANCE = 4 * MiB;
const HEAP_PER_CYCLE = 64;
/** A process at most this busy (share of one core) is idle. */
const IDLE_SHARE = 0.05;
const IDLE_WINDOW_MS = 250;
/** The flood's CPU must be back to idle within this long after the socket closed. */
const IDLE_WITHIN_MS = 1000;
/** A close this long after the socket's deadline is still "at" it (a loaded 2-core box). */
const UNAUTH_LATE_MS = 1000;

function wsBase(relay: SoakRelay): string {
  return relay.url.replace(/^http/, 'ws');
}

async function closeAndWait(s: Socket): Promise<void> {
  s.ws.close(1000);
  await s.closed;
}

async function churnCycles(relay: SoakRelay, name: ListenerName, n: number, from: number): Promise<void> {
  let next = 0;
  const base = wsBase(relay);
  const worker = async () => {
    while (next < n) {
      const i = from + next++;
      await closeAndWait(await openAuthed(name, base, i));
    }
  };
  await Promise.all(Array.from({ length: CHURN_PARALLEL }, worker));
}

/** Settles, then reads fds and the heap after two full GCs (sockets closing take a few turns). */
async function reading(relay: SoakRelay): Promise<{ fds: number; heap: number; js: number; ext: number; rss: number }> {
  await sleep(1500);
  const m = await relay.memory(true);
  return { fds: relay.fds(), heap: m.heapUsed + m.external, js: m.heapUsed, ext: m.external, rss: relay.rss() };
}

export async function churn(relay: SoakRelay, name: ListenerName, o: CheckOptions): Promise<Figure> {
  // Warm-up: JIT the whole path, and let every lazily built table exist before the first reading.
  await churnCycles(relay, name, Math.min(500, o.cycles), 0);
  const before = await reading(relay);
  const snapBefore = await relay.heapSnapshot();
  const t0 = performance.now();
  await churnCycles(relay, name, o.cycles, 1_000_000);
  const secs = (performance.now() - t0) / 1000;
  const after = await reading(relay);
  const snapAfter = await relay.heapSnapshot();
  if (snapBefore && snapAfter) process.stderr.write(`\nsoak: heap snapshots of ${name}: ${snapBefore} → ${snapAfter}\n`);
  const heapDelta = after.heap - before.heap;
  const allowed = HEAP_ALLOWANCE + HEAP_PER_CYCLE * o.cycles;
  const fdDelta = after.fds - before.fds;
  return {
    check: 'churn',
    listener: name,
    figures: {
      cycles: String(o.cycles),
      'cycles/s': (o.cycles / secs).toFixed(0),
      'fds before→after': `${before.fds}→${after.fds}`,
      'heap+ext before→after': `${(before.heap / MiB).toFixed(1)}→${(after.heap / MiB).toFixed(1)} MiB`,
      'heap+ext Δ/cycle': `${(heapDelta / o.cycles).toFixed(0)} B`,
      'of which ext': `${((after.ext - before.ext) / o.cycles).toFixed(0)} B`,
      'RSS Δ': `${((after.rss - before.rss) / MiB).toFixed(1)} MiB`,
    },
    pass: fdDelta <= 0 && heapDelta <= allowed,
    bound: `fds Δ ≤ 0; heap+ext Δ ≤ ${HEAP_ALLOWANCE / MiB} MiB + ${HEAP_PER_CYCLE} B/cycle (${(allowed / MiB).toFixed(1)} MiB)`,
  };
}

export async function unauth(relay: SoakRelay, name: ListenerName, o: CheckOptions): Promise<Figure> {
  const url = DIALECTS[name].unauthenticated(wsBase(relay));
  if (url === null) {
    return { check: 'unauth', listener: name, figures: { note: 'authenticates at the upgrade: no unauthenticated socket exists' }, pass: null, bound: 'n/a' };
  }
  const deadline = relay.authDeadlineMs;
  // A relay that just started may still be opening descriptors (its bus connections): the baseline
  // is a count that held for half a second.
  const fds0 = await stableFds(relay);
  const t0 = performance.now();
  // The relay's CPU from the first socket's deadline on: whether closing them is what it falls behind on.
  let atDeadline = { cpu: Number.NaN, t: Number.NaN };
  const probe = setTimeout(() => (atDeadline = { cpu: relay.cpu(), t: performance.now() }), deadline);
  const sockets: Socket[] = [];
  const failures: string[] = [];
  let next = 0;
  // Opened 32 at a time: as fast as the relay accepts them, without a SYN storm on the backlog.
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < o.sockets) {
        next += 1;
        try {
          sockets.push(await open(url));
        } catch (err) {
          failures.push(err instanceof Error ? err.message : String(err));
        }
      }
    }),
  );
  const openedIn = performance.now() - t0;
  const fdsOpen = relay.fds();
  const results = await Promise.race([Promise.all(sockets.map((s) => s.closed)), sleep(deadline + 30_000).then(() => null)]);
  const closes = results ?? [];
  const codes = new Map<number, number>();
  for (const c of closes) codes.set(c.code, (codes.get(c.code) ?? 0) + 1);
  // The relay starts a socket's deadline between the upgrade request and the client's `open`:
  // a close before request + deadline is early; after open + deadline it is late.
  const late = sockets.map((s, i) => (closes[i] ? closes[i]!.at - (s.openedAt + deadline) : Number.POSITIVE_INFINITY));
  const early = sockets.map((s, i) => (closes[i] ? closes[i]!.at - (s.requestedAt + deadline) : Number.POSITIVE_INFINITY));
  late.sort((a, b) => a - b);
  const maxLate = late.at(-1) ?? Number.NaN;
  const earliest = Math.min(...early);
  const lastClose = Math.max(...closes.map((c) => c.at));
  clearTimeout(probe);
  const closingCpu = (relay.cpu() - atDeadline.cpu) / Math.max(0.001, (lastClose - atDeadline.t) / 1000);
  await sleep(1000);
  const fdsAfter = relay.fds();
  for (const s of sockets) s.ws.terminate();
  const all4103 = closes.length === o.sockets && (codes.get(4103) ?? 0) === o.sockets;
  return {
    check: 'unauth',
    listener: name,
    figures: {
      sockets: `${sockets.length}/${o.sockets}${failures.length ? ` (${failures.length} refused: ${failures[0]})` : ''}`,
      'opened in': `${(openedIn / 1000).toFixed(1)} s`,
      'fds open→after': `${fds0}→${fdsOpen}→${fdsAfter}`,
      'close codes': [...codes].map(([c, n]) => `${c}×${n}`).join(' ') || 'none',
      'close − (request + deadline) min': `${earliest.toFixed(0)} ms`,
      'close − (open + deadline) p50/max': `${(late[late.length >> 1] ?? NaN).toFixed(0)}/${maxLate.toFixed(0)} ms`,
      'relay CPU, first deadline → last close': `${(closingCpu * 100).toFixed(0)} %`,
      'last close after first open': `${((lastClose - t0) / 1000).toFixed(2)} s (deadline ${deadline} ms)`,
    },
    pass: all4103 && earliest >= 0 && maxLate <= UNAUTH_LATE_MS && fdsAfter <= fds0,
    bound: `all ${o.sockets} closed 4103; none before request + ${deadline} ms, none later than open + ${deadline} + ${UNAUTH_LATE_MS} ms; fds back`,
  };
}

async function stableFds(relay: SoakRelay): Promise<number> {
  let n = relay.fds();
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const m = relay.fds();
    if (m === n) return n;
    n = m;
  }
  return n;
}

/** CPU share of one core the relay used over `ms`. */
async function cpuShare(relay: SoakRelay, ms: number): Promise<number> {
  const c0 = relay.cpu();
  const t0 = performance.now();
  await sleep(ms);
  return (relay.cpu() - c0) / ((performance.now() - t0) / 1000);
}

export async function flood(relay: SoakRelay, name: ListenerName, o: CheckOptions): Promise<Figure> {
  // A relay that just started (or just ended the previous flood) settles first, up to 10 s.
  let idleBefore = await cpuShare(relay, 500);
  for (let i = 0; i < 20 && idleBefore >= IDLE_SHARE; i++) idleBefore = await cpuShare(relay, 500);
  const d = DIALECTS[name];
  const { url, headers } = d.authed(wsBase(relay), 0);
  const s = await open(url, headers);
  const cpu0 = relay.cpu();
  const t0 = performance.now();
  const bad = d.badFrames;
  let sent = 0;
  // Sent without waiting for anything, as a hostile client does; stops early if the relay closes.
  for (; sent < o.frames && s.ws.readyState === s.ws.OPEN; sent++) {
    s.ws.send(bad[sent % bad.length]!);
    if (sent % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  if (s.ws.readyState === s.ws.OPEN) s.ws.close(1000);
  const { code, at: closedAt } = await s.closed;
  const floodCpu = relay.cpu() - cpu0;
  // Back to idle: the first window after the close in which the relay used under IDLE_SHARE.
  let idleAfterMs = Number.NaN;
  let share = 0;
  const giveUp = closedAt + 30_000;
  while (performance.now() < giveUp) {
    const start = performance.now();
    share = await cpuShare(relay, IDLE_WINDOW_MS);
    if (share < IDLE_SHARE) {
      idleAfterMs = start - closedAt;
      break;
    }
  }
  return {
    check: 'flood',
    listener: name,
    figures: {
      'frames sent': `${sent}/${o.frames}`,
      'closed with': String(code),
      'flood lasted': `${((closedAt - t0) / 1000).toFixed(2)} s`,
      'relay CPU in flood': `${floodCpu.toFixed(2)} s`,
      'idle CPU before': `${(idleBefore * 100).toFixed(1)} %`,
      // The end of the first idle window: an upper bound on when the work stopped.
      'idle again after close': Number.isNaN(idleAfterMs) ? `not within 30 s (${(share * 100).toFixed(0)} %)` : `≤ ${Math.max(0, idleAfterMs + IDLE_WINDOW_MS).toFixed(0)} ms`,
    },
    pass: idleAfterMs + IDLE_WINDOW_MS <= IDLE_WITHIN_MS,
    bound: `relay CPU < ${IDLE_SHARE * 100} % of a core (over ${IDLE_WINDOW_MS} ms) within ${IDLE_WITHIN_MS} ms of the close`,
  };
}

export const RUN: Record<CheckName, (relay: SoakRelay, name: ListenerName, o: CheckOptions) => Promise<Figure>> = { churn, unauth, flood };


