/**
 * Generators of what a hostile client sends: per dialect a connection (the upgrade target and
 * credential, then the frame sequences of the cases it carries: the dialect's own valid frames in
 * random order, credentials anywhere, garbage, and every kind of bad WebSocket frame), and for
 * the HTTP layer any request (odd targets, methods and headers, plain or as an upgrade).
 *
 * Everything generated is plain data (printable when a property fails, and shrinkable). Two
 * placeholders are filled in when a case runs, since they need a request to the relay first:
 * `@@TICKET@@` (a Semoxy ticket from the ticket endpoint) and `@@WTOKEN@@` (a Wings token from the
 * panel-compatible token endpoint).
 */
import fc from 'fast-check';
import { GUILD, KEYS, PANEL_SERVERS, S1, S2 } from './secrets.ts';
import {
  W,
  ascii,
  enc,
  frameList,
  headerList,
  jwtArb,
  junkQuery,
  keyish,
  linger,
  protoKeys,
  unicode,
  upgradeKind,
  upgradeMethod,
  weirdString,
  withProtoKey,
  word,
  type CaseSpec,
  type Dialect,
  type GenEnv,
} from './arbitrary-parts.ts';

export type { CaseSpec, Dialect, FrameSpec, GenEnv } from './arbitrary-parts.ts';

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
