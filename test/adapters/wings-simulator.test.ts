/**
 * The Wings simulator against real sockets on port 0, with a ManualClock driving every timer.
 * "Nothing else arrived" is proven with a barrier: `send stats` is answered in order, so if the
 * next frame is its `stats`, nothing was sent before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ManualClock } from '../../src/clock.ts';
import { peekJwt, signJwt, type JwtClaims, type Log } from '../../src/adapter-kit.ts';
import { WingsSimulator, type WingsSimulatorConfig } from '../../adapters/wings/simulator.ts';
import { GENERIC_DAEMON_ERROR, HTTP_ERRORS, JWT_ERRORS } from '../../adapters/wings/vocabulary.ts';

const UP = '11111111-2222-4333-8444-555555555555';
const DOWN = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const KEY = 'ptlc_test_key';
const NODE_TOKEN = 'test-node-token';
const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

interface Frame {
  event: string;
  args?: string[];
}

/** A ws client that queues every frame, so a test reads them in order with `next()`. */
class Client {
  readonly raw: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #read = 0;
  #wake: () => void = () => {};

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.raw.push(data.toString());
      this.#wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      }),
    );
  }

  static open(url: string, origin: string): Promise<Client> {
    const client = new Client(new WebSocket(url, { headers: { Origin: origin } }));
    return new Promise((resolve, reject) => {
      client.ws.once('open', () => resolve(client));
      client.ws.once('error', reject);
    });
  }

  send(event: string, args?: unknown[]): void {
    this.ws.send(JSON.stringify(args === undefined ? { event } : { event, args }));
  }

  /** The next unread frame's text; fails after 2 s or when the socket closed first. */
  async nextRaw(): Promise<string> {
    while (this.#read >= this.raw.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('socket closed while waiting for a frame');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a frame')), 2000);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.raw[this.#read++]!;
  }

  async next(): Promise<Frame> {
    return JSON.parse(await this.nextRaw()) as Frame;
  }

  /** Asserts no frame is pending: the reply to `send stats` must be the very next frame. */
  async barrier(expected = 'stats'): Promise<Frame> {
    this.send('send stats', [null]);
    const f = await this.next();
    assert.equal(f.event, expected, `expected the barrier reply, got ${JSON.stringify(f)}`);
    return f;
  }
}

async function setup(over: Partial<WingsSimulatorConfig> = {}) {
  const clock = new ManualClock();
  const config = {
    apiKey: KEY,
    nodeToken: NODE_TOKEN,
    servers: [{ uuid: UP, name: 'up', state: 'running' }, { uuid: DOWN, state: 'offline' }],
    consoleIntervalMs: 0,
    statsIntervalMs: 0,
    ...over,
  } as WingsSimulatorConfig;
  const sim = await WingsSimulator.start({ config, clock, log: silent }, '127.0.0.1', 0);
  const url = sim.endpoint.url;
  const wsUrl = (uuid: string) => `${url.replace('http', 'ws')}/api/servers/${uuid}/ws`;
  const panel = (id: string, key = KEY) =>
    fetch(`${url}/api/client/servers/${id}/websocket`, { headers: { authorization: `Bearer ${key}`, accept: 'application/json' } });
  const token = async (uuid: string) => ((await (await panel(uuid)).json()) as { data: { token: string } }).data.token;
  /** A token signed by hand, for claims the panel never issues. */
  const mint = (claims: JwtClaims) => {
    const now = Math.floor(clock.now() / 1000);
    return signJwt(NODE_TOKEN, { server_uuid: UP, permissions: ['*'], iat: now, exp: now + 600, ...claims }, clock);
  };
  const connect = (uuid: string) => Client.open(wsUrl(uuid), url);
  /** Connects and authenticates, consuming `auth success` and the first `status` (and `stats`). */
  const authed = async (uuid: string, tok?: string) => {
    const c = await connect(uuid);
    c.send('auth', [tok ?? (await token(uuid))]);
    assert.deepEqual(await c.next(), { event: 'auth success' });
    const status = await c.next();
    assert.equal(status.event, 'status');
    if (status.args?.[0] === 'offline') assert.equal((await c.next()).event, 'stats');
    return c;
  };
  return { sim, clock, url, wsUrl, panel, token, mint, connect, authed };
}

