/**
 * The CLI (src/main.ts) as a child process: `check` validates a config and prints every error with
 * its path (`--no-secrets`: without reading secrets); `--help` lists every command, option and
 * environment variable; `--version` prints package.json's; a bad command line is one line and exit 2.
 * The parser itself (src/process/cli-args.ts) is tested without a process.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { ENVIRONMENT, OPTIONS, SUBCOMMANDS, UsageError, helpText, parseArgs } from '../../src/process/cli-args.ts';

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
      { cwd: ROOT, env, timeout: 150_000 },
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

  test('--help (and -h, help) exits 0 and lists every command, option and environment variable', async () => {
    const r = await bridge(['--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^protocol-bridge \d+\.\d+\.\d+/);
    for (const c of SUBCOMMANDS) assert.ok(r.stdout.includes(c.usage), `usage of ${c.name}`);
    for (const o of OPTIONS) assert.ok(r.stdout.includes(o.flag), o.flag);
    for (const e of ['BRIDGE_CONFIG', 'BRIDGE_LOG_LEVEL']) assert.ok(r.stdout.includes(e), e);
    for (const word of ['check', '--no-secrets', '--port', '--log-level', '--workers', '--version', '--config']) assert.ok(r.stdout.includes(word), word);
    assert.equal((await bridge(['check', '-h'])).stdout, r.stdout, 'help wins over a command');
  });

  test('--version (and -v) prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const r = await bridge([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });

  test('check --no-secrets validates structure without reading {"env"} or {"file"} secrets', async () => {
    const raw = goodConfig();
    raw.clients[0].key = { env: 'BRIDGE_CLI_TEST_UNSET_KEY' };
    raw.listeners[0].jwtSecret = { file: '/nonexistent/relay-jwt-secret' };
    raw.http = { tls: { cert: { file: 'certs/absent.pem' }, key: { env: 'BRIDGE_CLI_TEST_UNSET_TLS_KEY' } } };
    const file = join(TMP, 'secrets-elsewhere.json');
    writeFileSync(file, JSON.stringify(raw));
    const shape = await bridge(['check', '--no-secrets', '--config', file]);
    assert.equal(shape.code, 0, `exit ${shape.code}, stderr:\n${shape.stderr}`);
    assert.equal(shape.stdout, `${file}: ok (structure only: secrets not read)\n`);

    // Without the flag the same file fails, naming each secret that cannot be read.
    const full = await bridge(['check', '--config', file]);
    assert.equal(full.code, 1);
    assert.match(full.stderr, /\/clients\/0\/key: environment variable BRIDGE_CLI_TEST_UNSET_KEY is not set/);
    assert.match(full.stderr, /\/listeners\/0\/jwtSecret: cannot read secret file \/nonexistent\/relay-jwt-secret: ENOENT/);
    assert.match(full.stderr, /\/http\/tls\/cert: cannot read secret file .*absent\.pem: ENOENT/);
    assert.match(full.stderr, /\/http\/tls\/key: environment variable BRIDGE_CLI_TEST_UNSET_TLS_KEY is not set/);

    // The shape of a secret is still checked.
    raw.clients[0].key = { path: '/etc/key' };
    writeFileSync(file, JSON.stringify(raw));
    const bad = await bridge(['check', '--no-secrets', '--config', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\/clients\/0\/key: /);
  });

  test('a bad command line is one line on stderr and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--frobnicate'], /^bridge: unknown option --frobnicate \(bridge --help lists them\)\n$/],
      [['frobnicate'], /^bridge: unknown command "frobnicate"/],
      [['--port', '70000'], /^bridge: --port needs a whole number from 0 to 65535, not "70000"\n$/],
      [['--log-level', 'loud'], /^bridge: --log-level must be one of debug, info, warn, error, silent, not "loud"\n$/],
      [['--no-secrets'], /^bridge: --no-secrets only applies to bridge check/],
    ];
    await Promise.all(
      cases.map(async ([args, expected]) => {
        const r = await bridge(args);
        assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}`);
        assert.match(r.stderr, expected);
        assert.equal(r.stderr.split('\n').length, 2, `one line: ${JSON.stringify(r.stderr)}`);
        assert.equal(r.stdout, '');
      }),
    );
  });

  test('a bad BRIDGE_LOG_LEVEL is refused the same way; --log-level wins over it', async () => {
    const file = join(TMP, 'good-log-level.json');
    writeFileSync(file, JSON.stringify(goodConfig()));
    const bad = await bridge(['check', '--config', file], { BRIDGE_LOG_LEVEL: 'chatty' });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'bridge: BRIDGE_LOG_LEVEL must be one of debug, info, warn, error, silent, not "chatty"\n');
    const flag = await bridge(['check', '--config', file, '--log-level', 'info'], { BRIDGE_LOG_LEVEL: 'chatty' });
    assert.equal(flag.code, 0, flag.stderr);
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

});

/** Runs the relay until its `relay listening` log line (or exit), then SIGKILLs it; returns its log lines. */
function runUntilListening(args: string[], env: NodeJS.ProcessEnv): Promise<{ lines: Record<string, unknown>[]; listening?: Record<string, unknown> }> {
  const full = { ...process.env, ...env };
  delete full.BRIDGE_CONFIG;
  if (!('BRIDGE_LOG_LEVEL' in env)) delete full.BRIDGE_LOG_LEVEL;
  // The pid file goes in the test's directory: a SIGKILLed relay would leave one in $TMPDIR otherwise.
  const pidFile = ['--pid-file', join(TMP, `relay-${Math.random().toString(36).slice(2)}.pid`)];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args, ...pidFile], { cwd: ROOT, env: full, stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const parsed = (() => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { msg: line };
        }
      })();
      lines.push(parsed);
      if (parsed.msg === 'relay listening') child.kill('SIGKILL');
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve({ lines, listening: lines.find((l) => l.msg === 'relay listening') });
    });
  });
}

