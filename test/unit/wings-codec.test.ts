/**
 * The Wings codec, fed literal frames. Fixtures (test/fixtures/wings/) cover every event of
 * wings-websocket.md, wings-websocket-schema.md and REAL-BEHAVIOUR.md in both directions, valid
 * and malformed; exact strings are compared, never re-serialized objects.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makeEvent } from '../../src/adapter-kit.ts';
import {
  commandToPacket,
  encode,
  eventToPacket,
  formatFrame,
  isControlEvent,
  packetToCommand,
  packetToEvent,
  parseFrame,
  statsFromWire,
  statsToWire,
  variantFor,
  type WingsPacket,
} from '../../adapters/wings/codec.ts';
import { CLIENT_EVENTS, SERVER_EVENTS } from '../../adapters/wings/vocabulary.ts';

type Canonical = { type: string; data: unknown };
interface ServerCase { name: string; frame: string; event: Canonical | null }
interface DashboardCase { name: string; type: string; data: unknown; permissions?: string[]; frame: string | null }
interface ClientCases {
  commands: { name: string; frame: string; command: Canonical | null }[];
  upstream: { name: string; command: Canonical; frame: string | null }[];
}

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/wings/${name}`, import.meta.url), 'utf8')) as T;
}
const serverCases = fixture<ServerCase[]>('server-frames.json');
const dashboardCases = fixture<DashboardCase[]>('dashboard-frames.json');
const clientCases = fixture<ClientCases>('client-frames.json');
const malformed = fixture<string[]>('malformed.json');

const ORIGIN = { upstream: 'eu', node: 'node-1', receivedAt: 0 };
const event = (type: string, data: unknown) => makeEvent(ORIGIN, type, '8a4b0c1d', data);
const ADMIN = variantFor(['websocket.connect', 'admin.websocket.errors']);
const PLAIN = variantFor(['websocket.connect']);

const RUNNING = {
  memoryBytes: 268435456,
  memoryLimitBytes: 1073741824,
  cpuAbsolute: 12.5,
  network: { rxBytes: 1024, txBytes: 2048 },
  uptimeMs: 123456,
  diskBytes: 52428800,
  state: 'running' as const,
};
const RUNNING_WIRE =
  '{"memory_bytes":268435456,"memory_limit_bytes":1073741824,"cpu_absolute":12.5,"network":{"rx_bytes":1024,"tx_bytes":2048},"uptime":123456,"state":"running","disk_bytes":52428800}';

describe('Wings → relay: parseFrame + packetToEvent', () => {
  for (const c of serverCases) {
    test(c.name, () => {
      const p = parseFrame(c.frame);
      assert.ok(p, `the frame itself is well-formed: ${c.frame}`);
      assert.deepEqual(packetToEvent(p), c.event);
    });
  }

  test('the five accepted args forms all normalize to []', () => {
    for (const args of ['', ',"args":null', ',"args":[]', ',"args":[null]', ',"args":[""]']) {
      assert.deepEqual(parseFrame(`{"event":"send stats"${args}}`), { event: 'send stats', args: [] });
    }
  });

  test('null elements become "", other elements stay; extra top-level keys are tolerated', () => {
    assert.deepEqual(parseFrame('{"event":"x","args":[null,"a",null]}'), { event: 'x', args: ['', 'a', ''] });
    assert.deepEqual(parseFrame('{"event":"x","args":["","b"]}'), { event: 'x', args: ['', 'b'] });
    assert.deepEqual(parseFrame('{"args":["running"],"event":"status","seq":7}'), { event: 'status', args: ['running'] });
  });

  test('malformed frames are null', () => {
    for (const text of malformed) assert.equal(parseFrame(text), null, JSON.stringify(text));
  });

  test('huge and deeply nested input is null, without throwing', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.equal(parseFrame(deep(200_000)), null);
    assert.equal(parseFrame(`{"event":"status","args":${deep(100_000)}}`), null);
    assert.equal(parseFrame(`{"event":"status","extra":${deep(100_000)}}`)?.event, 'status');
    assert.equal(packetToEvent({ event: 'stats', args: [deep(100_000)] }), null);
    assert.equal(statsFromWire(`{"network":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`), null);
    const long = 'x'.repeat(1 << 20);
    assert.deepEqual(packetToEvent(parseFrame(formatFrame('console output', [long]))!), { type: 'server.console', data: { line: long } });
  });

  test('isControlEvent: the four events the upstream link handles itself', () => {
    for (const e of ['auth success', 'token expiring', 'token expired', 'jwt error']) assert.equal(isControlEvent(e), true, e);
    for (const e of ['status', 'console output', 'daemon error', 'auth', 'Auth Success', '']) assert.equal(isControlEvent(e), false, e);
  });
});

describe('relay → Wings dashboard: eventToPacket + encode', () => {
  test('a link state has no frame: encoded empty, for the session to act on (a 4409 close), never unmapped', () => {
    const e = event('upstream.state', { state: 'failed', reason: 'server suspended (4409)', resource: 'server', id: '8a4b0c1d', code: 'BRIDGE_ERR_SUSPENDED' });
    assert.equal(encode(e, PLAIN), '');
    assert.equal(eventToPacket(e, PLAIN), null);
  });

  for (const c of dashboardCases) {
    test(c.name, () => {
      const variant = variantFor(c.permissions ?? ['websocket.connect']);
      const e = event(c.type, c.data);
      assert.equal(encode(e, variant), c.frame);
      const p = eventToPacket(e, variant);
      assert.equal(p === null ? null : formatFrame(p.event, p.args), c.frame);
    });
  }

  test('formatFrame writes exact strings and omits empty args', () => {
    assert.equal(formatFrame('auth success'), '{"event":"auth success"}');
    assert.equal(formatFrame('auth success', []), '{"event":"auth success"}');
    assert.equal(formatFrame('auth', ['t.o.k']), '{"event":"auth","args":["t.o.k"]}');
    assert.equal(formatFrame('install started', ['']), '{"event":"install started","args":[""]}');
    assert.equal(formatFrame('console output', ['a "b"\n\\']), '{"event":"console output","args":["a \\"b\\"\\n\\\\"]}');
  });

  test('variantFor: only admin.websocket.errors changes the variant (`*` does not grant admin.*)', () => {
    assert.notEqual(ADMIN, PLAIN);
    assert.equal(variantFor([]), PLAIN);
    assert.equal(variantFor(['*']), PLAIN);
    assert.equal(variantFor(['*', 'admin.websocket.errors']), ADMIN);
    assert.equal(variantFor(['admin.websocket.install', 'admin.websocket.transfer']), PLAIN);
  });

  test('an unknown variant never shows the real daemon error', () => {
    const frame = encode(event('server.daemon.error', { message: 'secret path /srv/x' }), 'no-such-variant');
    assert.equal(frame, '{"event":"daemon error","args":["an unexpected error was encountered while handling this request"]}');
  });

  test('round trip: every mapped server frame re-encodes to the same canonical event', () => {
    for (const c of serverCases) {
      if (c.event === null) continue;
      const frame = encode(event(c.event.type, c.event.data), ADMIN);
      assert.ok(frame, c.name);
      assert.deepEqual(packetToEvent(parseFrame(frame)!), c.event, c.name);
    }
  });

  test('argument-less frames are shared constants; the same event encodes to the same string', () => {
    const e = event('server.install.started', {});
    assert.equal(encode(e, PLAIN), encode(e, ADMIN));
    assert.equal(eventToPacket(e, PLAIN)?.args, eventToPacket(e, ADMIN)?.args);
  });
});

describe('commands', () => {
  for (const c of clientCases.commands) {
    test(`dashboard: ${c.name}`, () => {
      const p = parseFrame(c.frame);
      assert.ok(p, c.frame);
      assert.deepEqual(packetToCommand(p), c.command);
    });
  }
  for (const c of clientCases.upstream) {
    test(`upstream: ${c.name}`, () => {
      const p = commandToPacket(c.command);
      assert.equal(p === null ? null : formatFrame(p.event, p.args), c.frame);
    });
  }

  test('round trip: every accepted command survives commandToPacket → wire → packetToCommand', () => {
    for (const c of clientCases.commands) {
      if (c.command === null) continue;
      const p = commandToPacket(c.command);
      assert.ok(p, c.name);
      assert.deepEqual(packetToCommand(parseFrame(formatFrame(p.event, p.args))!), c.command, c.name);
    }
  });
});

describe('stats JSON', () => {
  test('statsToWire writes Wings key order; statsFromWire reads any order and drops extra keys', () => {
    assert.equal(statsToWire(RUNNING), RUNNING_WIRE);
    const shuffled = `{"disk_bytes":52428800,"x":[1],"state":"running","network":{"tx_bytes":2048,"y":null,"rx_bytes":1024},"uptime":123456,"cpu_absolute":12.5,"memory_limit_bytes":1073741824,"memory_bytes":268435456}`;
    assert.deepEqual(statsFromWire(shuffled), RUNNING);
    assert.deepEqual(statsFromWire(statsToWire(RUNNING)), RUNNING);
  });

  test('bad stats JSON is null', () => {
    const bad = ['', 'nope', 'null', '[]', '{}', '42', '"stats"', RUNNING_WIRE.slice(0, -1), RUNNING_WIRE.replace('12.5', '"12.5"'),
      RUNNING_WIRE.replace('{"rx_bytes":1024,"tx_bytes":2048}', 'null'), RUNNING_WIRE.replace('"running"', 'null')];
    for (const text of bad) assert.equal(statsFromWire(text), null, text);
    assert.equal(statsFromWire(undefined as unknown as string), null);
  });
});

// ---- randomized robustness: nothing throws, whatever arrives ------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('robustness', () => {
  const r = rng(20240611);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const EVENTS = [...Object.values(SERVER_EVENTS), ...Object.values(CLIENT_EVENTS), '', 'x'];
  const TYPES = [...new Set(dashboardCases.map((c) => c.type)), 'upstream.message', 'server.logs.request'];
  const KEYS = ['event', 'args', 'line', 'message', 'state', 'status', 'action', 'network', 'uuid', 'memory_bytes', 'rxBytes', '__proto__'];
  const TOKENS = ['{', '}', '[', ']', '"', ':', ',', '\\', 'null', 'true', '1e999', '-0', '"event"', '"args"', '"stats"', ' ', '\u0000', '\ud800', '😀'];
  const FRAMES = [...serverCases.map((c) => c.frame), ...clientCases.commands.map((c) => c.frame)];

  function value(depth: number): unknown {
    switch (Math.floor(r() * (depth > 3 ? 6 : 9))) {
      case 0: return null;
      case 1: return pick([0, -1, 1.5, NaN, Infinity, -0, 2 ** 60]);
      case 2: return pick(EVENTS);
      case 3: return r() < 0.5;
      case 4: return undefined;
      case 5: return pick(['running', 'start', '', '{}', RUNNING_WIRE]);
      case 6: return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = {};
        for (let i = Math.floor(r() * 5); i > 0; i--) o[pick(KEYS)] = value(depth + 1);
        return o;
      }
    }
  }
  function text(): string {
    switch (Math.floor(r() * 4)) {
      case 0: return Array.from({ length: Math.floor(r() * 30) }, () => pick(TOKENS)).join('');
      case 1: return JSON.stringify(value(0)) ?? 'undefined';
      case 2: return JSON.stringify({ event: pick(EVENTS), args: value(1) });
      default: {
        const f = pick(FRAMES);
        const at = Math.floor(r() * f.length);
        return f.slice(0, at) + pick(TOKENS) + f.slice(at + Math.floor(r() * 3));
      }
    }
  }
  function noThrow<T>(label: string, input: unknown, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      return assert.fail(`${label} threw ${String(err)} on ${String(JSON.stringify(input)).slice(0, 200)}`);
    }
  }

  test('5000 generated garbage inputs: no throw, and every result is well-formed', () => {
    for (let i = 0; i < 5000; i++) {
      const t = text();
      const p = noThrow('parseFrame', t, () => parseFrame(t));
      if (p) assert.ok(typeof p.event === 'string' && p.args.every((a) => typeof a === 'string'), t);
      const junk = (r() < 0.5 ? { event: pick(EVENTS), args: value(1) } : value(0)) as WingsPacket;
      for (const q of [p, junk]) {
        noThrow('packetToEvent', q, () => packetToEvent(q!));
        noThrow('packetToCommand', q, () => packetToCommand(q!));
      }
      noThrow('statsFromWire', t, () => statsFromWire(t));
      const stats = JSON.stringify({ ...RUNNING, [pick(KEYS)]: value(1) });
      noThrow('statsFromWire', stats, () => statsFromWire(stats));
      const e = event(pick(TYPES), value(0));
      const frame = noThrow('encode', e, () => encode(e, pick([ADMIN, PLAIN, ''])));
      // The empty frame is how a link's state reaches a session (it closes; nothing is sent).
      if (frame === '') assert.equal(e.type, 'upstream.state');
      else if (frame !== null) assert.ok(parseFrame(frame), `encode wrote an invalid frame: ${frame}`);
      const c = { type: pick(TYPES), data: value(0) };
      noThrow('commandToPacket', c, () => commandToPacket(c));
    }
  });
});
