/**
 * Issue 9, defect 4 (the keep-alive): the Wings listener never pinged, so a dead peer was never
 * found. The ping liveness lived in three copies (Felix, CloudEvents, panel listeners).
 *
 * Now the core pings every dashboard socket each ping interval (the listener's `pingIntervalMs`,
 * else `limits.pingIntervalMs`) and terminates one that has not answered the previous ping,
 * counted in bridge_heartbeat_timeouts_total.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ManualClock } from '../../src/clock.ts';
import { metricValue } from '../helpers/felix-harness.ts';
import { within } from '../helpers/frame-queue.ts';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

let h: Harness | undefined;
const sockets: WebSocket[] = [];
after(async () => {
  for (const ws of sockets) ws.terminate();
  await h?.stop();
});

interface Dashboard {
  ws: WebSocket;
  pings: number;
  frames: string[];
  closed: Promise<number>;
}

async function dashboard(url: string, token: string, autoPong: boolean): Promise<Dashboard> {
  const ws = new WebSocket(url, { autoPong, perMessageDeflate: false });
  sockets.push(ws);
  const d: Dashboard = { ws, pings: 0, frames: [], closed: new Promise((resolve) => ws.once('close', (code) => resolve(code))) };
  ws.on('ping', () => (d.pings += 1));
  ws.on('message', (data) => d.frames.push(String(data)));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ event: 'auth', args: [token] }));
  await eventually(() => d.frames.some((f) => f.includes('auth success')), 4000, 'auth success');
  return d;
}

test('a Wings dashboard that never answers a ping is terminated at the next one; one that answers stays', async () => {
  const clock = new ManualClock();
  h = await startHarness({ clock });
  await linksReady(h);
  const interval = h.relay.config.limits.pingIntervalMs;
  const token = async () => (await h!.token(S1)).body.data.token as string;
  const dead = await dashboard(h.socketUrl(S1), await token(), false);
  const alive = await dashboard(h.socketUrl(S1), await token(), true);

  await clock.advance(interval - 1);
  assert.equal(dead.pings + alive.pings, 0);
  await clock.advance(1);
  await eventually(() => dead.pings === 1 && alive.pings === 1, 4000, 'one ping each');
  // Re-auth is answered in order, so once its answer is back the relay has read the pong before it.
  alive.ws.send(JSON.stringify({ event: 'auth', args: [await token()] }));
  await eventually(() => alive.frames.filter((f) => f.includes('auth success')).length === 2, 4000, 'the barrier');

  await clock.advance(interval);
  assert.equal(await within(dead.closed, 2000, () => 'the silent socket is still open'), 1006, 'terminated without a close handshake');
  await eventually(() => alive.pings === 2, 4000, 'the live dashboard is pinged again');
  assert.equal(alive.ws.readyState, WebSocket.OPEN);
  const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
  assert.equal(metricValue(metrics, 'bridge_heartbeat_timeouts_total', { dialect: 'wings', direction: 'downstream' }), 1);
});
