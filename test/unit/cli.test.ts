/**
 * The CLI (src/main.ts) as a child process: `check` validates a config and prints every error with
 * its path; `--help` prints usage. No relay is started by these commands.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'bridge-cli-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function bridge(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  // BRIDGE_CONFIG is removed so a value in the test environment cannot change which file is read.
  const env = { ...process.env, ...extraEnv };
  if (!('BRIDGE_CONFIG' in extraEnv)) delete env.BRIDGE_CONFIG;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/main.ts', ...args],
      { cwd: ROOT, env, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A valid config with inline secrets (no env or files needed). */
function goodConfig(): Record<string, any> {
  return {
    clients: [{ name: 'c', key: 'cli-test-key', grants: [{ upstream: 'u' }] }],
    simulators: [{ name: 'sim', protocol: 'wings' }],
    upstreams: [{ name: 'u', protocol: 'wings', simulator: 'sim', servers: ['s1'] }],
    listeners: [{ dialect: 'wings', upstreams: ['u'], jwtSecret: 'cli-test-jwt' }],
  };
}

// Each test is its own process, so they run concurrently.
describe('bridge CLI', { concurrency: true }, () => {
  test('check --config <good file> exits 0 and prints ok', async () => {
    const file = join(TMP, 'good.json');
    writeFileSync(file, JSON.stringify(goodConfig()));
    const r = await bridge(['check', '--config', file]);
    assert.equal(r.code, 0, `exit ${r.code}, stderr:\n${r.stderr}`);
    assert.match(r.stdout, /: ok\b/);
    assert.ok(r.stdout.includes(file), r.stdout);
  });

  test('check --config=<file> (equals form) and the repository config', async () => {
    const r = await bridge(['check', `--config=${join(ROOT, 'bridge.config.json')}`]);
    assert.equal(r.code, 0, `exit ${r.code}, stderr:\n${r.stderr}`);
    assert.match(r.stdout, /bridge\.config\.json: ok/);
  });

  test('check with a bad config exits 1 and prints every error with its path on stderr', async () => {
    const raw = goodConfig();
    raw.http = { prt: 8080 };
    raw.listeners[0].upstreams = ['u', 'missing'];
    const file = join(TMP, 'bad.json');
    writeFileSync(file, JSON.stringify(raw));
    const r = await bridge(['check', '--config', file]);
    assert.equal(r.code, 1, `exit ${r.code}, stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
    assert.match(r.stderr, /\/http\/prt: .*unexpected property/i);
    assert.match(r.stderr, /\/listeners\/0\/upstreams\/1: .*missing/);
    assert.match(r.stderr, /2 configuration error/);
    assert.ok(r.stderr.includes(file), 'stderr names the file');
    assert.doesNotMatch(r.stdout, /ok/);
    assert.equal(r.stderr.includes('cli-test-key'), false, 'no secret on stderr');
    assert.equal(r.stderr.includes('cli-test-jwt'), false, 'no secret on stderr');
  });

  test('check with a missing file exits 1', async () => {
    const r = await bridge(['check', '--config', join(TMP, 'absent.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read: ENOENT/);
  });

  test('BRIDGE_CONFIG names the file when --config is absent', async () => {
    const raw = goodConfig();
    raw.limits = { writeQueueBytes: 1 };
    const file = join(TMP, 'env.json');
    writeFileSync(file, JSON.stringify(raw));
    const r = await bridge(['check'], { BRIDGE_CONFIG: file });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/limits\/writeQueueBytes: /);
  });

  test('check with a file that is not JSON exits 1', async () => {
    const file = join(TMP, 'garbage.json');
    writeFileSync(file, '{ not json');
    const r = await bridge(['check', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not valid JSON/);
  });

  test('--help exits 0 and prints usage', async () => {
    const r = await bridge(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usage: bridge/);
    assert.match(r.stdout, /check/);
  });

  test('an unknown argument exits non-zero with a message', async () => {
    const r = await bridge(['--frobnicate']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown argument/);
  });
});