type Env = Awaited<ReturnType<typeof setup>>;

/** Runs `fn` against a fresh simulator and always closes it. */
function withSim(name: string, fn: (env: Env) => Promise<void>, over?: Partial<WingsSimulatorConfig>): void {
  test(name, async () => {
    const env = await setup(over);
    try {
      await fn(env);
    } finally {
      await env.sim.close();
    }
  });
}

/** An upgrade that must be refused: its HTTP status and body. */
function refusedUpgrade(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => {});
  });
}

const statsOf = (f: Frame) => JSON.parse(f.args?.[0] ?? 'null') as Record<string, unknown>;

withSim('panel issues a Wings token for a full or short id, with the real claims', async ({ sim, panel, clock, url }) => {
  const res = await panel(UP.slice(0, 8));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const body = (await res.json()) as { data: { token: string; socket: string } };
  assert.equal(body.data.socket, `${url.replace('http', 'ws')}/api/servers/${UP}/ws`);
  const claims = peekJwt(body.data.token)!;
  const now = Math.floor(clock.now() / 1000);
  assert.equal(claims.server_uuid, UP);
  assert.deepEqual(claims.permissions, ['*', 'admin.websocket.errors', 'admin.websocket.install', 'admin.websocket.transfer']);
  assert.deepEqual([claims.iat, claims.nbf, claims.exp], [now, now - 300, now + 600]);
  assert.ok(Array.isArray(claims.aud) && typeof claims.jti === 'string' && typeof claims.unique_id === 'string');
  assert.ok(typeof claims.user_uuid === 'string' && typeof claims.user_id === 'number' && claims.iss === url);
  assert.equal((await panel(UP)).status, 200);
  assert.equal(sim.tokensIssued, 2);
  assert.equal(peekJwt(sim.lastToken!)?.server_uuid, UP);
});

withSim('panel refuses a bad key (401), an unknown server (404) and a user without connect (403)', async ({ sim, panel, url }) => {
  const bad = await panel(UP, 'ptlc_wrong');
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { errors: [{ code: 'AuthenticationException', status: '401', detail: 'Unauthenticated.' }] });
  assert.equal((await fetch(`${url}/api/client/servers/${UP}/websocket`)).status, 401);
  const missing = await panel('deadbeef');
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), {
    errors: [{ code: 'NotFoundHttpException', status: '404', detail: 'The requested resource could not be found on the server.' }],
  });
  sim.setTokenPermissions(['control.console']);
  assert.equal((await panel(UP)).status, 403);
  assert.equal(sim.tokensIssued, 0);
});

withSim('upgrade: unknown server 404, missing or foreign Origin 403', async ({ wsUrl, url }) => {
  const unknown = await refusedUpgrade(wsUrl('00000000-0000-4000-8000-000000000000'), { Origin: url });
  assert.deepEqual([unknown.status, JSON.parse(unknown.body)], [404, { error: HTTP_ERRORS.notFound }]);
  assert.equal((await refusedUpgrade(wsUrl(UP), {})).status, 403);
  assert.equal((await refusedUpgrade(wsUrl(UP), { Origin: 'https://evil.example' })).status, 403);
});

withSim(
  'upgrade: an allowedOrigins entry is accepted, other origins still refused',
  async ({ wsUrl, sim }) => {
    const c = await Client.open(wsUrl(UP), 'https://panel.example');
    assert.equal(sim.connectionCount(UP), 1);
    c.ws.close();
    assert.equal((await refusedUpgrade(wsUrl(UP), { Origin: 'https://other.example' })).status, 403);
  },
  { allowedOrigins: ['https://panel.example'] },
);

