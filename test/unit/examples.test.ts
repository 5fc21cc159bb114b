/**
 * Every example config (examples/*.json, and the configs of deploy/k8s) passes
 * `bridge check --no-secrets`, run as the CLI, and every example has its section in
 * examples/README.md explaining it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.json')).sort();
const deployConfigs = ['deploy/k8s/base/bridge.config.json', 'deploy/k8s/sidecar/bridge.config.json'];

function check(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.BRIDGE_CONFIG;
  delete env.BRIDGE_LOG_LEVEL;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', 'check', '--no-secrets', '--config', file], { cwd: ROOT, env, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

test('there is an example for each real deployment, each explained in examples/README.md', () => {
  assert.deepEqual(examples, ['anonroom.json', 'cluster.json', 'felix.json', 'pterodactyl-passthrough.json', 'pterodactyl.json', 'relay-chaining.json', 'semoxy-v1.json', 'semoxy-v2.json', 'sidecar.json']);
  const readme = readFileSync(join(ROOT, 'examples/README.md'), 'utf8');
  for (const f of examples) assert.match(readme, new RegExp(`^## ${f.replace('.', '\\.')} — `, 'm'), `a section for ${f}`);
  for (const f of examples) {
    const text = readFileSync(join(ROOT, 'examples', f), 'utf8');
    // Secrets come from the environment or files, never inline in an example.
    for (const key of ['"key": "', '"apiKey": "', '"jwtSecret": "', '"token": "', '"session": "', '"secret": "']) assert.ok(!text.includes(key), `${f}: inline ${key}`);
  }
});

describe('bridge check --no-secrets', { concurrency: true }, () => {
  for (const file of [...examples.map((f) => `examples/${f}`), ...deployConfigs]) {
    test(file, async () => {
      const r = await check(file);
      assert.equal(r.code, 0, `exit ${r.code}:\n${r.stderr}`);
      assert.match(r.stdout, /: ok \(structure only: secrets not read\)\n$/);
    });
  }
});
