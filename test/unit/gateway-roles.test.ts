/**
 * Both gateway roles as the sans-I/O state machines they are: driven through fake LinkIO /
 * SessionIO slices and a ManualClock, with no socket. Heartbeat duties on both sides, the
 * terminal closes, and the 1014 / 1007 / 1003 / 4001 closes are checked frame by frame.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { Subjects } from '../../src/subjects.ts';
import { LinkFailure, makeEvent } from '../../src/adapter-kit.ts';
import type { BridgeErrorCode, LinkHooks, LinkIO, ListenerContext, Log, SessionHooks, SessionIO, Telemetry, UpgradeRequest } from '../../src/adapter-kit.ts';
import { createGatewayUpstream, type GatewayUpstreamConfig } from '../../adapters/gateway/upstream.ts';
import { createGatewayListener, type GatewayListenerConfig } from '../../adapters/gateway/downstream.ts';
import { encode, HEARTBEAT_FRAME } from '../../adapters/gateway/codec.ts';

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };
const BEAT = HEARTBEAT_FRAME;

class Counters implements Telemetry {
  readonly drops: string[] = [];
  readonly authFailures: string[] = [];
  heartbeatTimeouts = 0;
  dropped(reason: string): void {
    this.drops.push(reason);
  }
  authFailed(reason: string): void {
    this.authFailures.push(reason);
  }
  heartbeatTimeout(): void {
    this.heartbeatTimeouts += 1;
  }
  command(): void {}
}

// ---- upstream ---------------------------------------------------------------------------------

interface FakeLink {
  hooks: LinkHooks;
  clock: ManualClock;
  sent: string[];
  published: { type: string; data: unknown }[];
  closes: { code: string; reason: string | undefined }[];
  ready: number;
  telemetry: Counters;
}

function link(config: Partial<GatewayUpstreamConfig> = {}, simulatorCredentials?: Record<string, string>): FakeLink {
  const clock = new ManualClock();
  const telemetry = new Counters();
  const full: GatewayUpstreamConfig = { name: 'rooms', url: 'wss://chat.example/gateway', rooms: [{ roomId: 'lobby', participantId: 'relay' }], profile: 'seed', helloTimeoutMs: 5000, ...config };
  const ctx = simulatorCredentials
    ? { config: full, node: 'n', clock, log: silent, simulator: { url: 'http://127.0.0.1:9', credentials: simulatorCredentials } }
    : { config: full, node: 'n', clock, log: silent };
  const role = createGatewayUpstream(ctx);
  const spec = role.links()[0]!;
  const f: FakeLink = { hooks: undefined as never, clock, sent: [], published: [], closes: [], ready: 0, telemetry };
  const io: LinkIO = {
    spec,
    clock,
    log: silent,
    telemetry,
    http: () => Promise.reject(new Error('no http in this protocol')),
    send: (text) => void f.sent.push(text),
    close: (code, reason) => void f.closes.push({ code, reason }),
    publish: (type, data) => void f.published.push({ type, data }),
    ready: () => void (f.ready += 1),
    interest: () => new Map(),
  };
  f.hooks = role.link(spec, io);
  return f;
}

describe('upstream link', () => {
  test('one link per room; the URL carries roomId and participantId; the seed profile sends no cookie', async () => {
    const f = link({ url: 'https://chat.example/gateway?v=2', rooms: [{ roomId: 'lobby', participantId: 'relay' }] });
    const target = await f.hooks.prepare();
    assert.equal(target.url, 'wss://chat.example/gateway?v=2&roomId=lobby&participantId=relay');
    assert.equal(target.headers, undefined);
    const two = createGatewayUpstream({ config: { name: 'r', url: 'ws://x/gateway', rooms: [{ roomId: 'a', participantId: 'p' }, { roomId: 'b', participantId: 'p' }], profile: 'seed', helloTimeoutMs: 100 }, node: 'n', clock: f.clock, log: silent });
    assert.deepEqual(two.links(), [{ resource: 'room', id: 'a' }, { resource: 'room', id: 'b' }]);
  });

  test('the later profile sends a cookie named after the room; without a secret it fails for good', async () => {
    const withSecret = link({ profile: 'anonroom-latest', rooms: [{ roomId: 'lobby', participantId: 'relay', secret: 's3cr=t' }] });
    assert.deepEqual((await withSecret.hooks.prepare()).headers, { cookie: 'lobby=s3cr%3Dt' });
    const fromSimulator = link({ url: undefined, profile: 'anonroom-latest' }, { 'lobby/relay': 'sim-secret' });
    const target = await fromSimulator.hooks.prepare();
    assert.equal(target.url, 'ws://127.0.0.1:9/gateway?roomId=lobby&participantId=relay');
    assert.deepEqual(target.headers, { cookie: 'lobby=sim-secret' });
    const none = link({ profile: 'anonroom-latest' });
    await assert.rejects(none.hooks.prepare(), (err: unknown) => err instanceof LinkFailure && err.terminal);
  });

  for (const [profile, hello] of [['seed', '{"e":0,"d":{"heartbeatInterval":1000}}'], ['anonroom-latest', '{"e":0,"d":{"e":0,"d":{"heartbeatInterval":1000}}}']] as const) {
    test(`${profile}: hello makes the link ready and starts the heartbeat; every server e:1 is answered`, async () => {
      const f = link({ profile, rooms: [{ roomId: 'lobby', participantId: 'relay', secret: 'x' }] });
      f.hooks.onOpen();
      assert.equal(f.ready, 0);
      f.hooks.onMessage(hello);
      assert.equal(f.ready, 1);
      assert.deepEqual(f.sent, [BEAT], 'one beat at once');
      f.hooks.onMessage('{"e":1,"d":{}}');
      f.hooks.onMessage('{"e":2,"d":{}}');
      assert.deepEqual(f.sent, [BEAT, BEAT, BEAT]);
      f.hooks.onMessage(hello);
      assert.equal(f.ready, 1, 'a second hello does not re-ready the link');
    });
  }

  test('own beats go out every ¾ interval; a server silent for 2½ intervals is dropped', async () => {
    const f = link();
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":0,"d":{"heartbeatInterval":1000}}');
    f.sent.length = 0;
    await f.clock.advance(750);
    assert.deepEqual(f.sent, [BEAT]);
    await f.clock.advance(750);
    assert.deepEqual(f.sent, [BEAT, BEAT]);
    assert.equal(f.closes.length, 0);
    await f.clock.advance(1500);
    assert.equal(f.closes.length, 1, 'closed at 3000 ms of silence (first check past 2500)');
    assert.equal(f.closes[0]!.code, 'BRIDGE_ERR_HEARTBEAT_TIMEOUT');
    assert.equal(f.telemetry.heartbeatTimeouts, 1);
    assert.equal(f.clock.pending, 0, 'timers stopped');
  });

  test('a server that keeps beating keeps the link', async () => {
    const f = link();
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":0,"d":{"heartbeatInterval":1000}}');
    for (let i = 0; i < 10; i++) {
      await f.clock.advance(1000);
      f.hooks.onMessage('{"e":1,"d":{}}');
    }
    assert.equal(f.closes.length, 0);
    // 1 at hello, 10 answers, 13 own beats in 10 s at 750 ms.
    assert.equal(f.sent.length, 24);
  });

  test('no hello in time closes the socket and counts an auth failure', async () => {
    const f = link({ helloTimeoutMs: 5000 });
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":0,"d":{"heartbeatInterval":"soon"}}');
    await f.clock.advance(4999);
    assert.equal(f.closes.length, 0);
    await f.clock.advance(1);
    assert.deepEqual(f.closes, [{ code: 'BRIDGE_ERR_UPSTREAM_TIMEOUT', reason: 'no hello in time' }]);
    assert.deepEqual(f.telemetry.authFailures, ['hello_timeout']);
    assert.deepEqual(f.telemetry.drops, ['bad_frame'], 'the bad hello was counted');
  });

  test('events are published canonically; bad frames, bad payloads and unknown ids are counted', () => {
    const f = link();
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":3,"d":{"content":"hi","authorId":"alice","roomId":"lobby","sentAt":5}}');
    f.hooks.onMessage('{"e":7,"d":{}}');
    f.hooks.onMessage('not json');
    f.hooks.onMessage('{"e":3,"d":{"content":5}}');
    f.hooks.onMessage('{"e":8,"d":{}}');
    assert.deepEqual(f.published, [
      { type: 'room.message', data: { authorId: 'alice', content: 'hi', sentAt: 5 } },
      { type: 'room.closed', data: {} },
    ]);
    assert.deepEqual(f.telemetry.drops, ['bad_frame', 'bad_frame', 'unknown_event']);
  });

  test('closes: 1014 is terminal, 4001 is retried, a 4001 after our own kick is terminal', () => {
    const f = link({ profile: 'anonroom-latest', rooms: [{ roomId: 'lobby', participantId: 'relay', secret: 'x' }] });
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":0,"d":{"e":0,"d":{"heartbeatInterval":1000}}}');
    assert.deepEqual(f.hooks.onClose({ code: 4001, reason: 'heartbeat timeout' }), { terminal: false, reason: 'heartbeat timeout (4001)' });
    assert.equal(f.clock.pending, 0, 'a closed socket leaves no timer');
    assert.deepEqual(f.hooks.onClose({ code: 1014, reason: '' }), { terminal: true, reason: 'unknown room or participant (1014)', code: 'BRIDGE_ERR_NOT_FOUND' });
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":6,"d":{"id":"bob","online":false,"kicked":true}}');
    assert.equal(f.hooks.onClose({ code: 4001, reason: '' }).terminal, false, 'someone else was kicked');
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":6,"d":{"id":"relay","online":false,"kicked":true}}');
    assert.deepEqual(f.hooks.onClose({ code: 4001, reason: 'kicked' }), { terminal: true, reason: 'participant kicked (4001)', code: 'BRIDGE_ERR_ROOM_SESSION_ENDED' });
    assert.deepEqual(f.hooks.onClose({ code: 1006, reason: '', httpStatus: 502 }), { terminal: true, reason: 'participant kicked (1006)', code: 'BRIDGE_ERR_ROOM_SESSION_ENDED' });
  });

  test('commands are refused; dispose stops every timer', async () => {
    const f = link();
    assert.deepEqual(await f.hooks.onCommand({} as never), { ok: false, code: 'BRIDGE_ERR_UNSUPPORTED_DATA', message: 'the room gateway takes no commands' });
    f.hooks.onOpen();
    f.hooks.onMessage('{"e":0,"d":{"heartbeatInterval":1000}}');
    assert.ok(f.clock.pending > 0);
    f.hooks.dispose();
    f.hooks.dispose();
    assert.equal(f.clock.pending, 0);
  });
});

// ---- downstream -------------------------------------------------------------------------------

interface FakeSession {
  hooks: SessionHooks;
  clock: ManualClock;
  sent: string[];
  closes: { code: BridgeErrorCode | number; detail?: string | undefined }[];
  subscriptions: string[];
  telemetry: Counters;
}

function session(query: string, config: Partial<GatewayListenerConfig> = {}): FakeSession {
  const clock = new ManualClock();
  const telemetry = new Counters();
  const ctx = {
    config: { name: 'gw', dialect: 'gateway', path: '/gateway', upstreams: ['rooms'], heartbeatIntervalMs: 1000, profile: 'seed', ...config },
    node: 'n',
    clock,
    log: silent,
    subjects: new Subjects('bridge'),
    telemetry,
    resources: () => [{ upstream: 'rooms', protocol: 'gateway', resource: 'room', id: 'lobby' }],
  } as unknown as ListenerContext<GatewayListenerConfig>;
  const role = createGatewayListener(ctx);
  const f: FakeSession = { hooks: undefined as never, clock, sent: [], closes: [], subscriptions: [], telemetry };
  const io = {
    id: 's1',
    remoteAddress: '127.0.0.1',
    send: (frame: string | Buffer) => void f.sent.push(String(frame)),
    close: (code: BridgeErrorCode, detail?: string) => void f.closes.push({ code, detail }),
    // The core counts a refused credential (and tells admission control); here, the telemetry fake does.
    authFailed: (reason: string) => telemetry.authFailed(reason),
    subscribe: (pattern: string) => {
      f.subscriptions.push(pattern);
      return () => {};
    },
  } as unknown as SessionIO;
  const req: UpgradeRequest = { method: 'GET', path: '/gateway', params: {}, query: new URLSearchParams(query), headers: {}, remoteAddress: '127.0.0.1' };
  const verdict = role.authorize(req) as { accept: boolean; state?: unknown };
  assert.equal(verdict.accept, true, 'every upgrade is accepted, as on the real server');
  f.hooks = role.open(io, req, verdict.state);
  return f;
}

describe('downstream session', () => {
  for (const [query, reason] of [['roomId=lobby', 'missing_params'], ['participantId=alice', 'missing_params'], ['roomId=&participantId=alice', 'missing_params'], ['roomId=attic&participantId=alice', 'unknown_room']] as const) {
    test(`?${query}: accepted, then closed 1014 without a hello`, async () => {
      const f = session(query);
      assert.equal(f.closes.length, 1);
      assert.equal(f.closes[0]!.code, 'BRIDGE_ERR_NOT_FOUND');
      assert.deepEqual(f.sent, []);
      assert.deepEqual(f.subscriptions, []);
      assert.deepEqual(f.telemetry.authFailures, [reason]);
      f.hooks.onMessage('{"e":1,"d":{}}');
      await f.clock.advance(10_000);
      assert.equal(f.clock.pending, 0);
      assert.equal(f.closes.length, 1);
    });
  }

  test('a bridged room: subscribed to its events, hello at once in the listener profile', () => {
    const seed = session('roomId=lobby&participantId=alice');
    assert.deepEqual(seed.subscriptions, ['bridge.evt.rooms.room.lobby.>']);
    assert.deepEqual(seed.sent, ['{"e":0,"d":{"heartbeatInterval":1000}}']);
    assert.equal(seed.hooks.variant, 'seed');
    const latest = session('roomId=lobby&participantId=alice', { profile: 'anonroom-latest', heartbeatIntervalMs: 45000 });
    assert.deepEqual(latest.sent, ['{"e":0,"d":{"e":0,"d":{"heartbeatInterval":45000}}}']);
    assert.equal(latest.hooks.variant, 'latest');
  });

  test('server e:1 every interval; a client silent since the previous tick is closed 4001', async () => {
    const f = session('roomId=lobby&participantId=alice');
    f.sent.length = 0;
    await f.clock.advance(1000);
    assert.deepEqual(f.sent, [BEAT], 'the first tick only starts the exchange');
    f.hooks.onMessage('{"e":1,"d":{}}');
    await f.clock.advance(1000);
    assert.deepEqual(f.sent, [BEAT, BEAT]);
    assert.equal(f.closes.length, 0);
    f.hooks.onMessage('{"e":2,"d":{}}');
    await f.clock.advance(1000);
    assert.deepEqual(f.closes, [{ code: 'BRIDGE_ERR_ROOM_SESSION_ENDED', detail: 'heartbeat timeout' }], 'heartbeat_ack is not a heartbeat');
    assert.equal(f.telemetry.heartbeatTimeouts, 1);
    assert.equal(f.clock.pending, 0);
  });

  test('a client e:1 at any time counts, even before the first server heartbeat', async () => {
    const f = session('roomId=lobby&participantId=alice');
    for (let i = 0; i < 5; i++) {
      f.hooks.onMessage('{"e":1}');
      await f.clock.advance(1000);
    }
    assert.equal(f.closes.length, 0);
  });

  test('non-JSON closes 1007; a non-packet or a server-only e closes 1003; each is counted', () => {
    const bad = session('roomId=lobby&participantId=alice');
    bad.hooks.onMessage('hello?');
    bad.hooks.onMessage('{"e":1}');
    assert.deepEqual(bad.closes, [{ code: 'BRIDGE_ERR_BAD_FRAME', detail: 'not JSON' }], 'nothing after the close');
    const shape = session('roomId=lobby&participantId=alice');
    shape.hooks.onMessage('[1]');
    assert.deepEqual(shape.closes, [{ code: 'BRIDGE_ERR_UNSUPPORTED_DATA', detail: 'not an {e, d} packet' }]);
    const unknown = session('roomId=lobby&participantId=alice');
    unknown.hooks.onMessage('{"e":3,"d":{"content":"hi"}}');
    assert.deepEqual(unknown.closes, [{ code: 'BRIDGE_ERR_UNSUPPORTED_DATA', detail: 'event 3 is not sent by clients' }]);
    assert.deepEqual([bad.telemetry.drops, shape.telemetry.drops, unknown.telemetry.drops], [['bad_frame'], ['bad_frame'], ['unknown_event']]);
  });

  test('events are sent as the shared frame; a later-profile dashboard whose participant is kicked is closed 4001', () => {
    const kick = makeEvent({ upstream: 'rooms', node: 'n' }, 'room.participant.kicked', 'lobby', { userId: 'alice' });
    const seed = session('roomId=lobby&participantId=alice');
    seed.hooks.onEvent(kick, Buffer.from(encode(kick, 'seed')!));
    assert.equal(seed.sent.at(-1), '{"e":5,"d":{"userId":"alice"}}');
    assert.equal(seed.closes.length, 0, 'the seed server is not known to close kicked sockets');
    const latest = session('roomId=lobby&participantId=alice', { profile: 'anonroom-latest' });
    const bob = session('roomId=lobby&participantId=bob', { profile: 'anonroom-latest' });
    for (const f of [latest, bob]) f.hooks.onEvent(kick, Buffer.from(encode(kick, 'latest')!));
    assert.equal(latest.sent.at(-1), '{"e":6,"d":{"id":"alice","online":false,"kicked":true}}');
    assert.deepEqual(latest.closes, [{ code: 'BRIDGE_ERR_ROOM_SESSION_ENDED', detail: 'participant kicked' }]);
    assert.equal(latest.clock.pending, 0);
    assert.equal(bob.closes.length, 0);
  });
});
