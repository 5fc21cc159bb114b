/**
 * The building blocks of the fuzzer's generators (arbitraries.ts puts them together per dialect):
 * hostile strings and JSON, every kind of WebSocket frame around a dialect's text, credentials as
 * a client may present them (valid, expired, forged, misplaced), header lists and query strings.
 * JWTs are signed inside the generators (synchronously) and recorded in the {@link SecretBook}.
 */
import fc from 'fast-check';
import { JWT_SECRET, KEYS, S1, S2, SecretBook, WRONG_JWT_SECRET, signHs256 } from './secrets.ts';

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
export function enc(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

export const W = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

// ---- shared building blocks ----------------------------------------------------------------

export const unicode = fc.string({ unit: 'binary', maxLength: 24 });
export const ascii = fc.string({ unit: 'binary-ascii', maxLength: 24 });
export const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), minLength: 1, maxLength: 12 });
export const weirdString = fc.oneof(
  ascii,
  unicode,
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\uffff', '%00', '../..', '*', '>', '.', '__proto__', 'constructor', 'prototype', 'toString', 'null', 'NaN', '\u202e', '😀', 'a'.repeat(300)),
);

/** JSON nested `depth` levels deep, as text (a parser's recursion is the target). */
export const deepJson = fc.tuple(fc.integer({ min: 50, max: 3000 }), fc.constantFrom('[', '{"a":', '{"__proto__":'), fc.boolean()).map(([depth, open, closed]) => {
  const close = open === '[' ? ']' : '}';
  return open.repeat(depth) + '1' + (closed ? close.repeat(depth) : '');
});

/** Objects whose keys are the ones that poison prototypes when merged naively. */
export const protoKeys = fc
  .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }), fc.dictionary(word, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }))
  .map(([k, v, rest]) => ({ k, v, rest }));

/**
 * A JSON text with a prototype-poisoning key at the top, or as the value of `nested` (JSON.stringify
 * would drop an own `__proto__`, so the text is spliced).
 */
export function withProtoKey(base: Record<string, unknown>, p: { k: string; v: unknown; rest: Record<string, unknown> }, nested: string | null): string {
  const poison = `{${JSON.stringify(p.k)}:${JSON.stringify(p.v ?? null)},"constructor":{"prototype":{"polluted":true}}}`;
  const obj: Record<string, unknown> = { ...p.rest, ...base };
  if (nested !== null && nested in obj) {
    obj[nested] = '@@POISON@@';
    return JSON.stringify(obj).replace('"@@POISON@@"', poison);
  }
  const body = JSON.stringify(obj).slice(1, -1);
  return `{${[`${JSON.stringify(p.k)}:${poison}`, body].filter((x) => x !== '').join(',')}}`;
}

export const anyJsonText = fc.oneof(fc.json({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }).map((v) => JSON.stringify(v) ?? 'null'));

/** Garbage any dialect should survive. */
export const junkText = fc.oneof(
  W(3, weirdString),
  W(3, anyJsonText),
  W(1, deepJson),
  W(1, fc.constantFrom('{', '}', '[', '"', 'null', 'true', '0', '-0', '1e400', '[]', '{}', '""', '{"a":1,"a":2}', '\ufeff{}', ' {} ')),
);

/** Text frames of a dialect, wrapped into every kind of WebSocket frame. */
export function frames(dialectText: fc.Arbitrary<string>, maxPayload: number): fc.Arbitrary<FrameSpec> {
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
export const frameList = (dialectText: fc.Arbitrary<string>, env: GenEnv, max = 6) =>
  fc.array(fc.array(frames(dialectText, env.maxPayload), { minLength: 1, maxLength: max }), { maxLength: 6, size: 'max' });
/** Mostly no wait (the close handshake is the sync point); sometimes a short one, to see late reactions. */
export const linger = fc.oneof(W(6, fc.constant(0)), W(2, fc.integer({ min: 1, max: 25 })));

export const keyish = fc.oneof(
  W(4, fc.constant(KEYS.fuzz)),
  W(1, fc.constant(KEYS.narrow)),
  W(2, fc.constantFrom('ptlc_wrong_key_000000000000', '', ' ', 'null', 'Bearer', 'a'.repeat(5000), '\u00e9\u00e9', KEYS.fuzz.toUpperCase(), `${KEYS.fuzz} `, `${KEYS.fuzz}\u0000`)),
  W(1, weirdString),
);

/** Wings permissions, a random subset of them (with `*` and admin ones). */
export const permissions = fc.subarray(['*', 'websocket.connect', 'control.console', 'control.start', 'control.stop', 'control.restart', 'admin.websocket.errors', 'admin.websocket.install', 'admin.websocket.transfer', 'backup.read', 'x.y']);

/** A JWT as a client may present it: valid, expired, early, forged, for the wrong server, or not a JWT. */
export function jwtArb(env: GenEnv): fc.Arbitrary<string> {
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
export function headerList(env: GenEnv, extra: fc.Arbitrary<[string, string]>[]): fc.Arbitrary<[string, string][]> {
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

export const upgradeKind = fc.oneof(W(20, fc.constant<CaseSpec['upgrade']>('good')), W(1, fc.constantFrom<CaseSpec['upgrade']>('badKey', 'badVersion', 'noKey')));
export const upgradeMethod = fc.oneof(W(30, fc.constant('GET')), W(1, fc.constantFrom('POST', 'HEAD', 'get', 'PUT')));

/** A query string: nothing, junk, or a credential where none belongs. */
export const junkQuery = fc.oneof(
  W(8, fc.constant('')),
  W(1, fc.constantFrom('?', '?a=1&a=2', '?%zz', '?ticket=', '?key=' + KEYS.fuzz, '?token=x', '?' + '&'.repeat(50))),
  W(1, weirdString.map((s) => `?q=${enc(s)}`)),
);
