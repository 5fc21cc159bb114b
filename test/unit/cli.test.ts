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

  test('--workers 2 with the memory bus is refused before anything starts: one line, exit 2', async () => {
    const file = join(TMP, 'workers-memory.json');
    // A port that would be in use twice if anything started: nothing may listen.
    writeFileSync(file, JSON.stringify({ ...goodConfig(), http: { host: '127.0.0.1', port: 0 } }));
    for (const args of [['--workers', '2'], ['--workers=2']]) {
      const r = await bridge(['--config', file, ...args]);
      assert.equal(r.code, 2, `exit ${r.code}, stderr:\n${r.stderr}`);
      assert.equal(r.stderr, 'bridge: --workers 2 needs the NATS bus (bus.kind "nats"); with the in-process bus each worker would be an island\n');
      assert.equal(r.stdout, '');
    }
  });

  test('node.workers 3 in the config with the memory bus is refused the same way, by check too; the flag wins', async () => {
    const file = join(TMP, 'workers-config.json');
    writeFileSync(file, JSON.stringify({ ...goodConfig(), node: { workers: 3 } }));
    for (const args of [['--config', file], ['check', '--config', file]]) {
      const r = await bridge(args);
      assert.equal(r.code, 2, `exit ${r.code}, stderr:\n${r.stderr}`);
      assert.equal(r.stderr, 'bridge: node.workers 3 needs the NATS bus (bus.kind "nats"); with the in-process bus each worker would be an island\n');
    }
    const one = await bridge(['check', '--config', file, '--workers', '1']);
    assert.equal(one.code, 0, one.stderr);
  });

  test('--workers takes a whole number from 1 to 256', async () => {
    const file = join(TMP, 'good-workers.json');
    writeFileSync(file, JSON.stringify(goodConfig()));
    for (const bad of ['0', '1.5']) {
      const r = await bridge(['check', '--config', file, '--workers', bad]);
      assert.equal(r.code, 2, `--workers ${JSON.stringify(bad)}: exit ${r.code}`);
      assert.match(r.stderr, /^bridge: --workers needs a whole number from 1 to 256/);
    }
  });

  test('an unknown argument exits non-zero with a message', async () => {
    const r = await bridge(['--frobnicate']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown argument/);
  });
});
