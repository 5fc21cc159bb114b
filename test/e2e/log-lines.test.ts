/**
 * What the relay logs, over real sockets, with its real log (src/log.ts) captured: start (version,
 * node, listeners, bus), every refused connection and failed authentication (reason, dialect and
 * listener, remote address, never the credential) at the upgrade, at a token endpoint and in a
 * session, the auth deadline, link state changes, limit hits (once per session for a per-session
 * limit; one line per address and limit per window for admission, with a count of the rest),
 * drain and stop. Floods make a bounded number of lines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/clock.ts';
import { createLog } from '../../src/log.ts';
import type { Relay } from '../../src/relay.ts';
import { CeClient } from '../helpers/cloudevents-client.ts';
import { rawUpgrade } from '../helpers/raw-http.ts';
import { JWT_SECRET, KEYS, S1, multiConfig, startMultiRelay } from '../helpers/reload-config.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

type Line = Record<string, any>;
const WRONG_KEY = 'ptlc_wrong_key_never_logged_123';
const WRONG_JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.never-logged-signature';

describe('log lines', () => {
  const raw: string[] = [];
  const lines = (): Line[] => raw.map((l) => JSON.parse(l) as Line);
  const find = (pred: (l: Line) => boolean) => lines().filter(pred);
  const clock = new ManualClock(Date.now());
  let relay: Relay;
  let ws: string;
  const open: { close(): void }[] = [];

  before(async () => {
    const config = multiConfig();
    config.log.level = 'info';
    config.limits.maxConnectionsPerAddress = 6;
    config.limits.inboundRate = { burst: 3, refillMs: 60_000 };
    relay = await startMultiRelay(config, { clock, log: createLog('info', { node: 'reload-node' }, (l) => void raw.push(l)) });
    ws = relay.url.replace(/^http/, 'ws');
  });

  after(async () => {
    for (const c of open) c.close();
    await relay.stop(500);
    // Drain and stop are logged.
    assert.equal(find((l) => l.msg === 'relay draining').length, 1);
    assert.equal(find((l) => l.msg === 'relay stopped').length, 1);
    const all = raw.join('');
    for (const secret of [...Object.values(KEYS), WRONG_KEY, WRONG_JWT, JWT_SECRET]) assert.equal(all.includes(secret), false, `${secret} in the log`);
  });

  test('start: version, node, every listener, the bus; link state changes with upstream, resource, id, state, reason', async () => {
    const [start] = find((l) => l.msg === 'relay listening');
    assert.ok(start);
    assert.match(start.version, /^\d+\.\d+\.\d+/);
    assert.equal(start.node, 'reload-node');
    assert.equal(start.bus, 'memory');
    assert.deepEqual(start.listeners.map((l: Line) => `${l.name}:${l.dialect}:${l.path}`), ['wings:wings:/api/servers/:server/ws', 'felix:felix:/felix', 'cloudevents:cloudevents:/cloudevents', 'panel:panel:/server/events']);
    await eventually(() => find((l) => l.msg === 'upstream link state' && l.upstream === 'up' && l.id === S1 && l.state === 'ready').length > 0, 5000, 'link ready line');
    const link = find((l) => l.msg === 'upstream link state' && l.id === S1)[0]!;
    for (const k of ['upstream', 'resource', 'id', 'state', 'reason']) assert.ok(k in link, k);
    assert.equal(link.owner, 'reload-node', 'on the memory bus this node owns every link');
  });

  test('a refused upgrade, a refused token request and a refused key in a session are each a line', async () => {
    await assert.rejects(CeClient.connect(`${ws}/cloudevents`, WRONG_KEY), (e: { status?: number }) => e.status === 401);
    const upgrade = await eventually(() => find((l) => l.msg === 'authentication failed' && l.status === 401 && l.dialect === 'cloudevents')[0]);
    assert.deepEqual({ listener: upgrade.listener, reason: upgrade.reason, address: upgrade.address, level: upgrade.level }, { listener: 'cloudevents', reason: 'auth', address: '127.0.0.1', level: 'warn' });

    const res = await fetch(`${relay.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${WRONG_KEY}` } });
    assert.equal(res.status, 401);
    const endpoint = await eventually(() => find((l) => l.msg === 'authentication failed' && l.route)[0]);
    assert.deepEqual({ dialect: endpoint.dialect, route: endpoint.route, status: endpoint.status, address: endpoint.address }, { dialect: 'wings', route: '/api/client/servers/:server/websocket', status: 401, address: '127.0.0.1' });

    const browser = await CeClient.connect(`${ws}/cloudevents`);
    open.push(browser);
    browser.send({ op: 'auth', key: WRONG_KEY });
    const session = await eventually(() => find((l) => l.msg === 'authentication failed' && l.conn !== undefined && l.dialect === 'cloudevents')[0]);
    assert.equal(session.reason, 'auth');

    const wings = await WingsClient.connect(`${ws}/api/servers/${S1}/ws`);
    open.push(wings);
    wings.send('auth', [WRONG_JWT]);
    await eventually(() => find((l) => l.msg === 'authentication failed' && l.dialect === 'wings' && l.conn !== undefined)[0]);
  });

  test('the auth deadline is a failed authentication, with its limit', async () => {
    const silent = await CeClient.connect(`${ws}/cloudevents`);
    await clock.advance(10_000);
    assert.equal((await silent.closed).code, 4103);
    const line = await eventually(() => find((l) => l.reason === 'auth_timeout')[0]);
    assert.deepEqual([line.msg, line.limit, line.dialect], ['authentication failed', 'authDeadlineMs', 'cloudevents']);
  });

  test('a per-session limit is one line per session, however many frames pass it', async () => {
    const c = await CeClient.connect(`${ws}/cloudevents`, KEYS.ops);
    open.push(c);
    for (let i = 0; i < 500; i++) c.send({ op: 'subscribe', subject: `up.server.${S1}.x${i}` });
    await c.next((f) => f.json?.subject === `up.server.${S1}.x2`);
    await eventually(async () => {
      const m = await relay.metrics.limitHits.get();
      return (m.values.find((v) => v.labels.limit === 'inboundRate')?.value ?? 0) >= 497;
    }, 4000, 'every frame past the rate counted');
    assert.equal(find((l) => l.msg === 'limit hit' && l.limit === 'inboundRate').length, 1);
  });

  test('an admission flood from one address is one line, and one summary with the count at the end of the window', async () => {
    const before = raw.length;
    const held: { destroy(): void }[] = [];
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      const { res, socket } = await rawUpgrade(relay.port, '/cloudevents', { authorization: `Bearer ${KEYS.ops}` });
      if (res.status === 101) held.push(socket);
      else refused += 1;
    }
    assert.ok(refused >= 50, `refused ${refused}`);
    const limitLines = lines().slice(before).filter((l) => l.msg === 'limit hit' && l.limit === 'maxConnectionsPerAddress');
    assert.equal(limitLines.length, 1);
    assert.equal(limitLines[0]!.address, '127.0.0.1');
    assert.ok(raw.length - before < 10, `${raw.length - before} lines for 60 upgrades`);
    await clock.advance(60_000);
    const summary = await eventually(() => lines().slice(before).find((l) => l.msg === 'log lines suppressed'));
    assert.equal(summary.byMessage['limit hit'], refused - 1);
    for (const s of held) s.destroy();
  });

  test('an upgrade to an unknown path is logged as refused', async () => {
    const { res, socket } = await rawUpgrade(relay.port, '/nowhere', {});
    socket.destroy();
    assert.equal(res.status, 404);
    const line = await eventually(() => find((l) => l.msg === 'upgrade refused')[0]);
    assert.deepEqual([line.code, line.status, line.address], ['BRIDGE_ERR_NOT_FOUND', 404, '127.0.0.1']);
  });
});
