/**
 * Generators of what a hostile client sends: HTTP request lines and headers (plain or as an
 * upgrade), and per dialect a connection: the upgrade target and credential, then a random
 * sequence of frames — text, binary, oversized, invalid UTF-8, fragments, control frames, bad
 * opcodes, unmasked frames, deep JSON, `__proto__`/`constructor` keys, the dialect's own valid
 * frames in random order, and credentials (valid, expired, forged, misplaced) anywhere.
 *
 * Everything generated is plain data (printable when a property fails, and shrinkable). JWTs are
 * signed inside the generators (synchronously) and recorded in the {@link SecretBook}. Two
 * placeholders are filled in when a case runs, since they need a request to the relay first:
 * `@@TICKET@@` (a Semoxy ticket from the ticket endpoint) and `@@WTOKEN@@` (a Wings token from the
 * panel-compatible token endpoint).
 */
import fc from 'fast-check';
import { GUILD, JWT_SECRET, KEYS, PANEL_SERVERS, S1, S2, SecretBook, WRONG_JWT_SECRET, signHs256 } from './secrets.ts';

export type FrameSpec =
  | { t: 'text'; s: string }
  | { t: 'binary'; b: number[] }
  | { t: 'badUtf8'; s: string; bad: number[] }
  | { t: 'oversized'; n: number; binary: boolean }
  | { t: 'fragmented'; parts: string[]; pingBetween: boolean }
  | { t: 'ping'; s: string }
  | { t: 'pong'; s: string }
  | { t: 'bigPing' }
  | { t: 'badOpcode'; op: number }
  | { t: 'unmasked'; s: string }
  | { t: 'rsv'; rsv: number; s: string }
  | { t: 'orphanContinuation'; s: string }
  | { t: 'close'; code: number | null; reason: string }
  | { t: 'pause'; ms: number }
  /** Half a frame, then a TCP reset: the session must end cleanly on the relay's side. */
  | { t: 'abort'; s: string; cut: number };

/**
 * One connection: its request, and after a 101 the frame sequences of the cases it carries, one
 * after the other on the same session (so a later sequence meets the state an earlier one left:
 * authenticated, subscribed, throttled). A connection without sequences is one case: its upgrade.
 */
export interface CaseSpec {
  method: string;
  target: string;
  /** Send the upgrade headers (with this variation of them). */
  upgrade: 'good' | 'badKey' | 'badVersion' | 'noKey' | 'none';
  headers: [string, string][];
  sequences: FrameSpec[][];
  lingerMs: number;
}

export type Dialect = 'wings' | 'felix' | 'gateway' | 'panel' | 'cloudevents';

/** What the generators need to know of the relay under test. */
export interface GenEnv {
  /** `host:port` of the relay, for a valid Host header. */
  hostPort: string;
  /** Whole seconds: the time JWT claims are relative to. */
  nowS: number;
  /** `limits.maxPayloadBytes` (oversized frames are just past it). */
  maxPayload: number;
  book: SecretBook;
}

/** encodeURIComponent, which throws on a lone surrogate: that one is sent as the bytes of one. */
function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

const W = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

// ---- shared building blocks ----------------------------------------------------------------

const unicode = fc.string({ unit: 'binary', maxLength: 24 });
const ascii = fc.string({ unit: 'binary-ascii', maxLength: 24 });
const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), minLength: 1, maxLength: 12 });
const weirdString = fc.oneof(
  ascii,
  unicode,
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\uffff', '%00', '../..', '*', '>', '.', '__proto__', 'constructor', 'prototype', 'toString', 'null', 'NaN', '\u202e', '😀', 'a'.repeat(300)),
);

/** JSON nested `depth` levels deep, as text (a parser's recursion is the target). */
const deepJson = fc.tuple(fc.integer({ min: 50, max: 3000 }), fc.constantFrom('[', '{"a":', '{"__proto__":'), fc.boolean()).map(([depth, open, closed]) => {
  const close = open === '[' ? ']' : '}';
  return open.repeat(depth) + '1' + (closed ? close.repeat(depth) : '');
});