withSim('first auth: auth success + status (+ stats when offline); re-auth: auth success only', async ({ connect, token }) => {
  const up = await connect(UP);
  up.send('auth', [await token(UP)]);
  assert.equal(await up.nextRaw(), '{"event":"auth success"}');
  assert.deepEqual(await up.next(), { event: 'status', args: ['running'] });
  await up.barrier();
  up.send('auth', [await token(UP)]);
  assert.deepEqual(await up.next(), { event: 'auth success' });
  await up.barrier();

  const down = await connect(DOWN);
  down.send('auth', [await token(DOWN)]);
  assert.deepEqual(await down.next(), { event: 'auth success' });
  assert.deepEqual(await down.next(), { event: 'status', args: ['offline'] });
  const stats = statsOf(await down.next());
  assert.equal(stats.state, 'offline');
  assert.deepEqual([stats.memory_bytes, stats.cpu_absolute, stats.uptime], [0, 0, 0]);
  assert.ok((stats.disk_bytes as number) > 0);
});

withSim('before auth every message gets "no jwt present" and the socket stays open', async ({ connect, sim }) => {
  const c = await connect(UP);
  c.send('send stats');
  assert.deepEqual(await c.next(), { event: 'jwt error', args: [JWT_ERRORS.notPresent] });
  c.send('set state', ['stop']);
  assert.deepEqual(await c.next(), { event: 'jwt error', args: [JWT_ERRORS.notPresent] });
  assert.equal(sim.state(UP), 'running');
  assert.equal(c.ws.readyState, WebSocket.OPEN);
});

withSim('each rejected token gets its Wings error text', async ({ connect, mint, sim, clock, token }) => {
  const c = await connect(UP);
  const past = Math.floor(clock.now() / 1000) - 1000;
  const cases: [Promise<string>, string][] = [
    [mint({ iat: past - 600, exp: past }), JWT_ERRORS.expired],
    [mint({ permissions: ['control.console'] }), JWT_ERRORS.missingConnect],
    [mint({ server_uuid: DOWN }), JWT_ERRORS.uuidMismatch],
  ];
  for (const [tok, text] of cases) {
    c.send('auth', [await tok]);
    assert.deepEqual(await c.next(), { event: 'jwt error', args: [text] });
  }
  sim.denyTokensIssuedBefore(UP, clock.now() + 1000);
  c.send('auth', [await token(UP)]);
  assert.deepEqual(await c.next(), { event: 'jwt error', args: [JWT_ERRORS.denylist] });
  c.send('auth', [await signJwt('not-the-node-token', { server_uuid: UP, permissions: ['*'], exp: 9e9 }, clock)]);
  assert.deepEqual(await c.next(), { event: 'daemon error', args: [GENERIC_DAEMON_ERROR] });
  // Still unauthenticated after all of that.
  await c.barrier('jwt error');
});

withSim('a token with admin.websocket.errors sees the real daemon error text', async ({ authed, clock }) => {
  const c = await authed(UP);
  c.send('auth', [await signJwt('wrong', { server_uuid: UP, permissions: ['*'], exp: 9e9 }, clock)]);
  assert.deepEqual(await c.next(), { event: 'daemon error', args: ['jwt: HMAC verification failed'] });
  c.send('set state', ['start']);
  assert.deepEqual(await c.next(), { event: 'daemon error', args: ['server is already running'] });
});

