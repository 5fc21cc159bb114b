/**
 * Config reload of a real relay process (`node --import tsx src/main.ts`), triggered by SIGHUP sent
 * by PID and by `bridge reload`, checked over real sockets: a removed client's session is closed
 * 4403 and its key refused, a new key works, a lower limit refuses the next upgrade; a change that
 * takes a restart, and a file that does not load, leave the relay as it was; every outcome is in
 * /metrics. `bridge reload` finds the relay through its pid file (the default path, from the config
 * path, or --pid-file) and refuses a config that does not check. The TLS certificate files are read
 * again on SIGHUP.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { defaultPidFile } from '../../src/process/pid-file.ts';
import { getFresh, startBridgeProcess, type BridgeProcess } from '../helpers/bridge-process.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { metricValue } from '../helpers/felix-harness.ts';
import { KEYS, S2, multiConfig, type RawConfig } from '../helpers/reload-config.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const START_MS = 60_000;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

async function started(b: BridgeProcess): Promise<string> {
  const line = await b.waitLog((l) => l.msg === 'relay listening', START_MS, 'relay listening');
  return String(line.url);
}

/** Waits for the `n`-th log line (1-based) that matches, after the ones already seen. */
function nth(b: BridgeProcess, n: number, match: (l: Record<string, unknown>) => boolean, what: string) {
  return b.waitLog(() => b.logs.filter(match).length >= n, 15_000, what).then(() => b.logs.filter(match)[n - 1]!);
}

async function reloadCount(url: string, result: string): Promise<number> {
  return metricValue((await getFresh(`${url}/metrics`)).body, 'bridge_config_reloads_total', { result }) ?? 0;
}

