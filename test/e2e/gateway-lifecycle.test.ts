/**
 * Gateway upstream links over real sockets: which server closes are retried and which end a link
 * for good, and that dashboards keep their sessions across an upstream reconnect. Backoff and
 * heartbeats run on a ManualClock.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { LATEST_UP, SEED_UP, gatewayLinksReady, startGatewayHarness, type GatewayHarness, type GatewayHarnessOptions } from '../helpers/gateway-harness.ts';
import { eventually } from '../helpers/wings-client.ts';

let h: GatewayHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(o: Partial<GatewayHarnessOptions> = {}): Promise<GatewayHarness> {
  h = await startGatewayHarness({ clock: new ManualClock(), ...o });
  return h;
}

const linkOf = (g: GatewayHarness, upstream: string, room: string) => g.relay.supervisor.link(upstream, 'room', room)!;

describe('retried closes', () => {
  test('a 4001 from the server is retried after backoff; the dashboard session survives', async () => {
    const g = await start();
    await gatewayLinksReady(g);
    const dash = await g.open('lobby', 'alice');
    const link = linkOf(g, SEED_UP, 'lobby');
    g.seedSim.disconnect('lobby', 4001, 'heartbeat timeout');
    await eventually(() => link.state === 'backoff', 4000, 'backoff');
    assert.match(link.reason, /^heartbeat timeout \(4001\); retry in \d+ ms$/);
    await g.clock.advance(100);
    await eventually(() => link.state === 'ready', 4000, 'ready again');
    assert.equal(g.seedSim.connectionCount('lobby'), 1);
    g.seedSim.message('lobby', 'after the reconnect', 'bob');
    assert.match(await dash.nextRaw(), /"content":"after the reconnect"/);
    const metrics = await (await fetch(`${g.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_heartbeat_timeouts_total\{dialect="gateway",direction="upstream"\} 1/);
    assert.match(metrics, /bridge_upstream_reconnects_total\{protocol="gateway",upstream="seed-rooms"\} 1/);
  });

  test('a site crash (no close frame) is retried too', async () => {
    const g = await start();
    await gatewayLinksReady(g);
    g.latestSim.dropAll();
    const link = linkOf(g, LATEST_UP, 'hall');
    await eventually(() => link.state === 'backoff', 4000, 'backoff');
    await g.clock.advance(100);
    await gatewayLinksReady(g);
    assert.equal(g.latestSim.connectionCount('hall'), 1);
  });
});

describe('terminal closes', () => {
  test('1014 from the server ends the link for good and shows in /readyz', async () => {
    const g = await start();
    await gatewayLinksReady(g);
    g.seedSim.disconnect('games', 1014, 'room deleted');
    const link = linkOf(g, SEED_UP, 'games');
    await eventually(() => link.state === 'failed', 4000, 'failed');
    assert.equal(link.reason, 'unknown room or participant (1014)');
    await g.clock.advance(60_000);
    assert.equal(g.seedSim.connectionCount('games'), 0, 'no new attempt');
    const ready = (await (await fetch(`${g.relay.url}/readyz`)).json()) as { upstreams: Record<string, { id: string; state: string }[]> };
    assert.deepEqual(ready.upstreams[SEED_UP]!.map((l) => [l.id, l.state]), [['lobby', 'ready'], ['games', 'failed']]);
  });

  test('a room the site does not know, and a wrong cookie secret, are refused 1014: failed', async () => {
    const g = await start({
      seed: { upstream: { rooms: [{ roomId: 'lobby', participantId: 'relay' }, { roomId: 'cellar', participantId: 'relay' }] } },
      latest: { upstream: { rooms: [{ roomId: 'hall', participantId: 'relay', secret: 'not-the-cookie' }] } },
    });
    await gatewayLinksReady(g, [[SEED_UP, 'lobby']]);
    for (const [up, room] of [[SEED_UP, 'cellar'], [LATEST_UP, 'hall']] as const) {
      await eventually(() => linkOf(g, up, room).state === 'failed', 4000, `${room} failed`);
      assert.match(linkOf(g, up, room).reason, /1014/);
    }
    const metrics = await (await fetch(`${g.relay.url}/metrics`)).text();
    assert.match(metrics, /bridge_auth_failures_total\{dialect="gateway",direction="upstream",reason="unknown_room"\} 2/);
  });

  test('later profile: when the relay\'s own participant is kicked, its 4001 is final', async () => {
    const g = await start();
    await gatewayLinksReady(g);
    const dash = await g.open('hall', 'dave');
    g.latestSim.kick('hall', 'relay');
    assert.equal(await dash.nextRaw(), '{"e":5,"d":{"userId":"relay"}}', 'dashboards see the kick first');
    const link = linkOf(g, LATEST_UP, 'hall');
    await eventually(() => link.state === 'failed', 4000, 'failed');
    assert.equal(link.reason, 'participant kicked (4001)');
    await g.clock.advance(60_000);
    assert.equal(g.latestSim.connectionCount('hall'), 0);
    assert.equal(linkOf(g, LATEST_UP, 'attic').state, 'ready', 'other rooms are unaffected');
  });
});
