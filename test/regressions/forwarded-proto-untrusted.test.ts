/**
 * Without `http.publicUrl`, the Wings token endpoint took the scheme of the token's `iss` and socket
 * URL from X-Forwarded-Proto whoever sent it, so any client could name it. Now the header counts
 * only when the TCP peer is one of `http.trustedProxies`.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { peekJwt } from '../../src/auth/jwt.ts';
import { ADMIN_KEY, S1, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { rawRequest } from '../helpers/raw-http.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function mint(harness: Harness, proto: string): Promise<{ iss: string | undefined; socket: string }> {
  const res = await rawRequest(
    harness.relay.port,
    `GET /api/client/servers/${S1}/websocket HTTP/1.1\r\nHost: relay.example\r\nConnection: close\r\nAuthorization: Bearer ${ADMIN_KEY}\r\nX-Forwarded-Proto: ${proto}`,
  );
  assert.equal(res.status, 200, res.body);
  const { token, socket } = JSON.parse(res.body).data;
  return { iss: peekJwt(token)?.iss, socket };
}

describe('X-Forwarded-Proto', () => {
  test('from a peer that is not a trusted proxy it is ignored', async () => {
    h = await startHarness({ http: { allowedHosts: ['relay.example'] } });
    const got = await mint(h, 'https');
    assert.equal(got.iss, 'http://relay.example');
    assert.ok(got.socket.startsWith('ws://relay.example/'), got.socket);
  });

  test('from a trusted proxy it sets the scheme', async () => {
    h = await startHarness({ http: { allowedHosts: ['relay.example'], trustedProxies: ['127.0.0.1', '::1'] } });
    const got = await mint(h, 'https');
    assert.equal(got.iss, 'https://relay.example');
    assert.ok(got.socket.startsWith('wss://relay.example/'), got.socket);
    const plain = await mint(h, 'http');
    assert.equal(plain.iss, 'http://relay.example');
  });
});