/** Objects whose keys are the ones that poison prototypes when merged naively. */
const protoKeys = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }), fc.dictionary(word, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
  .map(([k, v, rest]) => ({ k, v, rest }));

/**
 * A JSON text with a prototype-poisoning key at the top, or as the value of `nested` (JSON.stringify
 * would drop an own `__proto__`, so the text is spliced).
 */
function withProtoKey(base: Record<string, unknown>, p: { k: string; v: unknown; rest: Record<string, unknown> }, nested: string | null): string {
  const poison = `{${JSON.stringify(p.k)}:${JSON.stringify(p.v ?? null)},"constructor":{"prototype":{"polluted":true}}}`;
  const obj: Record<string, unknown> = { ...p.rest, ...base };
  if (nested !== null && nested in obj) {
    obj[nested] = '@@POISON@@';
    return JSON.stringify(obj).replace('"@@POISON@@"', poison);
  }
  const body = JSON.stringify(obj).slice(1, -1);
  return `{${[`${JSON.stringify(p.k)}:${poison}`, body].filter((x) => x !== '').join(',')}}`;
}

const anyJsonText = fc.oneof(fc.json({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map((v) => JSON.stringify(v) ?? 'null'));

/** Garbage any dialect should survive. */
const junkText = fc.oneof(
  W(3, weirdString),
  W(3, anyJsonText),
  W(1, deepJson),
  W(1, fc.constantFrom('{', '}', '[', '"', 'null', 'true', '0', '-0', '1e400', '[]', '{}', '""', '{"a":1,"a":2}', '\ufeff{}', ' {} ')),
);

/** Text frames of a dialect, wrapped into every kind of WebSocket frame. */
function frames(dialectText: fc.Arbitrary<string>, maxPayload: number): fc.Arbitrary<FrameSpec> {
  const text = fc.oneof(W(6, dialectText), W(2, junkText));
  return fc.oneof(
    W(30, text.map((s): FrameSpec => ({ t: 'text', s }))),
    W(3, fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((b): FrameSpec => ({ t: 'binary', b }))),
    W(2, text.map((s): FrameSpec => ({ t: 'binary', b: [...Buffer.from(s)] }))),
    W(2, fc.tuple(ascii, fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0x80])).map(([s, bad]): FrameSpec => ({ t: 'badUtf8', s, bad: [...bad] }))),
    W(1, fc.tuple(fc.integer({ min: 1, max: 64 }), fc.boolean()).map(([extra, binary]): FrameSpec => ({ t: 'oversized', n: maxPayload + extra, binary }))),
    W(3, fc.tuple(dialectText, fc.integer({ min: 2, max: 4 }), fc.boolean()).map(([s, n, pingBetween]): FrameSpec => {
      const step = Math.max(1, Math.ceil(s.length / n));
      const parts: string[] = [];
      for (let i = 0; i < s.length; i += step) parts.push(s.slice(i, i + step));
      return { t: 'fragmented', parts: parts.length > 0 ? parts : [''], pingBetween };
    })),
    W(1, ascii.map((s): FrameSpec => ({ t: 'ping', s }))),
    W(1, ascii.map((s): FrameSpec => ({ t: 'pong', s }))),
    W(1, fc.constant<FrameSpec>({ t: 'bigPing' })),
    W(1, fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15).map((op): FrameSpec => ({ t: 'badOpcode', op }))),
    W(1, ascii.map((s): FrameSpec => ({ t: 'unmasked', s }))),
    W(1, fc.tuple(fc.integer({ min: 1, max: 7 }), ascii).map(([rsv, s]): FrameSpec => ({ t: 'rsv', rsv, s }))),
    W(1, ascii.map((s): FrameSpec => ({ t: 'orphanContinuation', s }))),
    W(1, fc.tuple(fc.option(fc.constantFrom(0, 999, 1000, 1001, 1004, 1005, 1006, 1015, 1016, 2999, 3000, 4000, 4999, 5000, 65535), { nil: null }), ascii).map(([code, reason]): FrameSpec => ({ t: 'close', code, reason }))),
    W(1, fc.integer({ min: 1, max: 15 }).map((ms): FrameSpec => ({ t: 'pause', ms }))),
    W(1, fc.tuple(dialectText, fc.integer({ min: 0, max: 40 })).map(([s, cut]): FrameSpec => ({ t: 'abort', s, cut }))),
  );
}

/** Up to six cases' frame sequences for one connection, each of one to `max` frames. */
const frameList = (dialectText: fc.Arbitrary<string>, env: GenEnv, max = 6) =>
  fc.array(fc.array(frames(dialectText, env.maxPayload), { minLength: 1, maxLength: max }), { maxLength: 6, size: 'max' });
