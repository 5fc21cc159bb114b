/**
 * The relay's log (src/log.ts, src/log-pretty.ts): one JSON object per line with its level by
 * name, secrets redacted by path wherever they sit, errors without stacks, a level a reload can
 * change (children follow it), nothing written for a disabled level, and the human form.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, createLog, isRelayLog } from '../../src/log.ts';
import { prettyLine } from '../../src/log-pretty.ts';

function capture(level: Parameters<typeof createLog>[0] = 'info', bindings: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const log = createLog(level, bindings, (l) => void lines.push(l));
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, any>) };
}

describe('JSON lines', () => {
  test('one object per line: level by name, ISO time, bindings, fields, msg', () => {
    const { log, lines, parsed } = capture('info', { node: 'n1' });
    log.info('relay listening', { port: 8080 });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('}\n'));
    const [line] = parsed();
    assert.equal(line!.level, 'info');
    assert.equal(line!.msg, 'relay listening');
    assert.equal(line!.node, 'n1');
    assert.equal(line!.port, 8080);
    assert.ok(!Number.isNaN(Date.parse(line!.time)), line!.time);
  });

  test('secrets are redacted by path at the top, one and two objects down, and in headers', () => {
    const { log, lines, parsed } = capture();
    log.warn('hostile', {
      key: 'K-top',
      token: 'T-top',
      client: { apiKey: 'K-1', name: 'ops', ticket: 'TK-1' },
      upstream: { http: { authorization: 'Bearer A-2', password: 'P-2' } },
      headers: { authorization: 'Bearer H', cookie: 'C', accept: 'json' },
      jwtSecret: 'J',
      session: 'ptlc_session',
    });
    for (const secret of ['K-top', 'T-top', 'K-1', 'TK-1', 'A-2', 'P-2', 'Bearer H', '"C"', '"J"', 'ptlc_session']) {
      assert.equal(lines[0]!.includes(secret), false, `${secret} leaked: ${lines[0]}`);
    }
    const [line] = parsed();
    assert.equal(line!.client.apiKey, REDACTED);
    assert.equal(line!.client.name, 'ops', 'the rest stays');
    assert.equal(line!.upstream.http.password, REDACTED);
    assert.equal(line!.headers.accept, 'json');
  });

  test('an Error is its class, code and message with token-like runs cut, never its stack', () => {
    const { log, lines, parsed } = capture();
    const err = Object.assign(new Error('bad token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9abc'), { code: 'E_BAD' });
    log.error('failed', { err, error: err });
    const [line] = parsed();
    for (const k of ['err', 'error']) {
      assert.deepEqual(line![k], { name: 'Error', code: 'E_BAD', message: 'bad token [redacted]' });
    }
    assert.equal(lines[0]!.includes('at '), false, 'no stack');
  });
});

describe('levels', () => {
  test('below the level nothing is written; setLevel takes effect at once, for children too', () => {
    const { log, lines, parsed } = capture('info');
    const child = log.child({ role: 'primary' });
    log.debug('hidden', { a: 1 });
    child.debug('hidden too');
    assert.equal(lines.length, 0);
    assert.equal(log.enabled('debug'), false);
    log.setLevel('debug');
    assert.equal(log.level, 'debug');
    assert.equal(log.enabled('debug'), true);
    child.debug('shown', { a: 1 });
    log.setLevel('silent');
    log.error('gone');
    child.error('gone too');
    assert.deepEqual(parsed().map((l) => [l.msg, l.role, l.a]), [['shown', 'primary', 1]]);
    assert.ok(isRelayLog(log));
    assert.equal(isRelayLog({ debug() {}, info() {}, warn() {}, error() {} }), false);
  });
});

describe('pretty lines', () => {
  test('time, level, node, message, then the fields as key=value; not JSON, no colour unless asked', () => {
    const json = '{"level":"warn","time":"2026-12-06T09:17:08.828Z","node":"n1","limit":"maxConnections","address":"10.0.0.1","detail":"a b","n":3,"msg":"limit hit"}\n';
    assert.equal(prettyLine(json), '09:17:08.828 WARN  [n1] limit hit  limit=maxConnections address=10.0.0.1 detail="a b" n=3\n');
    assert.match(prettyLine(json, true), /\x1b\[33mWARN/);
    assert.equal(prettyLine('not json\n'), 'not json\n');
  });

  test('createLog with pretty writes the human form, redacted', () => {
    const lines: string[] = [];
    const log = createLog('info', { node: 'n1' }, (l) => void lines.push(l), { pretty: true });
    log.info('relay listening', { url: 'http://127.0.0.1:8080', token: 'secret-token' });
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  \[n1\] relay listening  url=http:\/\/127\.0\.0\.1:8080 token=\[redacted\]\n$/);
  });
});
