/**
 * Wings simulator → relay → CloudEvents client, over real sockets, on a given bus; and relay
 * chaining (relay B consuming relay A's CloudEvents listener). The same cases run on the memory
 * bus (test/e2e) and on a real nats-server (test/nats).
 *
 * "Nothing else arrived" is proven with a marker: events from one upstream link reach a session in
 * publish order, so when the marker is the next event, nothing published before it was delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import { BridgeEventSchema } from '../../src/events.ts';
import { CeClient } from './cloudevents-client.ts';
import { ADMIN_KEY, B_KEY, S1, S2, STAR_KEY, STAR_S1_KEY, VIEWER_KEY, chainState, startRelayA, startRelayB, type RelayHandle } from './cloudevents-harness.ts';
import { describeOnBus, type BusKind } from './relay-harness.ts';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';
import { eventually } from './wings-client.ts';

const metrics = (h: RelayHandle): Promise<string> => h.metrics();

/**
 * Asserts that no event is waiting for `c`: a reply to an unsubscribe is queued behind every event
 * the relay had already handed to the session, so if the reply comes first, there were none.
 */
async function quiet(c: CeClient): Promise<void> {
  c.send({ op: 'unsubscribe', subject: 'barrier.server.none.console' });
  const first = await c.next();
  assert.equal(first.json?.op, 'unsubscribed', `something arrived before the barrier: ${first.raw}`);
}