describe('SIGHUP and bridge reload on a running relay', () => {
  let b: BridgeProcess;
  let url: string;
  let raw: RawConfig;
  const write = (c: RawConfig) => writeFileSync(b.file, JSON.stringify(c));
  const reloadedLines = (result: string) => (l: Record<string, unknown>) =>
    result === 'applied' ? l.msg === 'config reloaded' : typeof l.msg === 'string' && l.msg.startsWith(`config reload ${result}`);

  before(async () => {
    raw = multiConfig();
    raw.log.level = 'info';
    b = startBridgeProcess(raw);
    url = await started(b);
  });
  after(() => b.kill());

  test('SIGHUP by PID: a removed client is closed 4403 and refused, a new key works, a limit applies', async () => {
    const ws = url.replace(/^http/, 'ws');
    const two = await CeClient.connect(`${ws}/cloudevents`, KEYS.two);
    await two.subscribe(`up.server.${S2}.>`);
    const ops = await CeClient.connect(`${ws}/cloudevents`, KEYS.ops);
    const next = structuredClone(raw);
    next.clients = next.clients.filter((c: { name: string }) => c.name !== 'two');
    next.clients.push({ name: 'newbie', key: 'ptlc_process_newbie_key', grants: [{ upstream: 'up', resources: [S2], permissions: [] }] });
    next.limits.maxConnectionsPerAddress = 2;
    write(next);
    process.kill(b.child.pid!, 'SIGHUP');
    const line = await nth(b, 1, reloadedLines('applied'), 'config reloaded');
    assert.equal(line.closedSessions, 1);
    assert.deepEqual(await two.closed, { code: 4403, reason: 'forbidden: grant withdrawn' });
    await assert.rejects(CeClient.connect(`${ws}/cloudevents`, KEYS.two), (e: { status?: number }) => e.status === 401);
    const newbie = await CeClient.connect(`${ws}/cloudevents`, 'ptlc_process_newbie_key');
    await newbie.subscribe(`up.server.${S2}.>`);
    // ops and newbie hold the two connections the new limit allows.
    await assert.rejects(CeClient.connect(`${ws}/cloudevents`, KEYS.ops), (e: { status?: number }) => e.status === 429);
    newbie.close();
    ops.close();
    assert.equal(await reloadCount(url, 'applied'), 1);
    raw = next;
  });

  test('a change that takes a restart is refused, naming the keys; a file that does not load is invalid; the relay serves on', async () => {
    const next = structuredClone(raw);
    next.http.port = 1;
    next.listeners[0].path = '/wings/:server';
    write(next);
    process.kill(b.child.pid!, 'SIGHUP');
    const refused = await nth(b, 1, reloadedLines('refused'), 'config reload refused');
    assert.deepEqual(refused.refused, ['/http/port', '/listeners/0/path']);
    assert.match(String(refused.msg), /\/http\/port, \/listeners\/0\/path cannot change while the relay runs/);

    writeFileSync(b.file, '{ "clients": [ }');
    process.kill(b.child.pid!, 'SIGHUP');
    const invalid = await nth(b, 1, reloadedLines('invalid'), 'config reload invalid');
    assert.equal(invalid.level, 'error');
    assert.deepEqual((invalid.issues as { path: string }[]).map((i) => i.path), ['']);

    assert.equal((await getFresh(`${url}/healthz`)).status, 200);
    assert.equal(await reloadCount(url, 'refused'), 1);
    assert.equal(await reloadCount(url, 'invalid'), 1);
    const c = await CeClient.connect(`${url.replace(/^http/, 'ws')}/cloudevents`, 'ptlc_process_newbie_key');
    c.close();
  });

  test('bridge reload --config F --pid-file P sends SIGHUP; a config that does not check sends nothing', async () => {
    write(raw);
    const ok = await cli(['reload', '--config', b.file, '--pid-file', b.pidFile!]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`^sent SIGHUP to the relay, process ${b.child.pid} \\(from ${b.pidFile!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    await nth(b, 2, reloadedLines('applied'), 'the second config reloaded');

    writeFileSync(b.file, JSON.stringify({ ...raw, limits: { ...raw.limits, nope: 1 } }));
    const bad = await cli(['reload', '--config', b.file, '--pid-file', b.pidFile!]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\/limits\/nope: .*unexpected property/i);
    assert.match(bad.stderr, /nothing was sent/);
    assert.equal(await reloadCount(url, 'applied'), 2, 'no reload happened');
    write(raw);
  });
});

describe('bridge reload finds the relay through the default pid file', () => {
  test('written at start under $TMPDIR from the config path, used by bridge reload, removed at exit', async () => {
    const raw = multiConfig();
    raw.log.level = 'info';
    const b = startBridgeProcess(raw, [], { pidFile: 'default' });
    try {
      await started(b);
      const pidFile = defaultPidFile(b.file);
      const said = await b.waitLog((l) => typeof l.msg === 'string' && l.msg.startsWith('pid file written'), 15_000, 'pid file written');
      assert.deepEqual([said.path, said.pid], [pidFile, b.child.pid]);
      assert.equal(readFileSync(pidFile, 'utf8').split('\n')[0], String(b.child.pid));
      const r = await cli(['reload', '--config', b.file]);
      assert.equal(r.code, 0, r.stderr);
      await b.waitLog((l) => l.msg === 'config reloaded', 15_000, 'config reloaded');
      b.child.kill('SIGTERM');
      await b.exited;
      assert.equal(existsSync(pidFile), false, 'removed when the relay exits');
      const gone = await cli(['reload', '--config', b.file]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /^bridge: no pid file .*: is a relay running with this config\? \(or give --pid N\)\n$/);
    } finally {
      b.kill();
    }
  });
});

describe('TLS certificate files are read again on SIGHUP', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bridge-reload-tls-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function makeCert(name: string): string {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`,
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`)], { stdio: 'ignore' });
    return new X509Certificate(readFileSync(join(dir, `${name}.crt`))).fingerprint256;
  }
  function install(name: string): void {
    copyFileSync(join(dir, `${name}.crt`), join(dir, 'live.crt'));
    copyFileSync(join(dir, `${name}.key`), join(dir, 'live.key'));
  }
  function served(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256);
        s.end();
      });
      s.on('error', reject);
    });
  }

  test('a renewed certificate is served to new connections after SIGHUP, with no restart', async () => {
    const a = makeCert('a');
    const b2 = makeCert('b');
    install('a');
    const raw = multiConfig();
    raw.log.level = 'info';
    raw.http.tls = { cert: { file: join(dir, 'live.crt') }, key: { file: join(dir, 'live.key') } };
    const b = startBridgeProcess(raw);
    try {
      const port = Number(new URL(await started(b)).port);
      assert.equal(await served(port), a);
      install('b');
      process.kill(b.child.pid!, 'SIGHUP');
      const line = await b.waitLog((l) => l.msg === 'config reloaded', 15_000, 'config reloaded');
      assert.equal(line.tls, true);
      assert.equal(await served(port), b2);
    } finally {
      b.kill();
    }
  });
});
