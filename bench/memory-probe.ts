/**
 * Scratch: where the relay's memory per idle connection goes, per bus.
 *   tsx bench/memory-probe.ts [C] [scenario,…]
 */
import { readFileSync } from 'node:fs';
import { Ipc, startNode } from './procs.ts';
import { startStack, type ScenarioName } from './scenarios.ts';
import { sleep } from './child-hook.ts';

const C = Number(process.argv[2] ?? 1000);
const scenarios = (process.argv[3] ?? 'relay-mem,relay-nats').split(',') as ScenarioName[];

function smaps(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

/** Anonymous RSS per mapping kind: [heap] (brk malloc), anon mmaps by size class. */
function regions(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const out: Record<string, number> = {};
  let name = '';
  let size = 0;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      size = parseInt(head[2]!, 16) - parseInt(head[1]!, 16);
      name = head[3] || (size === 64 * 1024 * 1024 ? 'anon-64M(arena?)' : size >= 32 * 1024 * 1024 ? 'anon>=32M' : size >= 256 * 1024 ? 'anon>=256K' : 'anon<256K');
      if (name.startsWith('/')) name = 'file';
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m) out[name] = (out[name] ?? 0) + Number(m[1]) * 1024;
  }
  return out;
}

/** Rss per anonymous mapping, keyed by start address, with its size and perms. */
function mappings(pid: number): Map<string, { size: number; rss: number; perms: string; name: string }> {
  const out = new Map<string, { size: number; rss: number; perms: string; name: string }>();
  let cur: { size: number; rss: number; perms: string; name: string } | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = { size: parseInt(head[2]!, 16) - parseInt(head[1]!, 16), rss: 0, perms: head[3]!, name: head[4] ?? '' };
      out.set(head[1]!, cur);
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && cur) cur.rss = Number(m[1]) * 1024;
  }
  return out;
}

export function mapDiff(a: ReturnType<typeof mappings>, b: ReturnType<typeof mappings>, n: number): void {
  const rows: [string, number, string][] = [];
  for (const [k, v] of b) {
    const o = a.get(k);
    const d = v.rss - (o?.rss ?? 0);
    if (Math.abs(d) >= 128 * 1024) rows.push([k, d, `${o ? '' : 'NEW '}${v.perms} size ${(v.size / 1048576).toFixed(2)}MB rss ${(v.rss / 1048576).toFixed(2)}MB ${v.name}`]);
  }
  for (const [k, v] of a) if (!b.has(k) && v.rss >= 128 * 1024) rows.push([k, -v.rss, `GONE size ${(v.size / 1048576).toFixed(2)}MB ${v.name}`]);
  rows.sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]));
  let small = 0;
  for (const [k, v] of b) {
    if (!a.has(k) && v.size === 256 * 1024) small += v.rss;
  }
  console.log(`  new 256K mappings: ${(small / n / 1024).toFixed(2)} KB/conn`);
  for (const [k, d, what] of rows.slice(0, 12)) console.log(`   ${k} ${(d / n / 1024).toFixed(2)} KB/conn ${what}`);
}

interface Reading {
  rss: number;
  smaps: Record<string, number>;
  regions: Record<string, number>;
  memory: NodeJS.MemoryUsage;
  spaces: { space: string; used: number; physical: number }[];
  maps: ReturnType<typeof mappings>;
}

async function read(ipc: Ipc, pid: number, snapshot?: string, flags?: string, gc: boolean | 'plainOnly' = true): Promise<Reading> {
  const r = await ipc.call('__probe', { gc: gc === true, plainOnly: gc === 'plainOnly', snapshot, flags });
  const s = smaps(pid);
  return { rss: s.Rss!, smaps: s, regions: regions(pid), maps: mappings(pid), memory: r.memory, spaces: r.spaces };
}