/** `natsUrl` gives the test file's own nats-server when `bus` is 'nats' (read once its `before` ran). */
export function runCloudEventsE2E(bus: BusKind, natsUrl?: () => string): void {
  let a: RelayHandle & { sim: WingsSimulator };
  const start = async (o: { bus: BusKind; natsUrl?: string }) => (a = await startRelayA(o));
  describeOnBus('cloudevents end to end', bus, natsUrl, start, ({ keep }) => {
    const open = async (key: string, path?: string) => keep(await CeClient.connect(a.ws(path), key));

    test('a wrong Bearer key is HTTP 401 JSON; without the header the socket opens but serves nothing until it authenticates, and a key in the query string counts for nothing', async () => {
      const err = (await CeClient.connect(a.ws(), 'wrong-key').then(() => null, (e) => e)) as { status?: number; body?: string } | null;
      assert.equal(err?.status, 401);
      assert.equal(JSON.parse(err?.body ?? '').code, 'BRIDGE_ERR_UNAUTHORIZED');
      const c = await CeClient.connect(`${a.ws()}?key=${ADMIN_KEY}`);
      keep(c);
      const refused = await c.request('subscribe', `up.server.${S1}.console`);
      assert.deepEqual([refused.op, refused.code, refused.subject], ['error', 'BRIDGE_ERR_UNAUTHORIZED', `up.server.${S1}.console`]);
      assert.match(refused.message, /"op":"auth"/, 'the reply says how to authenticate');
      const admin = await open(ADMIN_KEY);
      await admin.subscribe(`up.server.${S1}.console`);
      a.sim.console(S1, 'not for an unauthenticated socket');
      assert.equal((await admin.event()).data.line, 'not for an unauthenticated socket');
      // The barrier's answer is queued behind anything the session had been handed: nothing was.
      c.send({ op: 'unsubscribe', subject: 'barrier.server.none.console' });
      assert.deepEqual([(await c.next()).json?.code, c.unread().length], ['BRIDGE_ERR_UNAUTHORIZED', 0]);
      const text = await metrics(a);
      assert.match(text, /bridge_auth_failures_total\{dialect="cloudevents",direction="downstream",reason="auth"\} 1\n/);
      assert.match(text, /bridge_events_dropped_total\{dialect="cloudevents",direction="downstream",reason="unauthorized"\} [1-9]/);
    });

    test('Wings console and status reach a subscriber as BridgeEvents', async () => {
      const c = await open(ADMIN_KEY);
      await c.subscribe(`up.server.${S1}.>`);
      a.sim.console(S1, 'hello through the relay');
      const line = await c.event((e) => e.type === 'server.console');
      assert.ok(Value.Check(BridgeEventSchema, line), 'validates against BridgeEventSchema');
      assert.deepEqual([line.source, line.subject, line.data], ['bridge://up', S1, { line: 'hello through the relay' }]);
      a.sim.emit(S1, 'status', ['stopping']);
      const status = await c.event((e) => e.type === 'server.status');
      assert.ok(Value.Check(BridgeEventSchema, status));
      assert.deepEqual([status.subject, status.data], [S1, { state: 'stopping' }]);
      assert.equal(c.frames.at(-1)!.raw, JSON.stringify(status), 'the frame is the event JSON itself');
    });

    test('a wildcard id subscription gets every server, and only the event type asked for', async () => {
      const c = await open(ADMIN_KEY);
      await c.subscribe('up.server.*.console');
      a.sim.console(S1, 'w1');
      a.sim.console(S2, 'w2');
      a.sim.emit(S1, 'status', ['running']);
      a.sim.console(S1, 'w3');
      const seen = [await c.event(), await c.event(), await c.event()];
      assert.ok(seen.every((e) => e.type === 'server.console'), 'no status');
      // Each server has its own upstream socket: order holds per server, not across them.
      const lines = (id: string) => seen.filter((e) => e.subject === id).map((e) => e.data.line);
      assert.deepEqual([lines(S1), lines(S2)], [['w1', 'w3'], ['w2']]);
    });

    test('grants: an ungranted id, an id wildcard, another upstream and an upstream wildcard are refused, and deliver nothing', async () => {
      const viewer = await open(VIEWER_KEY);
      for (const subject of [`up.server.${S2}.console`, 'up.server.*.console', 'up.>', `other.server.${S1}.console`, `*.server.${S1}.console`, '>']) {
        const reply = await viewer.request('subscribe', subject);
        assert.deepEqual([reply.op, reply.code, reply.subject, typeof reply.message], ['error', 'BRIDGE_ERR_FORBIDDEN', subject, 'string']);
      }
      const starS1 = await open(STAR_S1_KEY);
      assert.equal((await starS1.request('subscribe', '*.server.*.console')).code, 'BRIDGE_ERR_FORBIDDEN');
      assert.equal((await (await open(STAR_KEY)).request('subscribe', 'nosuch.server.x.console')).code, 'BRIDGE_ERR_NOT_FOUND');
      await viewer.subscribe(`up.server.${S1}.console`);
      await starS1.subscribe(`*.server.${S1}.console`);
      const admin = await open(ADMIN_KEY);
      await admin.subscribe(`up.server.${S2}.console`);
      a.sim.console(S2, 'not for the viewer');
      assert.equal((await admin.event()).data.line, 'not for the viewer');
      await quiet(viewer);
      await quiet(starS1);
      a.sim.console(S1, 'grant marker');
      assert.equal((await viewer.event()).data.line, 'grant marker');
      assert.equal((await starS1.event()).data.line, 'grant marker');
      assert.match(await metrics(a), /bridge_auth_failures_total\{dialect="cloudevents",direction="downstream",reason="forbidden_subject"\} 7/);
    });

    test('receive gates: install output needs admin.websocket.install on the resource', async () => {
      const admin = await open(ADMIN_KEY);
      const viewer = await open(VIEWER_KEY);
      await admin.subscribe(`up.server.${S1}.>`);
      await viewer.subscribe(`up.server.${S1}.>`);
      a.sim.emit(S1, 'install output', ['installing…']);
      a.sim.console(S1, 'gate marker');
      assert.deepEqual((await admin.event()).data, { line: 'installing…' });
      assert.deepEqual([(await viewer.event()).data], [{ line: 'gate marker' }]);
      assert.match(await metrics(a), /bridge_events_dropped_total\{dialect="cloudevents",direction="downstream",reason="unauthorized"\} [1-9]/);
    });

    test('unsubscribe stops delivery; overlapping subjects deliver once and keep each other alive', async () => {
      const c = await open(STAR_KEY);
      await c.subscribe(`up.server.${S1}.console`);
      await c.subscribe(`up.server.${S1}.status`);
      assert.deepEqual(await c.request('unsubscribe', `up.server.${S1}.console`), { op: 'unsubscribed', subject: `up.server.${S1}.console` });
      a.sim.console(S1, 'after unsubscribe');
      a.sim.emit(S1, 'status', ['running']);
      assert.equal((await c.event()).type, 'server.status', 'the console line was not delivered');
      await c.request('unsubscribe', `up.server.${S1}.status`);
      // Both expand to the same bus pattern; dropping one must not cut the other off.
      await c.subscribe(`*.server.${S1}.>`);
      await c.subscribe(`up.server.${S1}.>`);
      a.sim.console(S1, 'once');
      a.sim.emit(S1, 'status', ['stopping']);
      assert.deepEqual([(await c.event()).data, (await c.event()).data], [{ line: 'once' }, { state: 'stopping' }]);
      await quiet(c);
      await c.request('unsubscribe', `up.server.${S1}.>`);
      a.sim.console(S1, 'still there');
      assert.equal((await c.event()).data.line, 'still there');
      // Two different patterns match an S1 console line: the client still gets it once.
      await c.subscribe('up.server.*.console');
      a.sim.console(S1, 'dedupe');
      a.sim.emit(S1, 'status', ['running']);
      assert.deepEqual([(await c.event()).data, (await c.event()).data], [{ line: 'dedupe' }, { state: 'running' }]);
      await quiet(c);
    });

    test('a session holds at most maxSubscriptions subjects', async () => {
      const c = await open(ADMIN_KEY, '/cloudevents-capped');
      await c.subscribe(`up.server.${S1}.console`);
      await c.subscribe(`up.server.${S2}.console`);
      const refused = await c.request('subscribe', 'up.server.*.status');
      assert.deepEqual([refused.op, refused.code, refused.subject], ['error', 'BRIDGE_ERR_TOO_LARGE', 'up.server.*.status']);
      await c.subscribe(`up.server.${S1}.console`);
      await c.request('unsubscribe', `up.server.${S2}.console`);
      await c.subscribe('up.server.*.status');
      a.sim.emit(S2, 'status', ['starting']);
      assert.deepEqual((await c.event()).data, { state: 'starting' });
    });

    test('bad frames get a BAD_FRAME error reply and are counted; the socket stays open', async () => {
      const c = await open(ADMIN_KEY);
      for (const text of ['this is not json', '{"op":"subscribe"}', '{"op":"publish","subject":"up.>"}', '[1,2]']) {
        c.sendRaw(text);
        const reply = await c.next((f) => f.json?.op === 'error');
        assert.deepEqual([reply.json.code, reply.json.subject], ['BRIDGE_ERR_BAD_FRAME', undefined], text);
      }
      for (const subject of ['up.server..console', 'up.>.x', 'up.server', `up.server.${S1}.Console`, 'up.server.a%2eb.console']) {
        const reply = await c.request('subscribe', subject);
        assert.deepEqual([reply.op, reply.code], ['error', 'BRIDGE_ERR_BAD_FRAME'], subject);
      }
      await c.subscribe(`up.server.${S1}.console`);
      assert.match(await metrics(a), /bridge_events_dropped_total\{dialect="cloudevents",direction="downstream",reason="bad_frame"\} 9\n/);
    });

    test('relay chaining: relay B republishes relay A\'s events for its own clients', async () => {
      const b = await startRelayB(a.ws(), ['up.>', 'zzz.>'], { bus, natsUrl: natsUrl?.() });
      try {
        await eventually(() => chainState(b.relay) === 'ready', 5000, 'chain link ready');
        const c = await CeClient.connect(b.ws(), B_KEY);
        keep(c);
        await c.subscribe(`a.server.${S1}.console`);
        a.sim.console(S1, 'chained');
        const e = await c.event();
        assert.ok(Value.Check(BridgeEventSchema, e));
        assert.deepEqual([e.source, e.type, e.subject, e.data, e.bridgenode], ['bridge://a', 'server.console', S1, { line: 'chained' }, 'relay-b']);
        const text = await metrics(b);
        assert.match(text, /bridge_auth_failures_total\{dialect="cloudevents",direction="upstream",reason="subscribe_refused"\} 1/, 'zzz.> refused at A');
        // A's link states are A's business: B keeps its own under a.upstream._.state.
        a.sim.dropAll();
        await eventually(async () => /direction="upstream",reason="unmapped"\} [1-9]/.test(await metrics(b)), 5000, 'A\'s upstream.state dropped at B');
        const own = await b.relay.bus.last(b.relay.subjects.event('a', 'upstream.state', '_'));
        assert.deepEqual([own?.bridgenode, (own?.data as { resource?: string }).resource], ['relay-b', 'upstream']);
        await eventually(() => [S1, S2].every((s) => a.relay.supervisor.link('up', 'server', s)?.state === 'ready'), 5000, 'A relinked');
      } finally {
        await b.stop();
      }
    });
  }, { closeClients: 'after' });
}
