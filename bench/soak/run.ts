/**
 * `npm run soak [-- options]`: load checks that need time or many sockets (issue 9), against the
 * compiled relay, on each bus; prints a table of figures and PASS/FAIL against stated bounds.
 * See bench/soak/README.md.
 *
 *   --bus memory,nats        buses (default both; NATS is a nats-server the soak starts)
 *   --only churn,unauth,flood   checks (default all)
 *   --listeners a,b          wings,felix,cloudevents,panel,gateway (default all)
 *   --cycles N               churn cycles per listener (default 10000)
 *   --sockets N              unauthenticated sockets per listener (default 3000)
 *   --frames N               bad frames per flood (default 16000)
 *   --deadline MS            limits.authDeadlineMs of the relay (default 5000)
 *   --no-build               use dist/ as it is
 *   --heap-snapshots DIR     churn: a relay heap snapshot before and after the cycles, into DIR
 *                            (compare them in Chrome DevTools, or with bench/soak/heap-diff.ts)
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildRelay } from '../build.ts';
import { eachFlag } from '../args.ts';
import { NATS_SERVER } from '../scenarios.ts';
import { CHECKS, RUN, type CheckName, type CheckOptions, type Figure } from './checks.ts';
import { prepareDialects } from './clients.ts';
import { LISTENERS, startSoakRelay, type BusKind, type ListenerName } from './stack.ts';

interface Options extends CheckOptions {
  buses: BusKind[];
  checks: CheckName[];
  listeners: ListenerName[];
  deadlineMs: number;
  build: boolean;
  snapshotDir?: string;
}

function list<T extends string>(flag: string, raw: string, known: readonly T[]): T[] {
  const items = raw.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = items.filter((x) => !(known as readonly string[]).includes(x));
  if (bad.length || items.length === 0) throw new Error(`${flag}: unknown ${bad.join(', ') || '(empty)'}; known: ${known.join(', ')}`);
  return items as T[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { buses: ['memory', 'nats'], checks: [...CHECKS], listeners: [...LISTENERS], cycles: 10_000, sockets: 3000, frames: 16_000, deadlineMs: 5000, build: true };
  eachFlag(argv, (a, { value, int }) => {
    if (a === '--bus') o.buses = list(a, value(), ['memory', 'nats'] as const);
    else if (a === '--only') o.checks = list(a, value(), CHECKS);
    else if (a === '--listeners') o.listeners = list(a, value(), LISTENERS);
    else if (a === '--cycles') o.cycles = int();
    else if (a === '--sockets') o.sockets = int();
    else if (a === '--frames') o.frames = int();
    else if (a === '--deadline') o.deadlineMs = int();
    else if (a === '--no-build') o.build = false;
    else if (a === '--heap-snapshots') {
      o.snapshotDir = resolve(value());
      mkdirSync(o.snapshotDir, { recursive: true });
    }
    else throw new Error(`unknown argument ${a}`);
  });
  return o;
}

function render(bus: BusKind, rows: Figure[]): string {
  const out: string[] = [];
  for (const check of CHECKS) {
    const mine = rows.filter((r) => r.check === check);
    if (mine.length === 0) continue;
    const cols = [...new Set(mine.flatMap((r) => Object.keys(r.figures)))];
    const head = ['listener', ...cols, 'verdict'];
    const body = mine.map((r) => [r.listener, ...cols.map((c) => r.figures[c] ?? ''), r.pass === null ? 'n/a' : r.pass ? 'PASS' : 'FAIL']);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
    out.push(`\n${check} · bus ${bus} · bound: ${mine.find((r) => r.pass !== null)?.bound ?? 'n/a'}`);
    out.push(line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line));
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.buses.includes('nats')) process.stderr.write(`soak: nats-server ${NATS_SERVER}\n`);
  if (o.build) buildRelay('soak');
  const all: { bus: BusKind; rows: Figure[] }[] = [];
  for (const bus of o.buses) {
    const rows: Figure[] = [];
    all.push({ bus, rows });
    // One relay per bus and check: a check starts from a relay no other check has touched.
    for (const check of o.checks) {
      const relay = await startSoakRelay({ bus, authDeadlineMs: o.deadlineMs, ...(o.snapshotDir && check === 'churn' ? { snapshotDir: o.snapshotDir } : {}) });
      try {
        await prepareDialects(relay.url);
        for (const name of o.listeners) {
          const t0 = Date.now();
          process.stderr.write(`soak: ${bus} ${check} ${name} … `);
          try {
            const r = await RUN[check](relay, name, o);
            rows.push(r);
            process.stderr.write(`${r.pass === null ? 'n/a' : r.pass ? 'PASS' : 'FAIL'} (${((Date.now() - t0) / 1000).toFixed(1)} s) ${JSON.stringify(r.figures)}\n`);
          } catch (err) {
            const msg = err instanceof Error ? err.message : String(err);
            rows.push({ check, listener: name, figures: { error: msg.split('\n')[0]! }, pass: false, bound: 'ran to the end' });
            process.stderr.write(`ERROR ${msg}\n${relay.tail()}\n`);
          }
        }
      } finally {
        await relay.stop();
      }
    }
  }
  for (const { bus, rows } of all) process.stdout.write(`${render(bus, rows)}\n`);
  const failed = all.flatMap((b) => b.rows.filter((r) => r.pass === false).map((r) => `${b.bus}/${r.check}/${r.listener}`));
  process.stdout.write(`\n${failed.length ? `FAIL: ${failed.join(', ')}` : 'PASS: every check within its bound'}\n`);
  if (failed.length) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`soak: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
