/**
 * Simulator → relay → Wings client, over real sockets, on a given bus. The same cases run on the
 * memory bus (test/e2e) and on a real nats-server (test/nats).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_KEY, S1, S2, VIEWER_KEY, linksReady, startHarness, type Harness } from './wings-harness.ts';
import { describeOnBus, type BusKind } from './relay-harness.ts';
import { WingsClient, eventually } from './wings-client.ts';

/** Connects to a server through the relay and authenticates with a token from the relay. */
export async function authed(h: Harness, server = S1, key = ADMIN_KEY): Promise<WingsClient> {
  const { body } = await h.token(server, key);
  const client = await WingsClient.connect(body.data.socket);
  client.send('auth', [body.data.token]);
  await client.event('auth success');
  return client;
}

/** `natsUrl` gives the test file's own nats-server when `bus` is 'nats' (read once its `before` ran). */
export function runWingsE2E(bus: BusKind, natsUrl?: () => string): void {
  let h: Harness;
  const start = async (o: { bus: BusKind; natsUrl?: string }) => {
    h = await startHarness(o);
    await linksReady(h);
    return h;
  };
  describeOnBus('wings end to end', bus, natsUrl, start, ({ keep }) => {
    const open = async (server = S1, key = ADMIN_KEY) => keep(await authed(h, server, key));

    test('the token endpoint answers like the panel, as JSON', async () => {
      const ok = await h.token(S1);
      assert.equal(ok.status, 200);
      assert.match(ok.contentType ?? '', /^application\/json/);
      assert.equal(typeof ok.body.data.token, 'string');
      assert.equal(ok.body.data.socket, h.socketUrl(S1));
      const bad = await h.token(S1, 'wrong-key');
      assert.equal(bad.status, 401);
      assert.equal(bad.body.errors[0].code, 'AuthenticationException');
      const notGranted = await h.token(S2, VIEWER_KEY);
      assert.equal(notGranted.status, 404);
      const unknown = await h.token('no-such-server');
      assert.equal(unknown.status, 404);
    });

    test('first auth gets auth success then status; events flow; re-auth gets only auth success', async () => {
      const { body } = await h.token(S1);
      const c = await WingsClient.connect(body.data.socket);
      keep(c);
      c.send('auth', [body.data.token]);
      assert.equal((await c.next()).event, 'auth success');
      assert.deepEqual((await c.next()).args, ['running']);
      h.sim.console(S1, 'hello through the relay');
      assert.deepEqual((await c.event('console output')).args, ['hello through the relay']);
      c.send('auth', [body.data.token]);
      await c.event('auth success');
      h.sim.console(S1, 'after re-auth');
      const next = await c.next((f) => f.event !== 'stats');
      assert.deepEqual([next.event, next.args], ['console output', ['after re-auth']], 'no second status after re-auth');
    });

    test('an offline server gets status offline and one stats', async () => {
      const { body } = await h.token(S2);
      const c = await WingsClient.connect(body.data.socket);
      keep(c);
      c.send('auth', [body.data.token]);
      await c.event('auth success');
      assert.deepEqual((await c.next()).args, ['offline']);
      const stats = await c.next();
      assert.equal(stats.event, 'stats');
      assert.equal(JSON.parse(stats.args![0]!).state, 'offline');
    });

    test('set state and send command reach the simulator, and the new state comes back', async () => {
      const c = await open(S2);
      c.send('set state', ['start']);
      await eventually(() => h.sim.received.some((f) => f.uuid === S2 && f.event === 'set state' && f.args[0] === 'start'), 4000, 'set state upstream');
      assert.deepEqual((await c.next((f) => f.event === 'status' && f.args?.[0] === 'running')).args, ['running']);
      c.send('send command', ['say hi']);
      await eventually(() => h.sim.received.some((f) => f.uuid === S2 && f.event === 'send command' && f.args[0] === 'say hi'), 4000, 'command upstream');
      assert.deepEqual((await c.next((f) => f.event === 'console output' && f.args?.[0] === '> say hi')).args, ['> say hi']);
    });

    test('permission gates: commands and gated events need their permissions', async () => {
      const admin = await open(S1);
      const viewer = await open(S1, VIEWER_KEY);
      const before = h.sim.received.length;
      viewer.send('send command', ['op viewer']);
      viewer.send('set state', ['stop']);
      h.sim.emit(S1, 'install output', ['installing…']);
      h.sim.console(S1, 'marker after gated event');
      assert.deepEqual((await admin.event('install output')).args, ['installing…']);
      const seen = await viewer.next((f) => f.event === 'console output' || f.event === 'install output');
      assert.deepEqual([seen.event, seen.args], ['console output', ['marker after gated event']]);
      // The marker came after the commands were handled (frames are processed in order).
      admin.send('send command', ['admin was here']);
      await eventually(() => h.sim.received.some((f) => f.event === 'send command' && f.args[0] === 'admin was here'), 4000, 'admin command');
      assert.equal(h.sim.received.slice(before).filter((f) => f.args[0] === 'op viewer' || (f.event === 'set state' && f.args[0] === 'stop')).length, 0);
      assert.equal(h.sim.state(S1), 'running');
    });

    test('send logs returns the console history in order; send stats the last stats', async () => {
      for (let i = 0; i < 5; i++) h.sim.console(S1, `history line ${i}`);
      const c = await open(S1);
      c.send('send logs');
      const lines: string[] = [];
      while (lines.length < 5) {
        const f = await c.event('console output');
        if (f.args![0]!.startsWith('history line')) lines.push(f.args![0]!);
      }
      assert.deepEqual(lines, [0, 1, 2, 3, 4].map((i) => `history line ${i}`));
      const stats = { memory_bytes: 42, memory_limit_bytes: 1024, cpu_absolute: 1.5, network: { rx_bytes: 1, tx_bytes: 2 }, uptime: 1000, state: 'running', disk_bytes: 7 };
      h.sim.emit(S1, 'stats', [JSON.stringify(stats)]);
      await c.next((f) => f.event === 'stats' && JSON.parse(f.args![0]!).memory_bytes === 42);
      c.send('send stats');
      const answered = await c.event('stats');
      assert.equal(JSON.parse(answered.args![0]!).memory_bytes, 42);
    });

    test('send logs on an offline server sends nothing', async () => {
      const c = await open(S2);
      await eventually(async () => (await h.relay.bus.last(h.relay.subjects.event('up', 'server.status', S2))) !== undefined, 4000, 'status known');
      if (h.sim.state(S2) !== 'offline') {
        c.send('set state', ['kill']);
        await c.next((f) => f.event === 'status' && f.args?.[0] === 'offline');
      }
      c.send('send logs');
      c.send('send stats');
      const next = await c.next((f) => f.event === 'console output' || f.event === 'stats');
      assert.equal(next.event, 'stats', 'the stats answer came first: no console lines for an offline server');
    });

    test('before auth and with bad tokens, the exact Wings errors', async () => {
      const c = await WingsClient.connect(h.socketUrl(S1));
      keep(c);
      c.send('send logs');
      assert.deepEqual((await c.event('jwt error')).args, ['jwt: no jwt present']);
      const other = await h.token(S2);
      c.send('auth', [other.body.data.token]);
      assert.deepEqual((await c.event('jwt error')).args, ['jwt: server uuid mismatch']);
      const good = (await h.token(S1)).body.data.token as string;
      c.send('auth', [`${good.slice(0, -4)}AAAA`]);
      const err = await c.event('daemon error');
      assert.equal(err.args![0], 'an unexpected error was encountered while handling this request');
    });

    test('bad frames and unknown events are ignored and counted; the socket stays open', async () => {
      const c = await open(S1);
      c.sendRaw('this is not json');
      c.sendRaw('{"event":5}');
      c.sendRaw('[1,2,3]');
      c.send('no such event', ['x']);
      c.send('send stats');
      await c.event('stats');
      const metrics = await (await fetch(`${h.relay.url}/metrics`)).text();
      assert.match(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="bad_frame"\} [3-9]/);
      assert.match(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="unknown_event"\} [1-9]/);
    });

    test('bridge_events_out_total counts every frame written to a dashboard, across scrapes', async () => {
      const scrape = async () => {
        const text = await (await fetch(`${h.relay.url}/metrics`)).text();
        const m = /bridge_events_out_total\{dialect="wings"\} (\d+)/.exec(text);
        return m ? Number(m[1]) : 0;
      };
      const before = await scrape();
      const c = await authed(h, S1); // auth success + status: two frames
      for (let i = 0; i < 5; i++) h.sim.console(S1, `counted ${i}`);
      for (let i = 0; i < 5; i++) await c.next((f) => f.event === 'console output');
      c.close();
      const mid = await scrape();
      assert.ok(mid - before >= 7, `at least 7 frames counted, got ${mid - before}`);
      assert.equal(await scrape(), mid, 'a second scrape with nothing sent adds nothing');
    });

    test('/healthz, /readyz and /metrics', async () => {
      assert.equal((await fetch(`${h.relay.url}/healthz`)).status, 200);
      const ready = await fetch(`${h.relay.url}/readyz`);
      assert.equal(ready.status, 200);
      const detail = (await ready.json()) as { bus: { kind: string }; upstreams: Record<string, { state: string }[]> };
      assert.equal(detail.bus.kind, bus);
      assert.deepEqual(detail.upstreams.up!.map((l) => l.state), ['ready', 'ready']);
      const text = await (await fetch(`${h.relay.url}/metrics`)).text();
      for (const family of ['bridge_downstream_connections', 'bridge_upstream_links', 'bridge_events_in_total', 'bridge_events_out_total', 'bridge_commands_total', 'bridge_fanout_latency_seconds_bucket', 'bridge_write_queue_bytes', 'bridge_bus_state']) {
        assert.ok(text.includes(family), `missing ${family}`);
      }
      assert.match(text, new RegExp(`bridge_bus_state\\{kind="${bus}",state="connected"\\} 1`));
      assert.ok(!text.includes(S1), 'no resource ids in metric labels');
    });
  }, { closeClients: 'after' });
}
