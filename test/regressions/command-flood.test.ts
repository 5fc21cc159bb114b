/**
 * Issue 9, defect 5: in the default Wings profile one dashboard forwarded 45 000 `send command`
 * in 8 s to the one shared upstream link, every other dashboard on that server got 45 000
 * echoes, and each `send logs` cost bus history reads with no throttle.
 *
 * Now the core limits commands (`limits.commandRate`) and history reads (`limits.historyRate`) per
 * session, whatever the dialect, and the Wings dialect answers a refused one as Wings 1.12 does:
 * one `throttled` naming the event per episode. Time is a ManualClock, so "elapsed" is exact.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { metricValue } from '../helpers/felix-harness.ts';
import { S1, linksReady, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const FLOOD = 45_000;

let h: Harness | undefined;
const clients: WingsClient[] = [];
after(async () => {
  for (const c of clients) c.terminate();
  await h?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('45 000 send command: the upstream and the other dashboards see at most burst + rate × elapsed; send logs is limited', async () => {
  const clock = new ManualClock();
  h = await startHarness({ clock });
  await linksReady(h);
  const { commandRate, historyRate, inboundRate } = h.relay.config.limits;
  const connect = async () => {
    const c = await WingsClient.connect(h!.socketUrl(S1));
    clients.push(c);
    c.send('auth', [(await h!.token(S1)).body.data.token]);
    await c.event('auth success');
    return c;
  };
  const flooder = await connect();
  const watcher = await connect();
  const upstream = () => h!.sim.received.filter((f) => f.uuid === S1 && f.event === 'send command').length;
  const echoes = () => watcher.frames.filter((f) => f.event === 'console output' && f.args?.[0]?.startsWith('> flood')).length;
  const throttled = (event: string) => flooder.frames.filter((f) => f.event === 'throttled' && f.args?.[0] === event).length;

  const metrics = async () => (await fetch(`${h!.relay.url}/metrics`)).text();
  const throttledDrops = async () => metricValue(await metrics(), 'bridge_events_dropped_total', { dialect: 'wings', direction: 'downstream', reason: 'throttled' });
  /** Every frame of a flood was handled once all but the commands that passed were dropped. */
  const handled = (drops: number) => eventually(async () => (await throttledDrops()) === drops, 20_000, `${drops} frames dropped`);

  for (let i = 0; i < FLOOD; i++) flooder.send('send command', [`flood ${i}`]);
  await handled(FLOOD - commandRate.burst);
  await eventually(() => upstream() === commandRate.burst, 4000, 'a burst at the upstream');
  await eventually(() => echoes() === commandRate.burst, 4000, 'the watcher\'s echoes');
  await sleep(200);
  assert.equal(upstream(), commandRate.burst, 'a burst reached the upstream, nothing more');
  assert.equal(throttled('send command'), 1, 'one throttled for the episode');

  // Two refill periods later: two more commands, and a new episode.
  const elapsed = 2 * commandRate.refillMs;
  await clock.advance(elapsed);
  for (let i = 0; i < FLOOD; i++) flooder.send('send command', [`flood again ${i}`]);
  const allowed = commandRate.burst + Math.floor(elapsed / commandRate.refillMs);
  await handled(2 * FLOOD - allowed);
  await eventually(() => upstream() === allowed, 4000, 'burst + rate × elapsed at the upstream');
  await eventually(() => echoes() === allowed, 4000, 'the watcher\'s echoes');
  await eventually(() => throttled('send command') === 2, 4000, 'a throttled for the second episode');
  await sleep(200);
  assert.equal(upstream(), allowed, 'burst + rate × elapsed, nothing more');
  assert.equal(echoes(), allowed);

  // send logs: the history budget, then one throttled; nothing past it reads the bus.
  await clock.advance(inboundRate.burst * inboundRate.refillMs); // the inbound budget is full again
  const logsAsked = 20;
  for (let i = 0; i < logsAsked; i++) flooder.send('send logs');
  await eventually(() => throttled('send logs') === 1, 4000, 'throttled send logs');
  await handled(2 * FLOOD - allowed + logsAsked - historyRate.burst);
  const text = await metrics();
  assert.equal(metricValue(text, 'bridge_limit_hits_total', { limit: 'historyRate' }), logsAsked - historyRate.burst);
  assert.equal(metricValue(text, 'bridge_commands_total', { dialect: 'wings', result: 'ok' }), allowed);
  assert.ok(metricValue(text, 'bridge_commands_total', { dialect: 'wings', result: 'throttled' }) > 0);
  assert.equal(flooder.ws.readyState, flooder.ws.OPEN, 'refused, not disconnected');
});
