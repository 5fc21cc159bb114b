/**
 * src/config/load.ts (DESIGN §9, STYLE rule 5): defaults, deep freeze, every error with its JSON
 * path (unknown keys included), cross-references, secrets, and the generated schema file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfigFile, validateConfig, type ConfigIssue, type LoadOptions } from '../../src/config/load.ts';
import { schemaText } from '../../src/config/schema-file.ts';
import type { BridgeConfig } from '../../src/config/schema.ts';
import { ADAPTERS } from '../../src/registry.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'bridge-config-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

type Json = Record<string, any>;

/** A small valid config: one simulator-backed wings upstream, one listener, one client. */
function base(): Json {
  return {
    clients: [{ name: 'c', key: 'client-key', grants: [{ upstream: 'u' }] }],
    simulators: [{ name: 'sim', protocol: 'wings' }],
    upstreams: [{ name: 'u', protocol: 'wings', simulator: 'sim', servers: ['s1'] }],
    listeners: [{ dialect: 'wings', upstreams: ['u'], jwtSecret: 'listener-secret' }],
  };
}

function load(raw: unknown, options: LoadOptions = {}): BridgeConfig {
  return validateConfig(raw, ADAPTERS, 'test', { env: {}, baseDir: TMP, ...options });
}

/** The ConfigError `fn` throws (fails the test if it throws anything else, or nothing). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.ok(err.issues.length > 0, 'a ConfigError lists at least one issue');
    return err;
  }
  assert.fail('expected a ConfigError, nothing was thrown');
}

function issuesOf(raw: unknown, options: LoadOptions = {}): readonly ConfigIssue[] {
  return configError(() => load(raw, options)).issues;
}

function assertIssue(issues: readonly ConfigIssue[], path: string, message?: RegExp): void {
  const at = issues.filter((i) => i.path === path);
  const list = issues.map((i) => `${i.path}: ${i.message}`).join('\n  ');
  assert.ok(at.length > 0, `no issue at ${path}; issues:\n  ${list}`);
  if (message) assert.ok(at.some((i) => message.test(i.message)), `no issue at ${path} matching ${message}; issues:\n  ${list}`);
}

function isDeepFrozen(v: unknown, path = ''): string | null {
  if (typeof v !== 'object' || v === null) return null;
  if (!Object.isFrozen(v)) return path || '/';
  for (const [k, child] of Object.entries(v)) {
    const bad = isDeepFrozen(child, `${path}/${k}`);
    if (bad) return bad;
  }
  return null;
}

describe('the repository config', () => {
  test('bridge.config.json loads with defaults applied', () => {
    const cfg = loadConfigFile(join(ROOT, 'bridge.config.json'), ADAPTERS, { env: {} });
    assert.equal(cfg.http.port, 8080, 'explicit http.port kept');
    assert.equal(cfg.http.host, '0.0.0.0');
    assert.equal(cfg.http.shutdownGraceMs, 10000);
    assert.equal(cfg.limits.writeQueueBytes, 1048576);
    assert.equal(cfg.limits.maxPayloadBytes, 65536);
    assert.equal(cfg.bus.kind, 'memory');
    assert.equal(cfg.bus.prefix, 'bridge');
    assert.equal(cfg.log.level, 'info');
    assert.match(cfg.node.id, /^[A-Za-z0-9_-]{1,64}$/, 'node id defaults to a valid name');
    assert.equal('$schema' in cfg, false, '$schema is dropped');
    assert.ok(cfg.upstreams.length >= 1 && cfg.listeners.length >= 1);
    for (const l of cfg.listeners) assert.match(l.path, /^\//);
  });

  test('the checked-in bridge.config.schema.json is current', () => {
    const onDisk = readFileSync(join(ROOT, 'bridge.config.schema.json'), 'utf8');
    assert.ok(onDisk === schemaText(), 'bridge.config.schema.json is stale: run `npm run schema`');
  });
});

describe('defaults and freezing', () => {
  test('defaults fill every section of a minimal config', () => {
    const cfg = load(base());
    assert.equal(cfg.http.port, 8080);
    assert.equal(cfg.limits.writeQueueBytes, 1048576);
    assert.equal(cfg.limits.backoffMultiplier, 2);
    assert.deepEqual(cfg.bus.servers, ['nats://127.0.0.1:4222']);
    assert.deepEqual(cfg.clients[0]!.grants[0], { upstream: 'u', resources: ['*'], permissions: ['*'] });
    assert.equal(cfg.simulators[0]!.host, '127.0.0.1');
    assert.equal(cfg.simulators[0]!.port, 0);
    assert.equal(cfg.upstreams[0]!.authTimeoutMs, 30000, 'protocol-specific defaults applied');
  });

  test('explicit values are kept over defaults', () => {
    const raw = base();
    raw.http = { port: 9999 };
    raw.limits = { writeQueueBytes: 4096 };
    const cfg = load(raw);
    assert.equal(cfg.http.port, 9999);
    assert.equal(cfg.http.host, '0.0.0.0');
    assert.equal(cfg.limits.writeQueueBytes, 4096);
  });

  test('listener name and path default from the dialect and position', () => {
    const raw = base();
    raw.listeners.push({ dialect: 'wings', path: '/other/:server/ws', tokenEndpoint: '/other/:server/token', upstreams: ['u'], jwtSecret: 'x' });
    const cfg = load(raw);
    const wings = ADAPTERS.find((a) => a.protocol === 'wings')!;
    assert.equal(cfg.listeners[0]!.name, 'wings-0');
    assert.equal(cfg.listeners[0]!.path, wings.defaultPath);
    assert.equal(cfg.listeners[0]!.path, '/api/servers/:server/ws');
    assert.equal(cfg.listeners[1]!.name, 'wings-1');
    assert.equal(cfg.listeners[1]!.path, '/other/:server/ws');
  });

  test('node.id is kept when given', () => {
    const raw = base();
    raw.node = { id: 'node-7' };
    assert.equal(load(raw).node.id, 'node-7');
  });

  test('the result is deep-frozen and assignment throws', () => {
    const cfg = load(base());
    assert.equal(isDeepFrozen(cfg), null, `not frozen at ${isDeepFrozen(cfg)}`);
    assert.throws(() => {
      (cfg.http as Json).port = 1;
    }, TypeError);
    assert.throws(() => {
      (cfg.listeners[0]!.upstreams as string[]).push('x');
    }, TypeError);
    assert.throws(() => {
      (cfg.clients[0]!.grants[0]!.permissions as string[])[0] = 'admin.*';
    }, TypeError);
    assert.throws(() => {
      (cfg as Json).extra = 1;
    }, TypeError);
    assert.equal(cfg.http.port, 8080);
  });

  test('the input object is neither mutated nor frozen', () => {
    const raw = base();
    const before = JSON.stringify(raw);
    load(raw);
    assert.equal(JSON.stringify(raw), before);
    assert.equal(Object.isFrozen(raw), false);
    assert.equal(Object.isFrozen(raw.listeners[0]), false);
  });
});

describe('errors with JSON paths', () => {
  test('a non-object config is one error at the root', () => {
    for (const raw of [null, 5, 'x', []]) {
      const issues = issuesOf(raw);
      assert.deepEqual(issues.map((i) => i.path), ['']);
    }
  });

  test('unknown keys are errors at every level, with their paths', () => {
    const raw = base();
    raw.prt = 1;
    raw.http = { prt: 8080 };
    raw.upstreams[0].panelUrll = 'http://panel';
    raw.listeners[0].foo = true;
    raw.clients[0].grants[0].x = 1;
    raw.simulators[0].colour = 'red';
    raw.limits = { writeQueueByte: 1 };
    const issues = issuesOf(raw);
    for (const path of ['/prt', '/http/prt', '/upstreams/0/panelUrll', '/listeners/0/foo', '/clients/0/grants/0/x', '/simulators/0/colour', '/limits/writeQueueByte']) {
      assertIssue(issues, path, /unexpected property/i);
    }
  });

  test('many errors are reported at once, and the message names every path', () => {
    const raw = base();
    raw.bogus = 1;
    raw.http = { port: 'x' };
    raw.bus = { kind: 'redis' };
    raw.limits = { writeQueueBytes: -1 };
    raw.upstreams.push({ name: 'v', protocol: 'mqtt', servers: ['a'] });
    raw.listeners[0].upstreams.push('nope');
    raw.clients[0].grants.push({ upstream: 'ghost' });
    const err = configError(() => load(raw));
    const expected = ['/bogus', '/http/port', '/bus/kind', '/limits/writeQueueBytes', '/upstreams/1/protocol', '/listeners/0/upstreams/1', '/clients/0/grants/1/upstream'];
    for (const path of expected) {
      assertIssue(err.issues, path);
      assert.ok(err.message.includes(`${path}:`), `message lacks ${path}:\n${err.message}`);
    }
    assert.ok(err.issues.length >= expected.length);
    assert.match(err.message, /^test: \d+ configuration error/);
  });

  test('wrong types are reported with their paths', () => {
    const raw = base();
    raw.http = { port: 'x', host: 5 };
    raw.bus = { historyLimit: 0, servers: 'nats://x' };
    raw.limits = { backoffMultiplier: '2', maxPayloadBytes: 1.5 };
    raw.log = { level: 'loud' };
    raw.upstreams[0].servers = 'abc';
    raw.listeners[0].tokenTtlSeconds = 'long';
    const issues = issuesOf(raw);
    assertIssue(issues, '/http/port', /integer/i);
    assertIssue(issues, '/http/host', /string/i);
    assertIssue(issues, '/bus/historyLimit');
    assertIssue(issues, '/bus/servers', /array/i);
    assertIssue(issues, '/limits/backoffMultiplier', /number/i);
    assertIssue(issues, '/limits/maxPayloadBytes', /integer/i);
    assertIssue(issues, '/log/level');
    assertIssue(issues, '/upstreams/0/servers', /array/i);
    assertIssue(issues, '/listeners/0/tokenTtlSeconds', /integer/i);
  });

  test('a non-object list item is an error at its path', () => {
    const raw = base();
    raw.upstreams.push(7);
    raw.listeners.push('x');
    const issues = issuesOf(raw);
    assertIssue(issues, '/upstreams/1', /object/i);
    assertIssue(issues, '/listeners/1', /object/i);
  });

  test('a scalar where an array belongs is an error at its path', () => {
    const raw = base();
    raw.clients = 'c';
    raw.listeners[0].allowedOrigins = 'https://a.example';
    const issues = issuesOf(raw);
    assertIssue(issues, '/clients', /array/i);
    assertIssue(issues, '/listeners/0/allowedOrigins', /array/i);
  });

  // Regression (found in review; src/config/load.ts line 134 `Value.Default(CoreSchema, structuredClone(raw))`, and line 75
  // for items): TypeBox's Value.Default merges an object value into an array default with
  // Object.assign (arrays count as objects), so an object written where an array with a default
  // belongs is silently replaced by the default and passes validation. `"clients": {"name":…}`
  // loads as zero clients, `"grants": {…}` as no grants, and `"allowedOrigins": {…}` as the
  // default ["*"] (any origin) — the opposite of what was meant, with no error.
  test('regression: an object where an array belongs is an error, not silently the default', () => {
    const raw = base();
    raw.clients = { name: 'c', key: 'k' };
    raw.listeners[0].allowedOrigins = { origin: 'https://only.example' };
    const result = (() => {
      try {
        const cfg = load(raw);
        return `accepted: clients=${JSON.stringify(cfg.clients)} allowedOrigins=${JSON.stringify(cfg.listeners[0]!.allowedOrigins)}`;
      } catch (err) {
        return err as ConfigError;
      }
    })();
    assert.ok(result instanceof ConfigError, typeof result === 'string' ? result : String(result));
    assertIssue(result.issues, '/clients', /array/i);
    assertIssue(result.issues, '/listeners/0/allowedOrigins', /array/i);
  });

  test('an unknown protocol or dialect names the known ones', () => {
    const raw = base();
    raw.upstreams.push({ name: 'v', protocol: 'mqtt' });
    raw.listeners.push({ dialect: 'socketio', path: '/x', upstreams: ['u'] });
    raw.simulators.push({ name: 's2', protocol: 'nope' });
    const issues = issuesOf(raw);
    for (const [path, word] of [['/upstreams/1/protocol', 'mqtt'], ['/listeners/1/dialect', 'socketio'], ['/simulators/1/protocol', 'nope']] as const) {
      assertIssue(issues, path, new RegExp(`unknown .*${word}`));
      const msg = issues.find((i) => i.path === path)!.message;
      for (const a of ADAPTERS) assert.ok(msg.includes(a.protocol), `${path} message should name ${a.protocol}: ${msg}`);
    }
  });

  test('a missing protocol is an unknown-protocol error, not a crash', () => {
    const raw = base();
    delete raw.upstreams[0].protocol;
    assertIssue(issuesOf(raw), '/upstreams/0/protocol');
  });

  test('a listener referencing a missing upstream', () => {
    const raw = base();
    raw.listeners[0].upstreams = ['u', 'missing'];
    assertIssue(issuesOf(raw), '/listeners/0/upstreams/1', /missing/);
  });

  test('a grant referencing a missing upstream; * is allowed', () => {
    const raw = base();
    raw.clients[0].grants = [{ upstream: '*' }, { upstream: 'ghost' }];
    const issues = issuesOf(raw);
    assertIssue(issues, '/clients/0/grants/1/upstream', /ghost/);
    assert.equal(issues.some((i) => i.path.startsWith('/clients/0/grants/0')), false);
  });

  test('duplicate names and paths', () => {
    const raw = base();
    raw.upstreams.push({ name: 'u', protocol: 'wings', simulator: 'sim', servers: ['s2'] });
    raw.clients.push({ name: 'c', key: 'other' });
    raw.listeners.push({ dialect: 'wings', upstreams: ['u'], jwtSecret: 'x' });
    raw.simulators.push({ name: 'sim', protocol: 'wings' });
    const issues = issuesOf(raw);
    assertIssue(issues, '/upstreams/1/name', /duplicate/);
    assertIssue(issues, '/clients/1/name', /duplicate/);
    assertIssue(issues, '/listeners/1/path', /collides with WebSocket path \/api\/servers\/:server\/ws \(\/listeners\/0\/path\)/);
    assertIssue(issues, '/simulators/1/name', /duplicate/);
  });

  test('a wings upstream without a simulator needs panelUrl and apiKey', () => {
    const raw = base();
    delete raw.upstreams[0].simulator;
    const issues = issuesOf(raw);
    assertIssue(issues, '/upstreams/0/panelUrl', /required/);
    assertIssue(issues, '/upstreams/0/apiKey', /required/);

    raw.upstreams[0].panelUrl = 'https://panel.example';
    raw.upstreams[0].apiKey = { env: 'PANEL_KEY' };
    const cfg = load(raw, { env: { PANEL_KEY: 'ptlc_x' } });
    assert.equal(cfg.upstreams[0]!.apiKey, 'ptlc_x');
    assert.equal(cfg.upstreams[0]!.panelUrl, 'https://panel.example');
  });

  test('a reference to a missing simulator', () => {
    const raw = base();
    raw.upstreams[0].simulator = 'nosuch';
    assertIssue(issuesOf(raw), '/upstreams/0/simulator', /nosuch/);
  });

  // Regression (found in review; src/config/load.ts line 188 `node.id ??= …`, and lines 154/170 which read `.name`/`.grants`
  // of every client): a wrong-typed `node` or a `null` client makes validateConfig throw a
  // TypeError ("Cannot create property 'id' on string 'x'", "Cannot read properties of null
  // (reading 'name')") instead of a ConfigError listing the issue with its path.
  test('regression: a wrong-typed node or a null client is a ConfigError, not a TypeError', () => {
    const cases: [Json, string][] = [
      [{ ...base(), node: 'x' }, '/node'],
      [{ ...base(), node: 5 }, '/node'],
      [{ ...base(), clients: [null] }, '/clients/0'],
    ];
    for (const [raw, path] of cases) assertIssue(issuesOf(raw), path);
  });

  // Regression (found in review; minor; src/config/load.ts lines 135 and 76): upstream/listener/simulator items are checked
  // twice, by the loose item schema inside CoreSchema and again by the protocol's schema, so the
  // same issue is listed twice (e.g. `/upstreams/0/name: Expected string to match …` ×2,
  // `/upstreams/0: Expected object` ×2).
  test('regression: no issue is reported twice', () => {
    const raw = base();
    raw.upstreams[0].name = 'bad name';
    raw.listeners[0].upstreams = 'u';
    raw.upstreams.push(null);
    const issues = issuesOf(raw);
    const seen = new Set<string>();
    for (const i of issues) {
      const key = `${i.path}: ${i.message}`;
      assert.ok(!seen.has(key), `reported twice: ${key}`);
      seen.add(key);
    }
  });
});

describe('secrets', () => {
  test('{"env"} is resolved from the given environment', () => {
    const raw = base();
    raw.clients[0].key = { env: 'CLIENT_KEY' };
    raw.listeners[0].jwtSecret = { env: 'JWT' };
    const cfg = load(raw, { env: { CLIENT_KEY: 'from-env', JWT: 'jwt-from-env' } });
    assert.equal(cfg.clients[0]!.key, 'from-env');
    assert.equal(cfg.listeners[0]!.jwtSecret, 'jwt-from-env');
  });

  test('a missing or empty env var is an error at its path, naming the variable', () => {
    const raw = base();
    raw.clients[0].key = { env: 'NOT_SET' };
    raw.listeners[0].jwtSecret = { env: 'EMPTY' };
    const issues = issuesOf(raw, { env: { EMPTY: '' } });
    assertIssue(issues, '/clients/0/key', /NOT_SET/);
    assertIssue(issues, '/listeners/0/jwtSecret', /EMPTY/);
  });

  test('{"file"} is read relative to baseDir with the trailing newline trimmed', () => {
    const dir = join(TMP, 'file-secret');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'secret.txt'), 'file-secret-value\n');
    writeFileSync(join(dir, 'crlf.txt'), 'crlf-value\r\n');
    const raw = base();
    raw.clients[0].key = { file: 'secret.txt' };
    raw.listeners[0].jwtSecret = { file: 'crlf.txt' };
    const cfg = load(raw, { baseDir: dir });
    assert.equal(cfg.clients[0]!.key, 'file-secret-value');
    assert.equal(cfg.listeners[0]!.jwtSecret, 'crlf-value');
  });

  test('an unreadable secret file is an error at its path', () => {
    const raw = base();
    raw.clients[0].key = { file: 'does-not-exist.txt' };
    raw.listeners[0].jwtSecret = { file: '.' }; // a directory: EISDIR
    const issues = issuesOf(raw);
    assertIssue(issues, '/clients/0/key', /does-not-exist\.txt.*ENOENT/);
    assertIssue(issues, '/listeners/0/jwtSecret', /cannot read/);
  });

  test('secret values never appear in error messages', () => {
    const dir = join(TMP, 'no-leak');
    mkdirSync(dir, { recursive: true });
    const SECRETS = {
      env: 'env-SECRET-aaaa1111',
      file: 'file-SECRET-bbbb2222',
      inline: 'inline-SECRET-cccc3333',
      api: 'api-SECRET-dddd4444',
      misplaced: 'misplaced-SECRET-eeee5555',
    };
    writeFileSync(join(dir, 'jwt.txt'), `${SECRETS.file}\n`);
    const raw = base();
    raw.clients[0].key = { env: 'K' };
    raw.clients.push({ name: 'c', key: SECRETS.inline, grants: [{ upstream: 'ghost' }] }); // duplicate name, bad grant
    raw.listeners[0].jwtSecret = { file: 'jwt.txt' };
    raw.listeners[0].jwtSecretTypo = SECRETS.inline; // unknown key holding a secret
    raw.upstreams.push({ name: 'w', protocol: 'wings', servers: ['x'], apiKey: { env: 'API' } }); // no panelUrl
    raw.http = { host: { env: 'MISPLACED' } }; // a secret object where a plain string belongs
    raw.bus = { token: { env: 'K' }, password: { env: 'UNSET' }, kind: 'nats' };
    const err = configError(() => load(raw, { baseDir: dir, env: { K: SECRETS.env, API: SECRETS.api, MISPLACED: SECRETS.misplaced } }));
    assertIssue(err.issues, '/bus/password', /UNSET/);
    assertIssue(err.issues, '/upstreams/1/panelUrl');
    const everything = `${err.message}\n${err.stack}\n${JSON.stringify(err.issues)}`;
    for (const [kind, value] of Object.entries(SECRETS)) {
      assert.equal(everything.includes(value), false, `${kind} secret leaked into the error:\n${err.message}`);
    }
  });
});

describe('loadConfigFile', () => {
  test('reads the file and resolves {"file"} secrets next to it', () => {
    const dir = join(TMP, 'load');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'jwt.txt'), 'jwt-in-file\n');
    const raw = base();
    raw.listeners[0].jwtSecret = { file: 'jwt.txt' };
    writeFileSync(join(dir, 'bridge.json'), JSON.stringify(raw));
    const cfg = loadConfigFile(join(dir, 'bridge.json'), ADAPTERS, { env: {} });
    assert.equal(cfg.listeners[0]!.jwtSecret, 'jwt-in-file');
  });

  test('a file that is not JSON is one error at the root, naming the file', () => {
    for (const text of ['not json', '', '{"http": {"port": 80,}}']) {
      const file = join(TMP, 'bad.json');
      writeFileSync(file, text);
      const err = configError(() => loadConfigFile(file, ADAPTERS, { env: {} }));
      assert.deepEqual(err.issues.map((i) => i.path), ['']);
      assert.match(err.issues[0]!.message, /not valid JSON/);
      assert.ok(err.message.startsWith(file), err.message);
    }
  });

  test('a missing file is one error at the root', () => {
    const file = join(TMP, 'nope', 'missing.json');
    const err = configError(() => loadConfigFile(file, ADAPTERS, { env: {} }));
    assert.deepEqual(err.issues.map((i) => i.path), ['']);
    assert.match(err.issues[0]!.message, /cannot read: ENOENT/);
    assert.ok(err.message.includes(file));
  });

  test('errors of a file config are reported like validateConfig errors', () => {
    const file = join(TMP, 'typo.json');
    const raw = base();
    raw.http = { prt: 1 };
    writeFileSync(file, JSON.stringify(raw));
    const err = configError(() => loadConfigFile(file, ADAPTERS, { env: {} }));
    assertIssue(err.issues, '/http/prt');
  });

  // Regression (found in review; src/config/load.ts line 207): the JSON.parse message is copied into the ConfigError, and
  // V8's message quotes ~10 characters either side of the syntax error (`Unexpected token 'p',
  // ..."a","key": ptlc_unquo"... is not valid JSON`). A key pasted without quotes is therefore printed by `bridge check` and
  // logged, against DESIGN §10 ("secrets never appear in logs, metrics or errors").
  test('regression: a JSON syntax error does not echo file text (which may hold a secret)', () => {
    const secret = 'ptlc_unquotedSECRET9876';
    const file = join(TMP, 'leak.json');
    writeFileSync(file, `{"clients":[{"name":"a","key": ${secret}}]}`);
    const err = configError(() => loadConfigFile(file, ADAPTERS, { env: {} }));
    // V8 quotes ~10 characters either side of the error: the secret's first characters.
    assert.equal(err.message.includes(secret.slice(0, 8)), false, `secret echoed in: ${err.message}`);
    const short = 'hunter2';
    writeFileSync(file, `{"clients":[{"name":"a","key": ${short}}]}`);
    const err2 = configError(() => loadConfigFile(file, ADAPTERS, { env: {} }));
    assert.equal(err2.message.includes(short), false, `secret echoed in: ${err2.message}`);
  });
});