withSim('token expiring with ≤60 s left, then token expired every check with the socket open', async ({ authed, clock, sim, token }) => {
  const c = await authed(UP);
  await clock.advance(510_000);
  await c.barrier();
  await clock.advance(30_000); // 60 s left
  assert.deepEqual(await c.next(), { event: 'token expiring' });
  await clock.advance(30_000); // 30 s left
  assert.deepEqual(await c.next(), { event: 'token expiring' });
  await clock.advance(30_000); // exp: the tick says expired
  assert.deepEqual(await c.next(), { event: 'token expired' });
  sim.console(UP, 'the second exp names still works');
  assert.deepEqual(await c.next(), { event: 'console output', args: ['the second exp names still works'] });
  await clock.advance(1000); // exp + 1 s: Wings compares the time truncated to whole seconds
  sim.console(UP, 'hidden line');
  assert.deepEqual(await c.next(), { event: 'jwt error', args: [JWT_ERRORS.expired] });
  c.send('send logs');
  assert.deepEqual(await c.next(), { event: 'jwt error', args: [JWT_ERRORS.expired] });
  await clock.advance(30_000);
  assert.deepEqual(await c.next(), { event: 'token expired' });
  assert.equal(c.ws.readyState, WebSocket.OPEN);

  c.send('auth', [await token(UP)]);
  assert.deepEqual(await c.next(), { event: 'auth success' });
  sim.console(UP, 'visible again');
  assert.deepEqual(await c.next(), { event: 'console output', args: ['visible again'] });
});

withSim('set state drives the state machine and broadcasts status to every socket', async ({ authed, clock, sim }) => {
  const a = await authed(DOWN);
  const b = await authed(DOWN);
  const expect = async (...events: string[]) => {
    for (const c of [a, b]) {
      const got: string[] = [];
      for (const _ of events) {
        const f = await c.next();
        got.push(f.event === 'status' ? `status:${f.args?.[0]}` : f.event);
      }
      assert.deepEqual(got, events);
    }
  };
  a.send('set state', ['start']);
  await expect('status:starting', 'console output');
  await clock.advance(1500);
  await expect('status:running', 'console output');
  assert.equal(sim.state(DOWN), 'running');
  b.send('set state', ['restart']);
  await expect('status:stopping', 'console output');
  await clock.advance(800);
  await expect('status:offline', 'stats', 'status:starting', 'console output');
  await clock.advance(1500);
  await expect('status:running', 'console output');
  a.send('set state', ['kill']);
  await expect('status:offline', 'stats');
  assert.equal(sim.state(DOWN), 'offline');
});

withSim('set state is gated by control.start/stop/restart; kill needs control.stop', async ({ authed, mint, sim, clock }) => {
  const noPower = await authed(UP, await mint({ permissions: ['websocket.connect', 'control.console'] }));
  for (const action of ['stop', 'restart', 'kill']) noPower.send('set state', [action]);
  await noPower.barrier();
  assert.equal(sim.state(UP), 'running');

  const stopOnly = await authed(UP, await mint({ permissions: ['websocket.connect', 'control.stop'] }));
  stopOnly.send('set state', ['restart']);
  await stopOnly.barrier();
  stopOnly.send('set state', ['kill']);
  assert.deepEqual(await stopOnly.next(), { event: 'status', args: ['offline'] });
  stopOnly.send('set state', ['start']);
  await stopOnly.next(); // the zero stats of going offline
  await stopOnly.barrier();
  await clock.advance(5000);
  assert.equal(sim.state(UP), 'offline');
});

withSim('send command echoes to every socket and is ignored without control.console', async ({ authed, mint, sim }) => {
  const a = await authed(UP);
  const viewer = await authed(UP, await mint({ permissions: ['websocket.connect'] }));
  a.send('send command', ['say hi']);
  assert.deepEqual(await a.next(), { event: 'console output', args: ['> say hi'] });
  assert.deepEqual(await viewer.next(), { event: 'console output', args: ['> say hi'] });
  viewer.send('send command', ['stop']);
  await viewer.barrier();
  await a.barrier();
  assert.ok(sim.received.some((r) => r.uuid === UP && r.event === 'send command' && r.args[0] === 'stop'));
});

