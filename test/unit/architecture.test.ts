/**
 * The import rules docs/ARCHITECTURE.md states, checked by reading every import and export-from
 * statement of src/ and adapters/. If a rule here changes, the page changes with it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The core module adapters import. */
const KIT = 'src/adapter-kit.ts';
/** The core module simulator files import instead: the adapter kit plus the host and the simulator parts. */
const SIM_KIT = 'src/simulator-kit.ts';
/** The one core module that may import adapters/. */
const REGISTRY = 'src/registry.ts';
/** A simulator file: `adapters/<p>/simulator.ts`, `simulator-session.ts`, `simulator-server.ts`… */
const isSimulator = (path: string) => /^adapters\/[^/]+\/simulator[^/]*\.ts$/.test(path);

interface Edge {
  from: string;
  /** Repository-relative path for a relative specifier, the bare specifier otherwise. */
  to: string;
  /** `import type …` / `export type … from`: erased under verbatimModuleSyntax, so no runtime edge. */
  typeOnly: boolean;
  /** Written as a relative path (a file of this repository), not a package or built-in. */
  local: boolean;
}

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = posix.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

// A statement starts a line (no comment or string can match) and never crosses a quote or `;`.
const STATIC = /^[ \t]*(import|export)(\s+type)?\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE = /^[ \t]*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string, text: string): Edge[] {
  const edge = (spec: string, typeOnly: boolean): Edge => {
    const local = spec.startsWith('.');
    return { from: file, to: local ? posix.normalize(posix.join(posix.dirname(file), spec)) : spec, typeOnly, local };
  };
  const edges: Edge[] = [];
  for (const m of text.matchAll(STATIC)) edges.push(edge(m[3]!, m[2] !== undefined));
  for (const m of text.matchAll(BARE)) edges.push(edge(m[1]!, false));
  for (const m of text.matchAll(DYNAMIC)) edges.push(edge(m[1]!, false));
  return edges;
}

const files = [...tsFiles('src'), ...tsFiles('adapters')];
const edges = files.flatMap((f) => importsOf(f, readFileSync(join(ROOT, f), 'utf8')));
const folderOf = (path: string) => path.split('/').slice(0, 2).join('/');

test('the scanner sees the imports it checks (so the rules below cannot pass on nothing)', () => {
  assert.ok(files.length > 100, `${files.length} files`);
  const registry = edges.filter((e) => e.from === REGISTRY && e.to.startsWith('adapters/'));
  assert.ok(registry.length >= 5, 'the registry imports every adapter');
  assert.ok(edges.some((e) => e.from.startsWith('adapters/') && e.to === KIT), 'adapters import the kit');
  assert.ok(edges.some((e) => isSimulator(e.from) && e.to === SIM_KIT), 'simulators import the simulator kit');
  // Multi-line, type-only, re-export and side-effect forms.
  const sample = importsOf('src/x/a.ts', "import {\n  a,\n  b,\n} from './b.ts';\nimport type { C } from '../c.ts';\nexport { d } from 'pkg';\nimport 'node:fs';\n// import z from './z.ts';\n");
  assert.deepEqual(sample, [
    { from: 'src/x/a.ts', to: 'src/x/b.ts', typeOnly: false, local: true },
    { from: 'src/x/a.ts', to: 'src/c.ts', typeOnly: true, local: true },
    { from: 'src/x/a.ts', to: 'pkg', typeOnly: false, local: false },
    { from: 'src/x/a.ts', to: 'node:fs', typeOnly: false, local: false },
  ]);
});

test(`an adapter imports only its own folder, ${KIT} (a simulator file: ${SIM_KIT}) and node: built-ins`, () => {
  const bad = edges
    .filter((e) => e.from.startsWith('adapters/'))
    .filter((e) => !(e.to === KIT || (e.to === SIM_KIT && isSimulator(e.from)) || e.to.startsWith('node:') || (e.to.startsWith('adapters/') && folderOf(e.to) === folderOf(e.from))))
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(bad, []);
});

test(`only simulator files import ${SIM_KIT}, and no other adapter file imports a simulator file`, () => {
  const bad = edges
    .filter((e) => e.from.startsWith('adapters/') && !isSimulator(e.from))
    .filter((e) => e.to === SIM_KIT || isSimulator(e.to))
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(bad, []);
});

test(`${KIT} loads nothing of src/downstream/ and no ws, not even through another module`, () => {
  const reached = new Set<string>();
  const visit = (file: string) => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const e of edges) if (e.from === file && !e.typeOnly && e.local) visit(e.to);
  };
  visit(KIT);
  const direct = edges.filter((e) => e.from === KIT && e.to.startsWith('src/downstream/')).map((e) => e.to);
  assert.deepEqual(direct, [], 'not even a type comes from src/downstream/');
  assert.deepEqual([...reached].filter((f) => f.startsWith('src/downstream/') || f === SIM_KIT), []);
  const packages = edges.filter((e) => reached.has(e.from) && !e.typeOnly && !e.local).map((e) => e.to);
  assert.ok(!packages.includes('ws'), `${KIT} loads ws`);
});

test(`core (src/) imports adapters/ only in ${REGISTRY}, and nothing outside src/ otherwise`, () => {
  const bad = edges
    .filter((e) => e.from.startsWith('src/') && e.local)
    .filter((e) => !(e.to.startsWith('src/') || (e.from === REGISTRY && /^adapters\/[^/]+\/(index|simulator)\.ts$/.test(e.to))))
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(bad, []);
});

test(`core (src/) does not import ${KIT} or ${SIM_KIT}: the kits are the adapters' doors, not core modules`, () => {
  const bad = edges
    .filter((e) => e.from.startsWith('src/') && (e.to === KIT || e.to === SIM_KIT))
    // The simulator kit offers what the adapter kit does, and more.
    .filter((e) => !(e.from === SIM_KIT && e.to === KIT))
    .map((e) => `${e.from} imports ${e.to}`);
  assert.deepEqual(bad, []);
});

test('src/ has no import cycle made of runtime imports (a type-only import may close a loop)', () => {
  const graph = new Map<string, string[]>();
  for (const e of edges) {
    if (!e.typeOnly && e.from.startsWith('src/') && e.to.startsWith('src/')) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const cycles: string[] = [];
  const visit = (n: string) => {
    state.set(n, 'open');
    path.push(n);
    for (const d of graph.get(n) ?? []) {
      if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].join(' → '));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  assert.deepEqual(cycles, []);
});

test('every import a rule speaks of resolves to a file that exists', () => {
  const known = new Set(files);
  const missing = edges.filter((e) => (e.to.startsWith('src/') || e.to.startsWith('adapters/')) && !known.has(e.to)).map((e) => `${e.from} → ${e.to}`);
  assert.deepEqual(missing, []);
});
