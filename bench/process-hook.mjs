/**
 * Loaded with `--import` into every Node child of the bench, the relay included
 * (`node --expose-gc --import ./bench/process-hook.mjs dist/src/main.js …`). Plain JavaScript, so
 * the relay can run from its compiled build with no TypeScript loader in the process.
 *
 * It installs two hooks and changes nothing else in the process:
 * - losing the IPC channel to the orchestrator (it exited or was killed, even with SIGKILL)
 *   exits the child, so no relay, simulator or load generator outlives the bench;
 * - an IPC `__memory` request is answered with `process.memoryUsage()` and the resident size of
 *   V8's young generation (`youngBytes`); with `args.gc` it first runs two compacting full GCs and waits for RSS to settle (the process
 *   must run with --expose-gc), so memory is read after a collection, not whenever V8 felt like one;
 *   `__spaces` answers the bytes used per V8 heap space (same `gc` option), to see where growth lives;
 *   `__probe` answers memoryUsage, heap statistics and per-space used/physical bytes, optionally after
 *   writing a heap snapshot (bench/memory-probe.ts);
 * - `__fanout` subscribes to the relay's fan-out timing channel (src/fanout-timing.ts) at the first
 *   call and answers the records since the last call, each `[received, decoded, published,
 *   delivered, encoded, firstWrite, lastWrite, sessions]` (`performance.now()` ms); `reset` drops them;
 * - `__gc` observes GC pauses from the first call on and answers those since the last call.
 */
import { subscribe } from 'node:diagnostics_channel';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';

/** The relay's fan-out records (src/fanout-timing.ts publishes them on this channel while it has a subscriber). */
const FANOUT_CHANNEL = 'bridge.fanout';
const FANOUT_MAX = 200_000;
/** Records since the last `__fanout` reset; null until the first request subscribes. */
let fanout = null;

const GC_KINDS = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };
/** GC pauses since the last `__gc` request; null until the first request starts observing. */
let gcStats = null;

/** Answers `__gc`: count, total and longest pause (ms) of the GCs since the last call (observing from the first). */
function gcPauses() {
  if (gcStats === null) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gcStats.count += 1;
        gcStats.totalMs += e.duration;
        if (e.duration > gcStats.maxMs) gcStats.maxMs = e.duration;
        // perf_hooks.constants: 1 minor (scavenge), 4 major (mark-compact), 8 incremental marking, 16 weak callbacks.
        const kind = GC_KINDS[e.detail?.kind] ?? String(e.detail?.kind);
        gcStats.kinds[kind] = (gcStats.kinds[kind] ?? 0) + e.duration;
      }
    }).observe({ entryTypes: ['gc'] });
  }
  const out = gcStats ?? { count: 0, totalMs: 0, maxMs: 0, kinds: {} };
  gcStats = { count: 0, totalMs: 0, maxMs: 0, kinds: {} };
  return out;
}

/** Answers `__fanout`: the records since the last call (subscribing at the first); `reset` drops them. */
function fanoutRecords(args) {
  if (fanout === null) {
    fanout = [];
    subscribe(FANOUT_CHANNEL, (r) => {
      if (fanout.length < FANOUT_MAX) fanout.push([r.received, r.decoded, r.published, r.delivered, r.encoded, r.firstWrite, r.lastWrite, r.sessions]);
    });
  }
  const out = args?.reset ? [] : fanout;
  fanout = [];
  return out;
}

const gc = globalThis.gc;

function collect() {
  // What V8's memory reducer does by itself once a server has been idle for ~8 s: full GCs that
  // compact old space, so RSS shows the live objects rather than pages left half full by the
  // garbage of a burst of handshakes. On Node 20 (V8 11.3) gc() takes no options that do this:
  // gc({type: 'major', flavor: 'last-resort'}) runs a scavenge (--trace-gc shows it), and a
  // plain gc() compacts only pages that are mostly free. So compaction is switched on for the
  // two plain calls (the first frees what the second finds unreferenced: weak maps, finalizers).
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc?.();
    gc?.();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return rssSettled();
}

/**
 * Resolves once RSS stopped falling. V8 hands the pages a collection freed back to the OS from a
 * background thread (its unmapper), so RSS read right after a compacting GC still holds them: at
 * 2 000 idle relay connections, 3 s later it was 4.5 KB per connection lower. Polls every 50 ms
 * until RSS fell by less than 64 KiB over the last 250 ms (at most 5 s).
 */
async function rssSettled() {
  const readings = [process.memoryUsage.rss()];
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    await new Promise((res) => setTimeout(res, 50));
    readings.push(process.memoryUsage.rss());
    if (readings.length > 5 && readings.at(-6) - readings.at(-1) < 64 * 1024) return;
  }
}

/** Resident bytes of the young generation: a per-process pool that V8 sizes by allocation rate. */
function youngBytes() {
  let n = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') n += s.physical_space_size;
  return n;
}

if (process.channel) {
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (req) => {
    if (!req || req.id === undefined) return;
    if (req.op === '__spaces') {
      if (req.args?.gc) await collect();
      process.send?.({ id: req.id, ok: true, result: getHeapSpaceStatistics().map((s) => ({ space: s.space_name, used: s.space_used_size })) });
      return;
    }
    if (req.op === '__gc') {
      process.send?.({ id: req.id, ok: true, result: gcPauses() });
      return;
    }
    if (req.op === '__fanout') {
      process.send?.({ id: req.id, ok: true, result: fanoutRecords(req.args) });
      return;
    }
    if (req.op === '__probe') {
      if (req.args?.flags) setFlagsFromString(req.args.flags);
      // `plainOnly`: a plain gc() without compaction (the collection before issue 15), for comparison.
      if (req.args?.plainOnly) gc?.();
      else if (req.args?.gc) await collect();
      if (req.args?.snapshot) writeHeapSnapshot(req.args.snapshot);
      const spaces = getHeapSpaceStatistics().map((s) => ({ space: s.space_name, used: s.space_used_size, physical: s.physical_space_size, size: s.space_size }));
      process.send?.({ id: req.id, ok: true, result: { memory: process.memoryUsage(), spaces, heap: getHeapStatistics() } });
      return;
    }
    if (req.op !== '__memory') return;
    if (req.args?.gc) await collect();
    process.send?.({ id: req.id, ok: true, result: { ...process.memoryUsage(), youngBytes: youngBytes() } });
  });
  // The channel must not keep a finished child alive; servers are kept alive by their sockets.
  process.channel.unref();
}
