/**
 * `npm run bench [-- options]`: the fan-out benchmark (issue #5). Runs every scenario at every
 * client count, `--reps` times, interleaved (C → rep → scenario) so drift spreads over all of
 * them; prints the table and writes it with every raw run to bench-results/<timestamp>.json.
 *
 *   --quick              C=100,1000, 1 rep, short phases (< 2 minutes)
 *   --clients 100,1000   client counts (default 100,1000,5000)
 *   --reps N             repetitions (default 3)
 *   --scenarios a,b      subset of relay-mem,relay-nats,baseline,peer,cluster (`--scenario` too);
 *                        cluster brings relay-nats along, its reference
 *   --rate N             deliveries/s of the fixed-rate latency phase (default 20000)
 *   --sat-ms N / --fixed-ms N   measured length of the saturation / fixed-rate phases
 *   --depth N            closed-loop windows in flight (default 3; a window is 10 000 deliveries)
 *   --out DIR            where the JSON goes (default bench-results)
 *   --profile DIR        run the relay under `node --cpu-prof`, one .cpuprofile per relay run in DIR
 *   --timeline           print, per relay run, the phases of the relay's own fan-out (receipt,
 *                        decode, publish, bus delivery, encode, first and last socket write) at the
 *                        median and p99 event of the fixed-rate and saturation phases
 *   --no-pin             leave process placement to the kernel (default: the load generator alone on
 *                        the last CPU, every other process on the rest; see phases.ts)
 *   --relay-from dist|src   the compiled build (default; built first, as `npm run build` does) or
 *                        the TypeScript source through tsx
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { buildRelay } from './build.ts';
import { eachFlag } from './args.ts';
import { runInstance, type PhaseOptions, type RunResult } from './phases.ts';
import { cpuLayout, ROOT } from './procs.ts';
import { renderTable, summarize, targets } from './report.ts';
import { renderTimeline } from './relay-timing.ts';
import { NATS_SERVER, SCENARIOS, type ScenarioName } from './scenarios.ts';

interface Options {
  clients: number[];
  reps: number;
  scenarios: ScenarioName[];
  out: string;
  quick: boolean;
  timeline: boolean;
  phases: PhaseOptions;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const o: Options = {
    clients: quick ? [100, 1000] : [100, 1000, 5000],
    reps: quick ? 1 : 3,
    scenarios: [...SCENARIOS],
    out: join(ROOT, 'bench-results'),
    quick,
    timeline: argv.includes('--timeline'),
    phases: quick
      ? { settleMs: 500, fixedWarmMs: 300, fixedMs: 1500, satWarmMs: 500, satMs: 1500, rate: 20_000, windowDeliveries: 10_000, depth: 3, idleMs: 5000, pin: true }
      : { settleMs: 2000, fixedWarmMs: 1000, fixedMs: 5000, satWarmMs: 1000, satMs: 5000, rate: 20_000, windowDeliveries: 10_000, depth: 3, idleMs: 5000, pin: true },
  };
  eachFlag(argv, (a, { value, int }) => {
    if (a === '--quick' || a === '--timeline') return;
    else if (a === '--no-pin') o.phases.pin = false;
    else if (a === '--clients') o.clients = value().split(',').map((x) => Number(x.trim()));
    else if (a === '--reps') o.reps = int();
    else if (a === '--rate') o.phases.rate = int();
    else if (a === '--sat-ms') o.phases.satMs = int();
    else if (a === '--fixed-ms') o.phases.fixedMs = int();
    else if (a === '--depth') o.phases.depth = int();
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--profile') process.env.BENCH_RELAY_PROFILE = resolve(value());
    else if (a === '--relay-from') {
      const from = value();
      if (from !== 'dist' && from !== 'src') throw new Error('--relay-from takes dist or src');
      process.env.BENCH_RELAY_FROM = from;
    }
    else if (a === '--scenarios' || a === '--scenario') {
      const list = value().split(',').map((x) => x.trim());
      const bad = list.filter((x) => !(SCENARIOS as readonly string[]).includes(x));
      if (bad.length) throw new Error(`unknown scenario ${bad.join(', ')}; known: ${SCENARIOS.join(', ')}`);
      // The cluster is reported as ratios to one relay on NATS, measured in the same run.
      if (list.includes('cluster') && !list.includes('relay-nats')) list.unshift('relay-nats');
      o.scenarios = list as ScenarioName[];
    } else throw new Error(`unknown argument ${a}`);
  });
  if (o.clients.some((c) => !Number.isInteger(c) || c <= 0)) throw new Error('--clients takes positive integers, e.g. 100,1000');
  return o;
}

/** 1-minute load average: other work on the box shows up here, and in every figure. */
function loadAvg(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function natsVersion(): string {
  try {
    return execFileSync(NATS_SERVER, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const started = new Date();
  const total = o.clients.length * o.reps * o.scenarios.length;
  const runs: (RunResult & { loadAvg: number })[] = [];
  const failures: { scenario: ScenarioName; clients: number; rep: number; error: string }[] = [];
  const cores = cpus().length;
  if (o.scenarios.some((s) => s.startsWith('relay') || s === 'cluster') && process.env.BENCH_RELAY_FROM !== 'src') buildRelay();
  process.stderr.write(`bench: ${total} runs (${o.scenarios.join(', ')}) × C=${o.clients.join(',')} × ${o.reps} rep(s) on ${cores} cores\n`);
  let n = 0;
  for (const C of o.clients) {
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const s of o.scenarios) {
        n += 1;
        const t0 = Date.now();
        const tag = `[${n}/${total}] ${s.padEnd(10)} C=${String(C).padEnd(5)} rep ${rep}`;
        try {
          const r = { ...(await runInstance(s, C, rep, o.phases)), loadAvg: loadAvg() };
          runs.push(r);
          process.stderr.write(
            `${tag}: ${Math.round(r.sat.deliveriesPerSec).toLocaleString('en')} deliveries/s (other CPU ${r.sat.otherCpuPct.toFixed(0)}%)${r.sat.stalled ? ' (STALLED)' : ''}, ` +
              `p99 ${(r.fixed.p99Us / 1000).toFixed(2)} ms${r.relay ? ` (relay's own ${(r.relay.fixed.p99Us / 1000).toFixed(2)} ms)` : ''}, ${(r.memory.perConnBytes / 1024).toFixed(1)} KB/conn, ` +
              `lost ${r.loss.lost}, cut ${r.loss.clients - r.loss.open}${Object.keys(r.loss.closes).length ? ` closes ${JSON.stringify(r.loss.closes)}` : ''}, load ${r.loadAvg.toFixed(1)} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
          );
          if (o.timeline && r.relay) {
            for (const [phase, t] of Object.entries(r.relay)) process.stderr.write(`${renderTimeline(`  ${s} C=${C} ${phase}`, t).join('\n')}\n`);
          }
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          failures.push({ scenario: s, clients: C, rep, error });
          process.stderr.write(`${tag}: FAILED: ${error}\n`);
        }
      }
    }
  }
  const layout = o.phases.pin ? cpuLayout() : null;
  const notes = [
    (layout
      ? `${cores} CPU cores: the load generator pinned to CPU ${layout.loadgen}, the server under test, the publisher (and nats-server where used) to CPU ${layout.rest} (taskset; --no-pin leaves placement to the kernel): `
      : `${cores} CPU cores shared by the server under test, the publisher, the load generator (and nats-server where used): `) +
      'saturation figures are for this box, where the load generator can be the bottleneck (see "sat loadgen CPU").',
    'deliveries = messages received, summed over all clients (one publish to C clients = C deliveries); ' +
      `saturation is a closed loop (≤ ${o.phases.depth} windows of ${o.phases.windowDeliveries} deliveries in flight).`,
    `latency: publisher timestamp (CLOCK_MONOTONIC) to client receipt, at ${o.phases.rate} deliveries/s in total; ${FRAME_NOTE}.`,
    'memory/idle conn = (server RSS with C idle authenticated clients − RSS with none) / C, both read after C clients came and went once ' +
      '(so pools a burst of C handshakes grows are at that size in both readings), each after a settle period and, for the ' +
      'Node servers (relay, baseline), two compacting full GCs and RSS settled (what V8\'s memory reducer does by itself once idle; bench/process-hook.mjs, over IPC), ' +
      'without V8\'s resident young generation, a per-process pool that does not scale with C; "RSS/idle conn, as is" keeps it in. ' +
      'nats-server (Go) is measured as is, without a forced GC. ' +
      '"JS heap+ext/idle conn" is the growth of process.memoryUsage() heapUsed+external per connection (it can exceed the RSS delta: heap growth may land in pages already resident). The memory target is judged at C ≥ 1000 only: ' +
      'at C = 100 the RSS delta is within allocator noise.',
    'ratios are of medians: relay ÷ baseline and relay ÷ peer (throughput: higher is better; latency, CPU/delivery, memory: lower is better).',
  ];
  if (o.scenarios.includes('cluster')) {
    notes.push(
      'cluster = the same Wings upstream through 3 relays (one holds the upstream socket by its lease, the others get the events over NATS), each on its own node of a ' +
        '3-node NATS cluster (JetStream R3, routes), clients spread evenly over the relays; "server" figures sum the 3 relays, "nats-server CPU" the 3 NATS nodes, ' +
        '"server+NATS µs/delivery" both (relay-nats: the relay and its nats-server). clu÷nats = cluster ÷ relay-nats of this run. ' +
        `With ${cores} cores for ${3 + 3 + 2} busy processes the cluster cannot deliver more than one relay here: read its CPU per delivery, not its throughput.`,
    );
  }
  const loads = runs.map((r) => r.loadAvg).filter(Number.isFinite);
  const other = runs.map((r) => r.sat.otherCpuPct).filter(Number.isFinite);
  if (loads.length && other.length) {
    const hi = Math.max(...other);
    notes.push(
      `"sat CPU, other work" is CPU used by processes outside this run during the saturation window (% of one core; ${cores * 100}% = all cores): ` +
        `${Math.min(...other).toFixed(0)}–${hi.toFixed(0)}% here; 1-min load average after the runs ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}` +
        (hi > 25 ? '. OTHER WORK WAS RUNNING ON THIS BOX: absolute figures (latency most) are contaminated; ratios within a C block are fairer but not immune.' : '.'),
    );
  }
  if (failures.length) notes.push(`${failures.length} run(s) failed: ${failures.map((f) => `${f.scenario} C=${f.clients} rep ${f.rep}`).join('; ')}`);
  const summary = summarize(runs);
  const table = renderTable(summary, o.reps, notes);
  process.stdout.write(`${table}\n`);
  mkdirSync(o.out, { recursive: true });
  const file = join(o.out, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const meta = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    argv: process.argv.slice(2),
    commit: gitCommit(),
    node: process.version,
    natsServer: natsVersion(),
    cpus: cores,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemBytes: totalmem(),
  };
  writeFileSync(file, `${JSON.stringify({ meta, options: o, summary, targets: targets(summary), runs, failures, table }, null, 2)}\n`);
  process.stdout.write(`\nwrote ${file} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)\n`);
  if (runs.length === 0) process.exitCode = 1;
}

const FRAME_NOTE = '150-byte Wings console frames (NATS peer: the same payload in a MSG)';

main().catch((err) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