/** Mostly no wait (the close handshake is the sync point); sometimes a short one, to see late reactions. */
const linger = fc.oneof(W(6, fc.constant(0)), W(2, fc.integer({ min: 1, max: 25 })));

const keyish = fc.oneof(
  W(4, fc.constant(KEYS.fuzz)),
  W(1, fc.constant(KEYS.narrow)),
  W(2, fc.constantFrom('ptlc_wrong_key_000000000000', '', ' ', 'null', 'Bearer', 'a'.repeat(5000), '\u00e9\u00e9', KEYS.fuzz.toUpperCase(), `${KEYS.fuzz} `, `${KEYS.fuzz}\u0000`)),
  W(1, weirdString),
);

/** Wings permissions, a random subset of them (with `*` and admin ones). */
const permissions = fc.subarray(['*', 'websocket.connect', 'control.console', 'control.start', 'control.stop', 'control.restart', 'admin.websocket.errors', 'admin.websocket.install', 'admin.websocket.transfer', 'backup.read', 'x.y']);

/** A JWT as a client may present it: valid, expired, early, forged, for the wrong server, or not a JWT. */
function jwtArb(env: GenEnv): fc.Arbitrary<string> {
  const claims = fc.record({
    server_uuid: fc.oneof(W(6, fc.constantFrom(S1, S2)), W(1, fc.constantFrom(S1.slice(0, 8), '', 'nope')), W(1, weirdString)),
    permissions: fc.oneof(W(6, permissions), W(1, fc.jsonValue({ maxDepth: 1 }))),
    exp: fc.oneof(W(6, fc.integer({ min: 60, max: 3600 }).map((d) => env.nowS + d)), W(2, fc.integer({ min: -3600, max: 0 }).map((d) => env.nowS + d)), W(1, fc.constantFrom(env.nowS + 10 * 86400, 1e12, -1, 0))),
    iat: fc.oneof(W(6, fc.constant(env.nowS - 5)), W(1, fc.constantFrom(env.nowS + 3600, 0, -1))),
    scope: fc.option(fc.constantFrom('websocket', 'server', ''), { nil: undefined }),
    user_uuid: fc.option(fc.uuid(), { nil: undefined }),
  });
  const signed = fc.tuple(claims, fc.oneof(W(8, fc.constant(JWT_SECRET)), W(1, fc.constant(WRONG_JWT_SECRET))), fc.constantFrom('HS256', 'HS256', 'HS256', 'none', 'RS256', 'HS512')).map(([c, secret, alg]) => {
    const clean = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
    const token = signHs256(secret, clean, { alg, typ: 'JWT' });
    env.book.add(token);
    return token;
  });
  return fc.oneof(
    W(8, signed),
    W(1, fc.constant('@@WTOKEN@@')),
    W(1, signed.map((t) => t.split('.').slice(0, 2).join('.') + '.')),
    W(1, signed.map((t) => `${t.slice(0, -3)}AAA`)),
    W(1, fc.constantFrom('', 'a.b.c', 'eyJ.eyJ.x', '....', 'Bearer x')),
    W(1, weirdString),
  );
}

/** A header list: a Host (usually right), some from `extra`, sometimes junk and duplicates. */
function headerList(env: GenEnv, extra: fc.Arbitrary<[string, string]>[]): fc.Arbitrary<[string, string][]> {
  const host = fc.oneof(
    W(12, fc.constant<[string, string]>(['Host', env.hostPort])),
    W(1, fc.constantFrom<[string, string][]>(['Host', 'localhost'], ['Host', 'evil.example'], ['Host', ''], ['Host', '[::1]'], ['Host', 'a b'], ['Host', '127.0.0.1:99999'], ['Host', 'ex\u00e4mple.com'], ['Host', 'a'.repeat(300)])),
  );
  const junk = fc.oneof(
    fc.constantFrom<[string, string][]>(
      ['X-Forwarded-For', '1.2.3.4, 5.6.7.8'],
      ['X-Forwarded-For', 'garbage, ::ffff:1.2.3.4'],
      ['X-Forwarded-Proto', 'gopher'],
      ['Origin', 'http://evil.example'],
      ['Origin', 'null'],
      ['Cookie', 'session=abc'],
      ['Content-Length', '0'],
      ['Accept', 'application/json'],
      ['Sec-WebSocket-Protocol', 'a, b'],
      ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
    ),
    fc.tuple(word, weirdString).map(([k, v]): [string, string] => [`X-${k}`, v]),
  );
  const wanted = fc.tuple(fc.subarray(extra.length > 0 ? extra : [fc.constant<[string, string]>(['Accept', '*/*'])]), fc.array(junk, { maxLength: 2 }));
  return fc.tuple(fc.option(host, { nil: null, freq: 20 }), wanted.chain(([arbs, j]) => (arbs.length === 0 ? fc.constant([] as [string, string][]) : fc.tuple(...arbs)).map((hs) => [...hs, ...j]))).map(([h, rest]) => (h ? [h, ...rest] : rest));
}

