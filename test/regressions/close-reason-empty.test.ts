/**
 * Issue 9, defect 10 (close reasons): `ws` closes a socket itself for a frame that is too large
 * (1009), not UTF-8 (1007) or breaks the protocol (1002), and it did so with an empty reason.
 * Every close the relay initiates carries its row's code and reason from src/errors.ts; a
 * peer's own close is echoed as the peer sent it.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { ERRORS } from '../../src/errors.ts';
import { S1, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { clientFrame, rawWebSocket, readCloseFrame } from '../helpers/raw-http.ts';

const MAX_PAYLOAD = 4096;
const PATH = `/api/servers/${S1}/ws`;

let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.stop();
  h = undefined;
});

async function open(): Promise<Socket> {
  h ??= await startHarness({ limits: { maxPayloadBytes: MAX_PAYLOAD } });
  const socket = await rawWebSocket(h.relay.port, PATH);
  sockets.push(socket);
  return socket;
}

describe('closes made by the socket layer carry the table\'s reason', () => {
  test('a frame over maxPayloadBytes: 1009 "message too large"', async () => {
    const socket = await open();
    const closed = readCloseFrame(socket);
    socket.write(clientFrame(1, Buffer.alloc(MAX_PAYLOAD + 1, 0x61)));
    assert.deepEqual(await closed, { code: 1009, reason: ERRORS.BRIDGE_ERR_TOO_LARGE.reason });
    assert.equal(ERRORS.BRIDGE_ERR_TOO_LARGE.reason, 'message too large');
  });

  test('a text frame that is not UTF-8: 1007 with its reason', async () => {
    const socket = await open();
    const closed = readCloseFrame(socket);
    socket.write(clientFrame(1, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])));
    assert.deepEqual(await closed, { code: 1007, reason: ERRORS.BRIDGE_ERR_BAD_FRAME.reason });
  });

  test('an unmasked client frame: 1002 with its reason', async () => {
    const socket = await open();
    const closed = readCloseFrame(socket);
    socket.write(clientFrame(1, Buffer.from('{}'), { unmasked: true }));
    assert.deepEqual(await closed, { code: 1002, reason: ERRORS.BRIDGE_ERR_PROTOCOL.reason });
  });

  test('the relay keeps serving after each, and counts the frames', async () => {
    const socket = await open();
    const closed = readCloseFrame(socket);
    socket.write(clientFrame(1, Buffer.alloc(MAX_PAYLOAD + 1, 0x61)));
    await closed;
    assert.equal((await fetch(`${h!.relay.url}/healthz`)).status, 200);
    const metrics = await (await fetch(`${h!.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_events_dropped_total\{dialect="ws",direction="downstream",reason="too_large"\} 1/);
  });

  test('a close the client starts is echoed as sent, not rewritten', async () => {
    const socket = await open();
    const closed = readCloseFrame(socket);
    const payload = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('bye')]); // 4000 "bye"
    socket.write(clientFrame(8, payload));
    assert.deepEqual(await closed, { code: 4000, reason: 'bye' });
    const bare = await open();
    const bareClosed = readCloseFrame(bare);
    bare.write(clientFrame(8, Buffer.from([0x03, 0xe8]))); // 1000, no reason
    assert.deepEqual(await bareClosed, { code: 1000, reason: '' });
  });
});
