/**
 * Config reload in place (Relay.reload), over real sockets: a grant taken away closes exactly the
 * sessions that used it, in every dialect that has clients (4403 "grant withdrawn"), and only
 * those; a removed client's sessions go, a new client's key works at once; a token issued before
 * the reload to a client that lost its grant is refused; limits change for new work; a change that
 * takes a restart is refused, naming its keys, and nothing changes; every outcome is counted.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLog } from '../../src/log.ts';
import type { Relay } from '../../src/relay.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { FelixClient } from '../helpers/felix-client.ts';
import { PanelClient } from '../helpers/panel-client.ts';
import { GUILD, KEYS, S1, S2, loadMulti, multiConfig, reloads, startMultiRelay, wingsToken, type RawConfig } from '../helpers/reload-config.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

let relay: Relay | undefined;
const sockets: { close(): void }[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close();
  await relay?.stop(500);
  relay = undefined;
});

function track<T extends { close(): void }>(c: T): T {
  sockets.push(c);
  return c;
}

async function wings(r: Relay, key: string, server = S1): Promise<WingsClient> {
  const token = await wingsToken(r, key, server);
  const c = track(await WingsClient.connect(`${r.url.replace(/^http/, 'ws')}/api/servers/${server}/ws`));
  c.send('auth', [token]);
  await c.event('auth success');
  return c;
}

async function ce(r: Relay, key: string, subject?: string): Promise<CeClient> {
  const c = track(await CeClient.connect(`${r.url.replace(/^http/, 'ws')}/cloudevents`, key));
  if (subject) await c.subscribe(subject);
  return c;
}

async function felix(r: Relay, key: string): Promise<FelixClient> {
  const c = track(await FelixClient.connect(`${r.url.replace(/^http/, 'ws')}/felix`, key));
  c.listen([], [GUILD]);
  await c.roundTrip();
  return c;
}

async function panel(r: Relay, key: string): Promise<PanelClient> {
  const c = track(await PanelClient.connect(`${r.url.replace(/^http/, 'ws')}/server/events`));
  c.send('AUTHENTICATE', { sessionId: key });
  await c.action('AUTH_SUCCESS');
  return c;
}

/** Open a moment after everything else settled: a close would have come by now. */
async function stillOpen(c: { closed: Promise<unknown> }, what: string): Promise<void> {
  const r = await Promise.race([c.closed.then(() => 'closed'), new Promise((res) => setTimeout(() => res('open'), 150))]);
  assert.equal(r, 'open', `${what} stays open`);
}

function withoutServerGrant(raw: RawConfig): RawConfig {
  const next = structuredClone(raw);
  next.clients[1].grants = next.clients[1].grants.filter((g: { upstream: string }) => g.upstream !== 'up');
  return next;
}