const upgradeKind = fc.oneof(W(20, fc.constant<CaseSpec['upgrade']>('good')), W(1, fc.constantFrom<CaseSpec['upgrade']>('badKey', 'badVersion', 'noKey')));
const upgradeMethod = fc.oneof(W(30, fc.constant('GET')), W(1, fc.constantFrom('POST', 'HEAD', 'get', 'PUT')));

/** A query string: nothing, junk, or a credential where none belongs. */
const junkQuery = fc.oneof(
  W(8, fc.constant('')),
  W(1, fc.constantFrom('?', '?a=1&a=2', '?%zz', '?ticket=', '?key=' + KEYS.fuzz, '?token=x', '?' + '&'.repeat(50))),
  W(1, weirdString.map((s) => `?q=${enc(s)}`)),
);

// ---- dialects ----------------------------------------------------------------------------

function wingsCase(env: GenEnv): fc.Arbitrary<CaseSpec> {
  const jwt = jwtArb(env);
  const server = fc.oneof(W(8, fc.constantFrom(S1, S2)), W(1, fc.constantFrom(S1.slice(0, 8), '00000000-0000-4000-8000-000000000000', '%zz', '..', PANEL_SERVERS[0])), W(1, word));
  const json = (o: unknown) => JSON.stringify(o);
  const valid = fc.oneof(
    W(6, jwt.map((t) => json({ event: 'auth', args: [t] }))),
    W(3, fc.oneof(ascii, unicode, fc.constant('a'.repeat(2000))).map((line) => json({ event: 'send command', args: [line] }))),
    W(2, fc.constantFrom('start', 'stop', 'restart', 'kill', 'explode', '').map((a) => json({ event: 'set state', args: [a] }))),
    W(2, fc.constantFrom('send logs', 'send stats').map((event) => json({ event, args: [] }))),
    W(1, fc.constantFrom('send logs', 'send stats', 'auth').map((event) => json({ event }))),
  );
  const odd = fc.oneof(
    fc.tuple(fc.constantFrom('auth', 'send command', 'set state', 'send logs'), fc.jsonValue({ maxDepth: 2 })).map(([event, args]) => json({ event, args })),
    fc.tuple(weirdString, fc.array(weirdString, { maxLength: 3 })).map(([event, args]) => json({ event, args })),
    fc.tuple(jwt, protoKeys, fc.constantFrom(null, 'args')).map(([t, p, nested]) => withProtoKey({ event: 'auth', args: [t] }, p, nested)),
    fc.tuple(protoKeys, fc.constantFrom('send command', 'set state')).map(([p, event]) => withProtoKey({ event, args: ['x'] }, p, null)),
    fc.jsonValue({ maxDepth: 2 }).map((event) => json({ event, args: [] })),
  );
  return fc.record({
    method: upgradeMethod,
    target: fc.tuple(server, junkQuery).map(([s, q]) => `/api/servers/${s}/ws${q}`),
    upgrade: upgradeKind,
    headers: headerList(env, [fc.constantFrom<[string, string]>(['Origin', 'http://dash.example'], ['Origin', 'null']), jwt.map((t): [string, string] => ['Authorization', `Bearer ${t}`])]),
    sequences: frameList(fc.oneof(W(5, valid), W(2, odd)), env),
    lingerMs: linger,
  });
}

