/**
 * Issue 12: refused logins left no log line. A wrong key at an upgrade, at a token or ticket
 * endpoint, or in a session's auth frame was only counted in bridge_auth_failures_total, so an
 * operator could not tell who was refused, where, or why. Now each is a `authentication failed`
 * line with the dialect, the listener, the reason and the remote address, and never the credential.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLog } from '../../src/log.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { PanelClient } from '../helpers/panel-client.ts';
import { S1, multiConfig, startMultiRelay } from '../helpers/reload-config.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const WRONG = 'ptlc_refused_login_wrong_key_42';

test('every refused login is a line naming where and why, without the key', async () => {
  const raw: string[] = [];
  const config = multiConfig();
  config.log.level = 'info';
  const relay = await startMultiRelay(config, { log: createLog('info', {}, (l) => void raw.push(l)) });
  const ws = relay.url.replace(/^http/, 'ws');
  const failed = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'authentication failed');
  try {
    await assert.rejects(CeClient.connect(`${ws}/cloudevents`, WRONG));
    await eventually(() => failed().some((l) => l.dialect === 'cloudevents' && l.status === 401), 3000, 'the refused upgrade');

    assert.equal((await fetch(`${relay.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${WRONG}` } })).status, 401);
    await eventually(() => failed().some((l) => l.dialect === 'wings' && l.status === 401), 3000, 'the refused token request');

    const panel = await PanelClient.connect(`${ws}/server/events`);
    panel.send('AUTHENTICATE', { sessionId: WRONG });
    await panel.closed;
    await eventually(() => failed().some((l) => l.dialect === 'panel' && l.reason === 'invalid_session'), 3000, 'the refused AUTHENTICATE');

    const wings = await WingsClient.connect(`${ws}/api/servers/${S1}/ws`);
    wings.send('auth', ['not-a-jwt']);
    await eventually(() => failed().some((l) => l.dialect === 'wings' && l.conn !== undefined), 3000, 'the refused Wings token');
    wings.close();

    for (const l of failed()) {
      assert.equal(l.address, '127.0.0.1');
      assert.equal(typeof l.listener, 'string');
    }
    assert.equal(raw.join('').includes(WRONG), false, 'the key is never logged');
  } finally {
    await relay.stop(500);
  }
});
