/**
 * Issue 12: SIGHUP ended the relay. Node's default action for SIGHUP is to exit, and nothing
 * handled it, so `kill -HUP` (the usual way to ask a daemon to reload) or a closed terminal took
 * every dashboard down. Now SIGHUP reloads the config and the relay keeps serving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getFresh, startBridgeProcess } from '../helpers/bridge-process.ts';
import { multiConfig } from '../helpers/reload-config.ts';

test('SIGHUP reloads the config; the relay keeps running and serving', async () => {
  const raw = multiConfig();
  raw.log.level = 'info';
  const b = startBridgeProcess(raw);
  try {
    const listening = await b.waitLog((l) => l.msg === 'relay listening', 60_000, 'relay listening');
    process.kill(b.child.pid!, 'SIGHUP');
    const outcome = await Promise.race([
      b.exited.then((e) => `exited (${e.signal ?? e.code})`),
      b.waitLog((l) => l.msg === 'config reloaded', 15_000, 'config reloaded').then(() => 'reloaded'),
    ]);
    assert.equal(outcome, 'reloaded');
    assert.equal((await getFresh(`${String(listening.url)}/healthz`)).status, 200);
  } finally {
    b.kill();
  }
});