function felixCase(env: GenEnv): fc.Arbitrary<CaseSpec> {
  const id = fc.oneof(W(4, fc.constantFrom(GUILD, '123456789012345678', '1', '0')), W(1, weirdString), W(1, fc.jsonValue({ maxDepth: 1 })));
  const ids = fc.oneof(W(6, fc.array(id, { maxLength: 8 })), W(1, fc.array(fc.constant(GUILD), { minLength: 60, maxLength: 90 })), W(1, fc.jsonValue({ maxDepth: 1 })));
  const json = (o: unknown) => JSON.stringify(o);
  const valid = fc.oneof(
    W(4, fc.constant(json({ code: 20001 }))),
    W(4, fc.tuple(ids, ids).map(([users, guilds]) => json({ code: 20002, data: { users, guilds } }))),
    W(1, fc.tuple(ids).map(([guilds]) => json({ code: 20002, data: { guilds } }))),
  );
  const odd = fc.oneof(
    fc.tuple(fc.oneof(fc.integer(), fc.constantFrom(10001, 10002, 20000, 20003, '20002', 2e4 + 1.5, -1)), fc.jsonValue({ maxDepth: 2 })).map(([code, data]) => json({ code, data })),
    fc.tuple(protoKeys, fc.constantFrom(null, 'data')).map(([p, nested]) => withProtoKey({ code: 20002, data: { users: [], guilds: [GUILD] } }, p, nested)),
    fc.jsonValue({ maxDepth: 2 }).map((data) => json({ data })),
  );
  const auth = fc.oneof(
    W(8, keyish.map((k): [string, string] => ['Authorization', k])),
    W(1, keyish.map((k): [string, string] => ['Authorization', `Bearer ${k}`])),
    W(1, jwtArb(env).map((t): [string, string] => ['Authorization', t])),
  );
  return fc.record({
    method: upgradeMethod,
    target: fc.tuple(fc.oneof(W(12, fc.constant('/felix')), W(1, fc.constantFrom('/felix/', '/Felix', '/felix/x'))), junkQuery).map(([p, q]) => p + q),
    upgrade: upgradeKind,
    // Usually one Authorization header (the listener refuses the upgrade without a good one), sometimes none or two.
    headers: fc.oneof(W(6, fc.tuple(auth, headerList(env, [])).map(([a, hs]) => [...hs, a])), W(1, headerList(env, [auth, auth]))),
    sequences: frameList(fc.oneof(W(5, valid), W(2, odd)), env),
    lingerMs: linger,
  });
}

function gatewayCase(env: GenEnv): fc.Arbitrary<CaseSpec> {
  const room = fc.oneof(W(8, fc.constantFrom('lobby', 'games')), W(1, fc.constantFrom('nope', '', 'LOBBY', 'lobby%00', '*', '>')), W(1, weirdString.map(enc)));
  const participant = fc.oneof(W(6, word), W(1, weirdString.map(enc)), W(1, fc.constant(KEYS.fuzz)));
  const query = fc.oneof(
    W(8, fc.tuple(room, participant).map(([r, p]) => `?roomId=${r}&participantId=${p}`)),
    W(1, room.map((r) => `?roomId=${r}`)),
    W(1, fc.tuple(room, participant).map(([r, p]) => `?participantId=${p}&roomId=${r}&roomId=games`)),
    W(1, junkQuery),
  );
  const json = (o: unknown) => JSON.stringify(o);
  const valid = fc.oneof(W(6, fc.constant(json({ e: 1, d: {} }))), W(1, fc.constant(json({ e: 1 }))), W(1, fc.constant(json({ e: 2, d: {} }))));
  const odd = fc.oneof(
    fc.tuple(fc.oneof(fc.integer({ min: -1, max: 12 }), fc.constantFrom('1', 1.5, null, true)), fc.jsonValue({ maxDepth: 2 })).map(([e, d]) => json({ e, d })),
    fc.tuple(protoKeys, fc.constantFrom(null, 'd')).map(([p, nested]) => withProtoKey({ e: 1, d: {} }, p, nested)),
  );
  return fc.record({
    method: upgradeMethod,
    target: query.map((q) => `/gateway${q}`),
    upgrade: upgradeKind,
    headers: headerList(env, [fc.constantFrom<[string, string]>(['Cookie', 'participant=relay'], ['Origin', 'http://anonroom.example'])]),
    // Most gateway frames that are not heartbeats end the session: keep valid ones in front.
    sequences: frameList(fc.oneof(W(8, valid), W(1, odd)), env),
    lingerMs: linger,
  });
}

