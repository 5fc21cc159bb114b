/**
 * Issue 15: an idle dashboard cost the relay 1.9–2.3× the memory of a bare `ws` socket. Heap
 * snapshots of 400 and 2 400 idle Wings sessions showed, per connection, beside the session's own
 * objects, four things no session needs:
 * - the socket's `_events` in dictionary mode (EventEmitter's null-prototype object; ~0.3 KB);
 * - the receiver's chunk list still holding the 17-slot store its first frame grew (152 B): once
 *   V8 has optimised ws's reading code, its inlined `shift()` gives none of it back;
 * - the TCP socket's `error` listeners as an array: the host's pre-upgrade listener stayed next to
 *   the one ws adds at the upgrade;
 * - the Wings token deadline and next token check as clock milliseconds, each a heap number.
 *
 * This test opens one authenticated session on each of the five listeners of a real relay, takes
 * a heap snapshot of this process and checks every socket the relay's hosts accepted (dashboards
 * and the simulators' upstream sockets) and every Wings session for each of them.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENERS, relayConfig } from '../../bench/soak/stack.ts';
import { openAuthed, prepareDialects, type Socket } from '../../bench/soak/clients.ts';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { HeapGraph } from '../helpers/heap-graph.ts';
import { eventually } from '../helpers/wings-client.ts';

/** Pongs each client sends before the snapshot. */
const PONGS = 4000;

let relay: Relay | undefined;
const sockets: Socket[] = [];
let graph: HeapGraph;

before(async () => {
  const config = { ...relayConfig({ kind: 'memory', prefix: 'footprint' }, 5000), log: { level: process.env.TEST_LOG ? 'debug' : 'silent' } };
  relay = await Relay.start({ config: validateConfig(config, ADAPTERS, 'test config'), defaultMetrics: false });
  await eventually(async () => (await fetch(`${relay!.url}/readyz`)).status === 200, 15_000, 'relay ready');
  await prepareDialects(relay.url);
  const base = relay.url.replace(/^http/, 'ws');
  for (const name of LISTENERS) sockets.push(await openAuthed(name, base, 0));
  // Every session answered its dialect's handshake. Then pongs, enough for V8 to optimise ws's
  // reading code, whose inlined shift() leaves the store in place (the builtin would free it).
  for (let i = 0; i < PONGS; i++) for (const s of sockets) s.ws.pong();
  await Promise.all(sockets.map((s) => new Promise<void>((res) => s.ws.pong(undefined, undefined, () => res()))));
  await new Promise((res) => setTimeout(res, 200));
  await eventually(() => relay!.server.sessionCount === LISTENERS.length, 4000, 'every session open');
  graph = await HeapGraph.take();
});

after(async () => {
  for (const s of sockets) s.ws.terminate();
  await relay?.stop(500);
});

/** The relay's accepted sockets (client sockets in this process are ws's own `WebSocket`). */
function hostedSockets(): number[] {
  const found = graph.objects('HostedSocket');
  // Five dashboards, and at least the Wings simulator's socket of the upstream link.
  assert.ok(found.length > LISTENERS.length, `the snapshot holds the relay's sockets (found ${found.length})`);
  return found;
}

test("a socket's listener table is a small object, not a dictionary", () => {
  for (const ws of hostedSockets()) {
    const events = graph.follow(ws, '_events');
    assert.ok(events !== null, 'the socket has _events');
    const properties = graph.follow(events, 'properties');
    const bytes = graph.size(events) + (properties !== null && graph.name(properties) === '(object properties)' ? graph.size(properties) : 0);
    assert.ok(bytes <= 128, `_events holds ${bytes} bytes`);
  }
});

test('after a frame was read, the receiver holds no store for chunks', () => {
  for (const ws of hostedSockets()) {
    const chunks = graph.path(ws, '_receiver', '_buffers');
    assert.ok(chunks !== null, 'the socket has a receiver with a chunk list');
    const store = graph.follow(chunks, 'elements');
    // An empty array shares V8's empty store (16 bytes); one a push grew keeps 17 slots (152).
    assert.ok(store === null || graph.size(store) <= 16, `the chunk list keeps a store of ${store === null ? 0 : graph.size(store)} bytes`);
  }
});

test('the TCP socket under an accepted WebSocket has one error listener', () => {
  for (const ws of hostedSockets()) {
    const onError = graph.path(ws, '_socket', '_events', 'error');
    assert.ok(onError !== null, 'the TCP socket has an error listener');
    assert.equal(graph.type(onError), 'closure', `the error listeners are one function, not a ${graph.type(onError)} ${graph.name(onError)}`);
  }
});

test('a Wings session keeps its token times as small integers, not heap numbers', () => {
  const sessions = graph.objects('WingsSession');
  assert.ok(sessions.length >= 1, 'the snapshot holds the Wings session');
  for (const s of sessions) {
    const boxed = graph.edges(s).filter((e) => graph.type(e.to) === 'number' && graph.name(e.to) === 'heap number');
    assert.deepEqual(boxed.map((e) => `${e.type}:${e.name}`), [], 'no field of the session is a heap number');
  }
});
