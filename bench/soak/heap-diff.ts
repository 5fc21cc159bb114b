/**
 * `tsx bench/soak/heap-diff.ts A.heapsnapshot B.heapsnapshot [N]`: what B holds that A did not,
 * by node type and constructor name (count and self size), largest growth first. Enough to name
 * the objects a leak is made of; DevTools' comparison view shows who retains them.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function countByName(file: string): Map<string, { count: number; bytes: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const [ti, ni, si] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + ti]!]!;
    // Strings and numbers are named by their value: group them by type only.
    const name = type === 'string' || type === 'number' || type === 'concatenated string' || type === 'sliced string' ? '' : String(snap.strings[snap.nodes[i + ni]!]).slice(0, 80);
    const key = `${type}:${name}`;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count += 1;
    e.bytes += snap.nodes[i + si]!;
    out.set(key, e);
  }
  return out;
}

function main(): void {
  const [a, b, top = '30'] = process.argv.slice(2);
  if (!a || !b) throw new Error('usage: heap-diff.ts A.heapsnapshot B.heapsnapshot [N]');
  const before = countByName(a);
  const after = countByName(b);
  const rows = [...after].map(([key, v]) => ({ key, count: v.count - (before.get(key)?.count ?? 0), bytes: v.bytes - (before.get(key)?.bytes ?? 0) }));
  rows.sort((x, y) => y.bytes - x.bytes);
  process.stdout.write('Δcount     Δbytes  type:name\n');
  for (const r of rows.slice(0, Number(top))) process.stdout.write(`${String(r.count).padStart(8)} ${String(r.bytes).padStart(10)}  ${r.key}\n`);
}

if (process.argv[1]?.endsWith('heap-diff.ts')) main();