function diff(a: Reading, b: Reading, n: number): void {
  const kb = (x: number) => `${(x / n / 1024).toFixed(2)} KB/conn`;
  console.log(`  rss ${kb(b.rss - a.rss)}  anon ${kb(b.smaps.Anonymous! - a.smaps.Anonymous!)}`);
  for (const k of ['heapUsed', 'heapTotal', 'external', 'arrayBuffers'] as const) console.log(`  ${k} ${kb(b.memory[k] - a.memory[k])}`);
  for (const s of b.spaces) {
    const o = a.spaces.find((x) => x.space === s.space)!;
    if (Math.abs(s.physical - o.physical) > 1024 * 64 || Math.abs(s.used - o.used) > 1024 * 64) console.log(`  ${s.space}: used ${kb(s.used - o.used)} physical ${kb(s.physical - o.physical)}`);
  }
  const keys = new Set([...Object.keys(a.regions), ...Object.keys(b.regions)]);
  for (const k of keys) {
    const d = (b.regions[k] ?? 0) - (a.regions[k] ?? 0);
    if (Math.abs(d) > 64 * 1024) console.log(`  region ${k}: ${kb(d)} (now ${(b.regions[k]! / 1048576).toFixed(1)} MB)`);
  }
}

for (const name of scenarios) {
  const lgChild = startNode('bench/loadgen.ts');
  const lg = new Ipc(lgChild);
  const [stack] = await Promise.all([startStack(name), lg.ready()]);
  try {
    const pid = stack.serverPids[0]!;
    const ipc = stack.serverIpc!;
    await lg.call('open', { ...stack.targets[0], count: 100 });
    stack.pub.send('burst', { n: 200 });
    await lg.call('waitFor', { target: 20000, idleMs: 5000 });
    await lg.call('close');
    if (process.env.PROBE_PREWARM) {
      // The first reading after the process has served C connections once (its pools at that high-water mark).
      await lg.call('open', { ...stack.targets[0], count: C });
      await lg.call('close');
    }
    await sleep(1000);
    const r0 = await read(ipc, pid);
    await lg.call('open', { ...stack.targets[0], count: C });
    if (process.env.PROBE_IDLE_MS) {
      // No forced GC: what V8 does by itself once the relay is idle (its memory reducer).
      await sleep(Number(process.env.PROBE_IDLE_MS));
      console.log(`${name} C=${C}: after ${process.env.PROBE_IDLE_MS} ms idle, no forced GC:`);
      diff(r0, await read(ipc, pid, undefined, undefined, false), C);
    }
    await sleep(1000);
    if (process.env.PROBE_PLAIN_ONLY) {
      console.log(`${name} C=${C}: collected with a plain gc() only (no compaction):`);
      diff(r0, await read(ipc, pid, undefined, undefined, 'plainOnly'), C);
    }
    const r1 = await read(ipc, pid);
    await sleep(3000);
    const r2 = await read(ipc, pid);
    console.log(`${name} C=${C}: rss0 ${(r0.rss / 1048576).toFixed(1)} MB`);
    console.log(' after open (1 s):');
    diff(r0, r1, C);
    console.log(' after 4 s:');
    diff(r0, r2, C);
    mapDiff(r0.maps, r2.maps, C);
    if (process.env.PROBE_LATER_MS) {
      // RSS a while after the collection, without another: what the GC freed may leave RSS later (V8's unmapper).
      await sleep(Number(process.env.PROBE_LATER_MS));
      console.log(` ${process.env.PROBE_LATER_MS} ms after that collection:`);
      diff(r0, await read(ipc, pid, undefined, undefined, false), C);
    }
    if (process.env.PROBE_FLAGS) {
      // V8 flags set in the relay before one more reading (e.g. --compact-on-every-full-gc).
      const r5 = await read(ipc, pid, undefined, process.env.PROBE_FLAGS);
      console.log(` after ${process.env.PROBE_FLAGS}:`);
      diff(r0, r5, C);
    }
    if (!process.env.PROBE_SNAPSHOT) continue;
    const r3 = await read(ipc, pid, `/tmp/probe-${name}-${C}.heapsnapshot`);
    const r4 = await read(ipc, pid);
    console.log(' after a heap snapshot:');
    diff(r0, r4, C);
    void r3;
  } finally {
    await lg.call('close').catch(() => undefined);
    await Promise.all([lgChild.stop(), stack.stop()]);
  }
}
process.exit(0);