function panelCase(env: GenEnv): fc.Arbitrary<CaseSpec> {
  const intent = fc.oneof(
    W(4, fc.constantFrom('console.*', 'stat.*', `console.${PANEL_SERVERS[0]}`, `stat.${PANEL_SERVERS[1]}`, `console.${S1}`)),
    W(1, fc.constantFrom('', '*', 'console.', 'console.>', 'stat.*.*')),
    W(1, weirdString),
  );
  const json = (o: unknown) => JSON.stringify(o);
  const valid = fc.oneof(
    W(4, keyish.map((sessionId) => json({ action: 'AUTHENTICATE', data: { sessionId } }))),
    W(3, fc.tuple(fc.constantFrom('ENABLE_INTENT', 'DISABLE_INTENT'), intent).map(([action, i]) => json({ action, data: { intent: i } }))),
    W(1, fc.constant('hello')),
  );
  const odd = fc.oneof(
    fc.tuple(fc.oneof(fc.constantFrom('AUTHENTICATE', 'ENABLE_INTENT', 'SERVER_ADD', 'CONSOLE_LINE', 'META_MESSAGE', ''), weirdString), fc.jsonValue({ maxDepth: 2 })).map(([action, data]) => json({ action, data })),
    fc.tuple(protoKeys, fc.constantFrom(null, 'data')).map(([p, nested]) => withProtoKey({ action: 'AUTHENTICATE', data: { sessionId: KEYS.fuzz } }, p, nested)),
    fc.jsonValue({ maxDepth: 2 }).map((data) => json({ data })),
  );
  const ticket = fc.oneof(
    W(4, fc.constant('')),
    W(4, fc.constant('?ticket=@@TICKET@@')),
    W(1, fc.constantFrom('?ticket=', '?ticket=nope', '?ticket=@@TICKET@@&ticket=x', '?ticket=@@TICKET@@%00')),
    W(1, weirdString.map((s) => `?ticket=${enc(s)}`)),
  );
  return fc.record({
    method: upgradeMethod,
    target: fc.tuple(fc.oneof(W(12, fc.constant('/server/events')), W(1, fc.constantFrom('/server/events/', '/server/Events'))), ticket).map(([p, q]) => p + q),
    upgrade: upgradeKind,
    headers: headerList(env, [keyish.map((k): [string, string] => ['Authorization', `Bearer ${k}`])]),
    sequences: frameList(fc.oneof(W(5, valid), W(2, odd)), env),
    lingerMs: linger,
  });
}

function cloudeventsCase(env: GenEnv): fc.Arbitrary<CaseSpec> {
  const token = fc.oneof(
    W(6, fc.constantFrom('up', 'bot', 'panel', 'rooms', 'server', 'guild', 'room', 'bot', 'upstream', S1, S2, PANEL_SERVERS[0], 'lobby', 'console', 'status', '*', '>', '_')),
    W(1, fc.constantFrom('', '%2E', '%', 'nope', ' ', '..')),
    W(1, weirdString),
  );
  const subject = fc.oneof(W(6, fc.array(token, { minLength: 1, maxLength: 6 }).map((t) => t.join('.'))), W(1, fc.constantFrom('>', '*.>', 'up.>', '', 'a'.repeat(600))), W(1, weirdString));
  const json = (o: unknown) => JSON.stringify(o);
  const valid = fc.oneof(
    W(5, fc.tuple(fc.constantFrom('subscribe', 'unsubscribe'), subject).map(([op, s]) => json({ op, subject: s }))),
    W(3, keyish.map((key) => json({ op: 'auth', key }))),
  );
  const odd = fc.oneof(
    fc.tuple(fc.oneof(fc.constantFrom('subscribe', 'auth', 'publish', 'ping', ''), weirdString), fc.jsonValue({ maxDepth: 2 })).map(([op, subject]) => json({ op, subject, key: subject })),
    fc.tuple(protoKeys, fc.constantFrom(null)).map(([p, nested]) => withProtoKey({ op: 'subscribe', subject: 'up.>' }, p, nested)),
    fc.jsonValue({ maxDepth: 2 }).map((subject) => json({ op: 'subscribe', subject })),
  );
  const auth = fc.oneof(W(6, keyish.map((k): [string, string] => ['Authorization', `Bearer ${k}`])), W(1, keyish.map((k): [string, string] => ['Authorization', k])), W(1, keyish.map((k): [string, string] => ['Authorization', `Basic ${k}`])));
  return fc.record({
    method: upgradeMethod,
    target: fc.tuple(fc.oneof(W(12, fc.constant('/cloudevents')), W(1, fc.constantFrom('/cloudevents/', '/CloudEvents'))), junkQuery).map(([p, q]) => p + q),
    upgrade: upgradeKind,
    headers: fc.oneof(W(2, headerList(env, [auth])), W(1, headerList(env, []))),
    sequences: frameList(fc.oneof(W(5, valid), W(2, odd)), env),
    lingerMs: linger,
  });
}