describe('a reload that takes grants away', () => {
  test('closes exactly the sessions that used them, in every dialect, with 4403 grant withdrawn', async () => {
    const raw = multiConfig();
    relay = await startMultiRelay(raw);
    const oneWings = await wings(relay, KEYS.one);
    const opsWings = await wings(relay, KEYS.ops);
    const oneCeServer = await ce(relay, KEYS.one, `up.server.${S1}.>`);
    const oneCeGuild = await ce(relay, KEYS.one, `bot.guild.${GUILD}.>`);
    const oneFelix = await felix(relay, KEYS.one);
    const onePanel = await panel(relay, KEYS.one);
    const twoCe = await ce(relay, KEYS.two, `up.server.${S2}.>`);
    const opsPanel = await panel(relay, KEYS.ops);

    const outcome = await relay.reload(loadMulti(withoutServerGrant(raw)));
    assert.equal(outcome.result, 'applied');
    assert.equal(outcome.closedSessions, 3);
    assert.ok(outcome.keys.some((k) => k.startsWith('/clients/1/grants')), JSON.stringify(outcome.keys));
    for (const [c, what] of [[oneWings, 'wings'], [oneCeServer, 'cloudevents on S1'], [onePanel, 'panel']] as const) {
      assert.deepEqual(await c.closed, { code: 4403, reason: 'forbidden: grant withdrawn' }, what);
    }
    for (const [c, what] of [[opsWings, 'ops wings'], [oneCeGuild, 'one on the guild'], [oneFelix, 'one on felix'], [twoCe, 'two'], [opsPanel, 'ops panel']] as const) {
      await stillOpen(c, what);
    }
    assert.equal(await reloads(relay, 'applied'), 1);
  });

  test('a token issued before the reload is refused at auth; a removed client goes, a new one works', async () => {
    const raw = multiConfig();
    relay = await startMultiRelay(raw);
    const early = await wingsToken(relay, KEYS.one);
    const twoCe = await ce(relay, KEYS.two);
    const next = withoutServerGrant(raw);
    next.clients = next.clients.filter((c: { name: string }) => c.name !== 'two');
    next.clients.push({ name: 'newbie', key: 'ptlc_reload_newbie_key', grants: [{ upstream: 'up', resources: [S2], permissions: ['websocket.connect'] }] });
    assert.equal((await relay.reload(loadMulti(next))).result, 'applied');
    assert.deepEqual(await twoCe.closed, { code: 4403, reason: 'forbidden: grant withdrawn' }, 'an authenticated session of a removed client, with no subscription');

    const late = track(await WingsClient.connect(`${relay.url.replace(/^http/, 'ws')}/api/servers/${S1}/ws`));
    late.send('auth', [early]);
    assert.deepEqual(await late.closed, { code: 4403, reason: 'forbidden: grant withdrawn' });
    await assert.rejects(CeClient.connect(`${relay.url.replace(/^http/, 'ws')}/cloudevents`, KEYS.two), (err: { status?: number }) => err.status === 401);
    const newbie = await ce(relay, 'ptlc_reload_newbie_key', `up.server.${S2}.>`);
    await stillOpen(newbie, 'the new client');
    assert.equal((await relay.reload(loadMulti(next))).closedSessions, 0, 'the same config again changes nothing');
  });
});

describe('what a reload changes in place, and what it refuses', () => {
  test('limits apply to new work: a lower maxConnectionsPerAddress refuses the next upgrade', async () => {
    const raw = multiConfig();
    relay = await startMultiRelay(raw);
    await ce(relay, KEYS.ops);
    await ce(relay, KEYS.ops);
    const next = structuredClone(raw);
    next.limits.maxConnectionsPerAddress = 2;
    assert.equal((await relay.reload(loadMulti(next))).result, 'applied');
    await assert.rejects(CeClient.connect(`${relay.url.replace(/^http/, 'ws')}/cloudevents`, KEYS.ops), (err: { status?: number }) => err.status === 429);
  });

  test('log.level changes the level of the running log', async () => {
    const raw = multiConfig();
    raw.log.level = 'info';
    const lines: string[] = [];
    const log = createLog('info', {}, (l) => void lines.push(l));
    relay = await startMultiRelay(raw, { log });
    const next = structuredClone(raw);
    next.log.level = 'warn';
    await relay.reload(loadMulti(next));
    assert.equal(log.level, 'warn');
    const reloaded = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'config reloaded');
    assert.deepEqual(reloaded?.changed, ['/log/level'], 'the line was written before the level went up');
  });

  test('a change that takes a restart is refused with its keys, and nothing else changes either', async () => {
    const raw = multiConfig();
    relay = await startMultiRelay(raw);
    const next = structuredClone(raw);
    next.listeners[1].path = '/felix2';
    next.limits.backoffMaxMs = 5000;
    next.node.id = 'other';
    next.clients.push({ name: 'newbie', key: 'ptlc_reload_newbie_key', grants: [] });
    const outcome = await relay.reload(loadMulti(next));
    assert.equal(outcome.result, 'refused');
    assert.deepEqual([...outcome.keys].sort(), ['/limits/backoffMaxMs', '/listeners/1/path', '/node/id']);
    assert.equal(relay.config.node.id, 'reload-node');
    await assert.rejects(CeClient.connect(`${relay.url.replace(/^http/, 'ws')}/cloudevents`, 'ptlc_reload_newbie_key'), (err: { status?: number }) => err.status === 401);
    await eventually(async () => (await reloads(relay!, 'refused')) === 1, 1000, 'counted');
    assert.equal(await reloads(relay, 'applied'), 0);
  });
});