describe('overrides: flags win over the environment, which wins over the config', { concurrency: true }, () => {
  const file = join(TMP, 'overrides.json');
  writeFileSync(file, JSON.stringify({ ...goodConfig(), http: { host: '127.0.0.1', port: 1 }, log: { level: 'silent' } }));

  test('--port N and --log-level L win over http.port, log.level and BRIDGE_LOG_LEVEL', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      });
    });
    const r = await runUntilListening(['--config', file, '--port', String(free), '--log-level', 'info'], { BRIDGE_LOG_LEVEL: 'error' });
    assert.ok(r.listening, `no relay listening line: ${JSON.stringify(r.lines.slice(-5))}`);
    assert.equal(r.listening.port, free);
    assert.equal(r.listening.level, 'info');
  });

  test('BRIDGE_LOG_LEVEL wins over log.level', async () => {
    const r = await runUntilListening(['--config', file, '--port', '0'], { BRIDGE_LOG_LEVEL: 'info' });
    assert.ok(r.listening, `no relay listening line: ${JSON.stringify(r.lines.slice(-5))}`);
    assert.notEqual(r.listening.port, 1);
  });
});

describe('parseArgs', () => {
  const env = {};
  test('every option the help lists is one the parser takes', () => {
    const samples: Record<string, string[]> = {
      '-c, --config FILE': ['-c', 'x.json', '--config', 'x.json', '--config=x.json'],
      '--port N': ['--port', '0', '--port=8081'],
      '--log-level L': ['--log-level', 'warn', '--log-level=debug'],
      '--workers N': ['--workers', '2', '--workers=3'],
      '--no-secrets': ['check', '--no-secrets'],
      '--pretty': ['--pretty'],
      '--pid-file FILE': ['--pid-file', 'x.pid', 'reload', '--pid-file=y.pid'],
      '--pid N': ['reload', '--pid', '42'],
      '-h, --help': ['-h', '--help'],
      '-v, --version': ['-v', '--version'],
    };
    assert.deepEqual(Object.keys(samples).sort(), OPTIONS.map((o) => o.flag).sort(), 'a sample per listed option');
    for (const argv of Object.values(samples)) assert.doesNotThrow(() => parseArgs(argv, env, '/tmp'), argv.join(' '));
    for (const c of SUBCOMMANDS) assert.equal(parseArgs([c.name], env, '/tmp').command, c.name);
    assert.deepEqual(ENVIRONMENT.map((e) => e.name), ['BRIDGE_CONFIG', 'BRIDGE_LOG_LEVEL']);
    for (const e of ENVIRONMENT) assert.ok(helpText('0.0.0').includes(e.name));
  });

  test('values, precedence and defaults', () => {
    const a = parseArgs(['--port=9000', '--log-level', 'debug', '--workers', '4', '-c', 'conf/x.json'], { BRIDGE_LOG_LEVEL: 'error', BRIDGE_CONFIG: 'y.json' }, '/srv');
    assert.deepEqual(a, { command: 'run', config: '/srv/conf/x.json', port: 9000, logLevel: 'debug', workers: 4, noSecrets: false });
    const b = parseArgs(['check'], { BRIDGE_LOG_LEVEL: 'error', BRIDGE_CONFIG: 'y.json' }, '/srv');
    assert.deepEqual(b, { command: 'check', config: '/srv/y.json', logLevel: 'error', noSecrets: false });
    assert.equal(parseArgs([], {}, '/srv').config, '/srv/bridge.config.json');
    assert.throws(() => parseArgs(['--config'], {}, '/srv'), UsageError);
    assert.throws(() => parseArgs(['--port', '-1'], {}, '/srv'), /--port needs a whole number/);
    assert.throws(() => parseArgs(['check', 'check'], {}, '/srv'), /unknown command "check"/);
  });
});