export function dialectCase(dialect: Dialect, env: GenEnv): fc.Arbitrary<CaseSpec> {
  switch (dialect) {
    case 'wings':
      return wingsCase(env);
    case 'felix':
      return felixCase(env);
    case 'gateway':
      return gatewayCase(env);
    case 'panel':
      return panelCase(env);
    case 'cloudevents':
      return cloudeventsCase(env);
  }
}

// ---- the HTTP layer ----------------------------------------------------------------------

/** Any request to the port: odd targets, methods and headers, plain or as an upgrade. */
export function httpCase(env: GenEnv): fc.Arbitrary<CaseSpec> {
  const route = fc.constantFrom(
    '/healthz',
    '/readyz',
    '/metrics',
    '/',
    '/status',
    '/status.json',
    '/status/page.js',
    '/status/page.css',
    '/account/ticket',
    `/api/client/servers/${S1}/websocket`,
    `/api/client/servers/${S2}/websocket`,
    '/api/client/servers/%zz/websocket',
    '/api/client/servers//websocket',
    `/api/servers/${S1}/ws`,
    '/felix',
    '/gateway?roomId=lobby&participantId=x',
    '/server/events',
    '/cloudevents',
  );
  const target = fc.oneof(
    W(6, fc.tuple(route, junkQuery).map(([r, q]) => r + q)),
    W(3, fc.constantFrom('//', '///', '//[', '//a:b@', '//a:b@c/', '/\\', '/\\x', '%', '%%', '/%', '/%zz', '/%00', '/%2F%2F', '*', '', ' ', '?', '#', '/#x', 'http://x/healthz', 'http://[/', 'https://a:b@c/metrics', '/../../etc/passwd', '/healthz/../metrics', '//healthz', '/.', '/..')),
    W(1, fc.integer({ min: 1000, max: 20000 }).map((n) => '/' + 'a'.repeat(n))),
    W(1, fc.integer({ min: 100, max: 2000 }).map((n) => '/?' + 'x=1&'.repeat(n))),
    W(2, fc.array(fc.oneof(word, unicode, fc.constantFrom('..', '.', '', '%', '%zz', '[', ']', '@', ':')), { minLength: 1, maxLength: 5 }).map((segs) => '/' + segs.join('/'))),
    W(1, unicode),
  );
  const method = fc.oneof(
    W(10, fc.constant('GET')),
    W(4, fc.constantFrom('HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT')),
    W(1, fc.constantFrom('get', 'G\u00e9T', 'FOO', 'M-SEARCH', '', 'GET GET', 'PRI')),
  );
  const auth = fc.oneof(
    keyish.map((k): [string, string] => ['Authorization', `Bearer ${k}`]),
    keyish.map((k): [string, string] => ['Authorization', `Token ${k}`]),
    keyish.map((k): [string, string] => ['Authorization', k]),
    jwtArb(env).map((t): [string, string] => ['Authorization', `Bearer ${t}`]),
  );
  const framing = fc.constantFrom<[string, string][]>(['Content-Length', '5'], ['Transfer-Encoding', 'chunked'], ['Connection', 'upgrade'], ['Upgrade', 'h2c'], ['Expect', '100-continue'], ['Content-Length', '-1']);
  return fc.record({
    method,
    target,
    upgrade: fc.oneof(W(3, fc.constant<CaseSpec['upgrade']>('none')), W(2, upgradeKind)),
    headers: headerList(env, [auth, auth, framing, fc.constantFrom<[string, string]>(['Accept', 'text/html'], ['Accept', 'application/json'], ['Origin', 'http://x'])]),
    sequences: fc.constant([]),
    lingerMs: fc.constant(0),
  });
}