withSim('send logs returns the last 150 lines one frame each, nothing when offline', async ({ authed, sim }) => {
  const c = await authed(UP);
  for (let i = 0; i < 200; i++) sim.console(UP, `line ${i}`);
  for (let i = 0; i < 200; i++) await c.next();
  c.send('send logs', [null]);
  const lines: string[] = [];
  for (let i = 0; i < 150; i++) {
    const f = await c.next();
    assert.equal(f.event, 'console output');
    lines.push(f.args![0]!);
  }
  assert.deepEqual([lines[0], lines[149]], ['line 50', 'line 199']);
  await c.barrier();

  const d = await authed(DOWN);
  sim.console(DOWN, 'while offline');
  await d.next();
  d.send('send logs');
  await d.barrier();
});

withSim(
  'console lines and stats flow on the clock while running, only to authenticated sockets',
  async ({ authed, connect, clock }) => {
    const anon = await connect(UP);
    const c = await authed(UP);
    await clock.advance(2000);
    const frames = [await c.next(), await c.next(), await c.next()];
    const stats = frames.filter((f) => f.event === 'stats').map(statsOf);
    const lines = frames.filter((f) => f.event === 'console output').map((f) => f.args![0]!);
    assert.equal(stats.length, 2);
    assert.deepEqual(stats.map((s) => s.uptime), [1000, 2000]);
    assert.equal(stats[0]!.state, 'running');
    assert.ok((stats[0]!.memory_bytes as number) > 0);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\[\d\d:\d\d:\d\d INFO\]: /);
    await clock.advance(2000);
    for (let i = 0; i < 3; i++) await c.next();
    await anon.barrier('jwt error');
  },
  { consoleIntervalMs: 2000, statsIntervalMs: 1000 },
);

withSim('install output, transfer logs and backup completed are permission-gated', async ({ authed, mint, sim }) => {
  const admin = await authed(UP);
  const user = await authed(UP, await mint({ permissions: ['*'] }));
  const viewer = await authed(UP, await mint({ permissions: ['websocket.connect'] }));
  sim.emit(UP, 'install output', ['Downloading server jar']);
  sim.emit(UP, 'transfer logs', ['Archiving']);
  sim.emit(UP, 'backup completed', ['{"uuid":"b"}']);
  sim.emit(UP, 'install started');
  assert.deepEqual(await admin.next(), { event: 'install output', args: ['Downloading server jar'] });
  assert.deepEqual(await admin.next(), { event: 'transfer logs', args: ['Archiving'] });
  assert.deepEqual(await admin.next(), { event: 'backup completed', args: ['{"uuid":"b"}'] });
  assert.deepEqual(await user.next(), { event: 'backup completed', args: ['{"uuid":"b"}'] });
  for (const c of [admin, user, viewer]) {
    assert.equal(await c.nextRaw(), '{"event":"install started","args":[""]}');
    await c.barrier();
  }
});

withSim('suspend closes sockets with 4409 and later auths too', async ({ authed, connect, sim, token }) => {
  const c = await authed(UP);
  sim.suspend(UP);
  assert.equal((await c.closed).code, 4409);
  const late = await connect(UP);
  late.send('auth', [await token(UP)]);
  assert.equal((await late.closed).code, 4409);
});

withSim('bad JSON, bad shapes and unknown events are ignored; valid frames are recorded', async ({ authed, sim }) => {
  const c = await authed(UP);
  c.ws.send('not json');
  c.ws.send('{"event":5}');
  c.send('make coffee', ['now']);
  await c.barrier();
  assert.equal(c.ws.readyState, WebSocket.OPEN);
  assert.deepEqual(
    sim.received.filter((r) => r.event !== 'auth').map((r) => [r.event, r.args]),
    [['make coffee', ['now']], ['send stats', []]],
  );
});

withSim(
  'dropAll cuts every socket; close cancels every timer',
  async ({ authed, sim, clock }) => {
    const c = await authed(UP);
    assert.equal(sim.connectionCount(UP), 1);
    sim.dropAll();
    assert.equal((await c.closed).code, 1006);
    assert.equal(sim.connectionCount(UP), 0);
    assert.ok(clock.pending > 0);
    await sim.close();
    assert.equal(clock.pending, 0);
  },
  { consoleIntervalMs: 2000, statsIntervalMs: 1000 },
);
