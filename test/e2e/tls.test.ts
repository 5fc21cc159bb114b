/**
 * `http.tls`: the relay serves https:// and wss:// itself. A Wings dashboard gets its token over
 * https (the socket URL it is handed is wss://) and works over wss://; Relay.reloadTls() re-reads
 * the certificate files and new connections see the new certificate while an open dashboard stays
 * connected and keeps receiving; a pair that does not match is refused and the old one kept.
 * The certificates are self-signed, made by `openssl` in a temporary directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ConfigError, validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { TlsError } from '../../src/tls.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const S1 = '6d1c2b3a-4e5f-4a6b-9c7d-8e9f0a1b2c3d';
const KEY = 'ptlc_tls_test_key';
const dir = mkdtempSync(join(tmpdir(), 'bridge-tls-'));

/** A self-signed certificate for 127.0.0.1 and localhost: `<name>.crt` and `<name>.key`. */
function makeCert(name: string): { cert: string; key: string; fingerprint: string } {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
  ], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, `${name}.crt`), 'utf8');
  return { cert, key: readFileSync(join(dir, `${name}.key`), 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** Puts certificate `name` where the config points (`live.crt`, `live.key`). */
function install(name: string, keyOf = name): void {
  copyFileSync(join(dir, `${name}.crt`), join(dir, 'live.crt'));
  copyFileSync(join(dir, `${keyOf}.key`), join(dir, 'live.key'));
}

/** The fingerprint of the certificate a new TLS connection to the relay is shown. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

function httpsJson(url: string, ca: string[], headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS on the one port', () => {
  let a: ReturnType<typeof makeCert>;
  let b: ReturnType<typeof makeCert>;
  let relay: Relay;
  const dashboards: WingsClient[] = [];

  before(async () => {
    a = makeCert('a');
    b = makeCert('b');
    install('a');
    const config = validateConfig(
      {
        node: { id: 'tls-test' },
        http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 1000, tls: { cert: { file: 'live.crt' }, key: { file: 'live.key' } } },
        log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
        clients: [{ name: 'c', key: KEY, grants: [{ upstream: 'up' }] }],
        simulators: [{ name: 'sim', protocol: 'wings', servers: [{ uuid: S1, state: 'running' }], consoleIntervalMs: 50, statsIntervalMs: 0 }],
        upstreams: [{ name: 'up', protocol: 'wings', simulator: 'sim', servers: [S1] }],
        listeners: [{ dialect: 'wings', upstreams: ['up'], jwtSecret: 'tls-test-jwt' }],
      },
      ADAPTERS,
      'tls test config',
      { baseDir: dir },
    );
    relay = await Relay.start({ config, defaultMetrics: false });
  });
  after(async () => {
    for (const d of dashboards) d.terminate();
    await relay?.stop(500);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A Wings dashboard over wss://, trusting `ca`, authenticated with a token fetched over https. */
  async function dashboard(ca: string[]): Promise<WingsClient> {
    const res = await httpsJson(`${relay.url}/api/client/servers/${S1}/websocket`, ca, { authorization: `Bearer ${KEY}` });
    assert.equal(res.status, 200);
    const socket = res.body.data.socket as string;
    assert.ok(socket.startsWith(`wss://127.0.0.1:${relay.port}/`), socket);
    const c = await WingsClient.connect(socket, {}, { ca });
    dashboards.push(c);
    c.send('auth', [res.body.data.token]);
    await c.event('auth success', 10_000);
    return c;
  }

  test('the relay serves https:// and a wss:// Wings dashboard works', async () => {
    assert.ok(relay.url.startsWith('https://'), relay.url);
    assert.equal((await httpsJson(`${relay.url}/healthz`, [a.cert])).status, 200);
    assert.equal(await servedFingerprint(relay.port), a.fingerprint);
    const c = await dashboard([a.cert]);
    await c.event('console output', 10_000);
  });

  test('reloadTls(): new connections see the new certificate, an open dashboard stays and keeps receiving', async () => {
    const old = await dashboard([a.cert]);
    install('b');
    await relay.reloadTls();
    const seen = old.frames.length;
    assert.equal(await servedFingerprint(relay.port), b.fingerprint, 'a new connection gets the new certificate');
    const fresh = await dashboard([b.cert]);
    await fresh.event('console output', 10_000);
    // The dashboard from before the reload: still open, still fed.
    await eventually(() => old.frames.slice(seen).some((f) => f.event === 'console output'), 10_000, 'a console line on the old connection after the reload');
    assert.equal(old.ws.readyState, old.ws.OPEN);
  });

  test('a pair that does not go together is refused and the served certificate stays', async () => {
    install('a', 'b');
    await assert.rejects(relay.reloadTls(), (err: unknown) => err instanceof TlsError && /do not go together/.test(err.message));
    assert.equal(await servedFingerprint(relay.port), b.fingerprint);
    install('b');
  });
});

test('a certificate and key that do not match are a config error with its path, not a failed listen', () => {
  const d = mkdtempSync(join(tmpdir(), 'bridge-tls-config-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=x', '-keyout', join(d, 'x.key'), '-out', join(d, 'x.crt')], { stdio: 'ignore' });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=y', '-keyout', join(d, 'y.key'), '-out', join(d, 'y.crt')], { stdio: 'ignore' });
    const load = (tls: unknown) => () => validateConfig({ http: { tls } }, ADAPTERS, 'tls config', { baseDir: d });
    assert.throws(load({ cert: { file: 'x.crt' }, key: { file: 'y.key' } }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.path === '/http/tls' && /do not go together/.test(i.message)));
    assert.throws(load({ cert: { file: 'x.key' }, key: { file: 'x.key' } }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.path === '/http/tls/cert' && /no PEM certificate in .*x\.key/.test(i.message)));
    assert.throws(load({ cert: { file: 'x.crt' }, key: 'not a key' }), (err: unknown) => err instanceof ConfigError && err.issues.some((i) => i.path === '/http/tls/key' && /no PEM private key in the inline value/.test(i.message)));
    const ok = validateConfig({ http: { tls: { cert: { file: 'x.crt' }, key: { file: 'x.key' } } } }, ADAPTERS, 'tls config', { baseDir: d });
    assert.deepEqual(ok.http.tls, { cert: { file: join(d, 'x.crt') }, key: { file: join(d, 'x.key') } }, 'files stay (absolute) paths, read by the relay');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('reloadTls() on a relay without http.tls rejects', async () => {
  const relay = await Relay.start({ config: validateConfig({ http: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }, ADAPTERS), defaultMetrics: false });
  try {
    assert.ok(relay.url.startsWith('http://'));
    await assert.rejects(relay.reloadTls(), /http\.tls is not set/);
  } finally {
    await relay.stop(500);
  }
});
