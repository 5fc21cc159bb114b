#!/usr/bin/env node
// `npm test`: runs every test file under test/ through tsx with node:test, as an explicit list.
// `tsx --test` given no files or a directory runs nothing and exits 0, so the list is built here,
// and a run that executed no test fails. Extra arguments narrow the list: `npm test -- wings`.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk(join(root, 'test'))
  .sort()
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}

const args = ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files];
const child = spawn(join(root, 'node_modules/.bin/tsx'), args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
// The summary lines come before the list of failing tests, which can be long: remember each summary
// line as it passes rather than looking for it in the tail of the output.
const summary = {};
let partial = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^ℹ (tests|pass|fail) (\d+)$/.exec(line.trim());
    if (m) summary[m[1]] = [m[0], m[2]];
  }
});
child.on('close', (code) => {
  const { tests: ran, pass: passed, fail: failed } = summary;
  if (!ran || Number(ran[1]) === 0) {
    console.error('run-tests: the runner executed no test');
    process.exit(1);
  }
  console.log(`${passed?.[1] ?? 0} passed, ${failed?.[1] ?? 0} failed`);
  process.exit(code ?? 1);
});
