/**
 * Issue 9, defect 10 (Host header): without `http.publicUrl` the Wings token endpoint put the
 * caller's Host header into the token's `iss`/`aud` and its socket URL, whatever it said. Now
 * `http.allowedHosts` refuses any other Host with 421 (probes excepted), a malformed Host gets
 * 400, and a relay with neither setting warns once at start.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { peekJwt } from '../../src/auth/jwt.ts';
import type { Log } from '../../src/contracts.ts';
import { ADMIN_KEY, S1, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { rawRequest, upgradeHeaders } from '../helpers/raw-http.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const TOKEN_PATH = `/api/client/servers/${S1}/websocket`;

function get(harness: Harness, path: string, host: string, extra = '') {
  return rawRequest(harness.relay.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close${extra}`);
}

function recordingLog(): Log & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('http.allowedHosts', () => {
  test('a token is only issued for a listed Host; others get 421', async () => {
    h = await startHarness({ http: { allowedHosts: ['relay.example', 'localhost:9000'] } });
    const auth = `\r\nAuthorization: Bearer ${ADMIN_KEY}`;

    const evil = await get(h, TOKEN_PATH, 'evil.example', auth);
    assert.equal(evil.status, 421);
    assert.deepEqual(JSON.parse(evil.body), { error: 'host not served here', code: 'BRIDGE_ERR_HOST_NOT_ALLOWED' });
    assert.equal((await get(h, TOKEN_PATH, 'localhost:9001', auth)).status, 421, 'a listed host:port matches that port only');

    const ok = await get(h, TOKEN_PATH, 'relay.example:8443', auth);
    assert.equal(ok.status, 200);
    const { token, socket } = JSON.parse(ok.body).data;
    assert.equal(peekJwt(token)?.iss, 'http://relay.example:8443');
    assert.ok(socket.startsWith('ws://relay.example:8443/'));
    assert.equal((await get(h, TOKEN_PATH, 'localhost:9000', auth)).status, 200);
  });

  test('upgrades with an unlisted Host get 421; probes answer any Host', async () => {
    h = await startHarness({ http: { allowedHosts: ['relay.example'] } });
    const upgrade = await rawRequest(h.relay.port, `GET /api/servers/${S1}/ws HTTP/1.1\r\n${upgradeHeaders('evil.example')}`);
    assert.equal(upgrade.status, 421);
    assert.equal(JSON.parse(upgrade.body).code, 'BRIDGE_ERR_HOST_NOT_ALLOWED');
    for (const probe of ['/healthz', '/readyz', '/metrics']) {
      assert.equal((await get(h, probe, '10.1.2.3:8080')).status, 200, probe);
    }
    const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_http_refused_total\{kind="upgrade",code="BRIDGE_ERR_HOST_NOT_ALLOWED"\} 1/);
  });

  test('a malformed Host gets 400, with or without allowedHosts', async () => {
    h = await startHarness();
    for (const host of ['evil.example/x', 'a@b', 'x:99999', '[zz]']) {
      const res = await get(h, TOKEN_PATH, host, `\r\nAuthorization: Bearer ${ADMIN_KEY}`);
      assert.equal(res.status, 400, host);
      assert.equal(JSON.parse(res.body).code, 'BRIDGE_ERR_BAD_REQUEST');
    }
  });
});

describe('the start-up warning', () => {
  const warned = (log: ReturnType<typeof recordingLog>) => log.lines.filter((l) => l.level === 'warn' && /Host header/.test(l.msg));

  test('neither publicUrl nor allowedHosts: one warning naming the fix', async () => {
    const log = recordingLog();
    h = await startHarness({ log });
    const lines = warned(log);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!.msg, /http\.publicUrl/);
    assert.match(lines[0]!.msg, /http\.allowedHosts/);
  });

  test('with publicUrl, or with allowedHosts: no warning', async () => {
    const withUrl = recordingLog();
    h = await startHarness({ log: withUrl, http: { publicUrl: 'https://relay.example' } });
    assert.equal(warned(withUrl).length, 0);
    await h.stop();
    const withHosts = recordingLog();
    h = await startHarness({ log: withHosts, http: { allowedHosts: ['relay.example'] } });
    assert.equal(warned(withHosts).length, 0);
  });
});
