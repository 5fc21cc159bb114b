/**
 * An existing Pterodactyl client library, @devnote-dev/pterojs, pointed at the relay as if it were
 * the panel: it fetches a websocket token from the relay's panel-compatible endpoint, connects to
 * the socket that endpoint names, authenticates, receives `status` and `console output`, and its
 * `send command` / `set state` reach the upstream Wings simulator.
 *
 * Only the library's public API is used: `new PteroClient(url, key)`, `addSocketServer(uuid)` (a
 * `Shard`), `shard.connect()`, its events, `shard.request('sendCommand' | 'setState', …)` and
 * `shard.disconnect()`. `client.connect()` is deliberately not called: it first fetches
 * `GET /api/client/account` (its `fetchClient` option defaults to true and constructor options are
 * ignored by pterojs 2.2.2), an endpoint the relay does not serve and the websocket does not need.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error TS7016: pterojs 2.2.2's package.json "exports" has no "types" condition, so under
// NodeNext its typings are not found; they are taken by path just below.
import * as pterojsModule from '@devnote-dev/pterojs';
import type * as Pterojs from '../../node_modules/@devnote-dev/pterojs/dist/index.d.ts';
import { ADMIN_KEY, S1, linksReady, startHarness } from '../helpers/wings-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

const { PteroClient } = pterojsModule as typeof Pterojs;

test('pterojs, pointed at the relay as its panel, drives a server over the relayed websocket', async () => {
  const h = await startHarness();
  const signalsBefore = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const client = new PteroClient(h.relay.url, ADMIN_KEY);
  const shard = client.addSocketServer(S1);
  const statuses: string[] = [];
  const output: string[] = [];
  const errors: string[] = [];
  const debug: string[] = [];
  let authSuccesses = 0;
  let connected = 0;
  let disconnected = 0;
  shard.on('authSuccess', () => void authSuccesses++);
  shard.on('serverConnect', () => void connected++);
  shard.on('serverDisconnect', () => void disconnected++);
  shard.on('statusUpdate', (s) => void statuses.push(s));
  shard.on('serverOutput', (line) => void output.push(line));
  // pterojs emits `error` for `jwt error`, `daemon error` and any event it does not know; without a
  // listener an EventEmitter `error` would throw inside the library's message handler.
  shard.on('error', (message) => void errors.push(message));
  shard.on('debug', (message) => void debug.push(message));
  const context = () => `errors: ${JSON.stringify(errors)}; debug: ${JSON.stringify(debug.slice(-20))}`;
  try {
    await linksReady(h, [S1]);

    // Token from the relay's endpoint (GET /api/client/servers/:server/websocket), then the socket.
    await shard.connect();
    await eventually(() => connected === 1, 4000, `pterojs socket open (${context()})`);
    await eventually(() => authSuccesses >= 1, 4000, `pterojs auth success (${context()})`);
    await eventually(() => statuses.length > 0, 4000, `pterojs status (${context()})`);
    assert.equal(statuses[0], 'running', 'the first status after auth is the running state of S1');

    // A console line written by the upstream reaches the library's serverOutput event.
    assert.ok(!output.includes('from-sim'), 'no such console line before the simulator wrote it');
    h.sim.console(S1, 'from-sim');
    await eventually(() => output.includes('from-sim'), 4000, `console output via pterojs (${context()})`);

    // `send command` through the library reaches the simulator, for S1, with that line.
    const line = `say from-pterojs-${process.pid}`;
    const sentCommand = () => h.sim.received.find((f) => f.uuid === S1 && f.event === 'send command' && f.args[0] === line);
    assert.equal(sentCommand(), undefined, 'the command had not reached the simulator before it was sent');
    await shard.request('sendCommand', line);
    await eventually(sentCommand, 4000, `send command forwarded upstream (${context()})`);

    // `set state` through the library reaches the simulator, and S1 goes through the restart.
    const powerFrames = () => h.sim.received.filter((f) => f.uuid === S1 && f.event === 'set state');
    assert.equal(powerFrames().length, 0, 'no power action had reached the simulator before one was sent');
    const statusesBefore = statuses.length;
    // Resolves on the next statusUpdate the library sees.
    const answered: Promise<unknown> = shard.request('setState', 'restart');
    await eventually(() => powerFrames().some((f) => f.args[0] === 'restart'), 4000, `set state forwarded upstream (${context()})`);
    assert.deepEqual(powerFrames().map((f) => f.args), [['restart']], 'exactly one set state, with that action');
    await eventually(() => statuses.slice(statusesBefore).includes('stopping'), 4000, `stopping status via pterojs (${context()})`);
    assert.equal(await answered, statuses[statusesBefore], 'the library resolved setState with the next status');
    await eventually(() => statuses.at(-1) === 'running' && statuses.slice(statusesBefore).includes('starting'), 4000, `restart completes (${context()})`);
    assert.equal(h.sim.state(S1), 'running');

    assert.deepEqual(errors, [], 'the library reported no error, jwt error, daemon error or unknown event');
  } finally {
    shard.disconnect();
    client.removeSocketServer(S1);
    // Shard.onOpen adds process SIGINT/SIGTERM listeners it never removes; drop the ones it added.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const l of process.listeners(signal)) if (!signalsBefore[signal].includes(l)) process.removeListener(signal, l);
    }
    if (connected > 0) await eventually(() => disconnected >= 1, 4000, 'pterojs socket closed').catch(() => {});
    await h.stop();
  }
  // Clean disconnect: the library saw its socket close once.
  assert.equal(disconnected, 1, 'pterojs reported the socket closed exactly once');
});
