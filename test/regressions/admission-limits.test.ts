/**
 * Issue 9, defect 4 (the connection part): sockets were admitted without any limit (3 000 from
 * one address stayed open) and failed credentials could be retried without end. Now the port
 * admits an upgrade only within `limits.maxConnections`, `maxConnectionsPerAddress`,
 * `connectRatePerAddress` and `authFailuresPerAddress`, answered with plain HTTP before any
 * WebSocket exists and counted in `bridge_limit_hits_total{limit}`; the token and ticket
 * endpoints answer 429 while an address is blocked. The client address honours trustedProxies.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { ManualClock } from '../../src/clock.ts';
import { AddressAdmission, addressKey } from '../../src/downstream/admission.ts';
import { S1, startHarness, type Harness } from '../helpers/wings-harness.ts';
import { eventually } from '../helpers/wings-client.ts';
import { rawUpgrade } from '../helpers/raw-http.ts';
import { startPanelHarness, type PanelHarness } from '../helpers/panel-harness.ts';

const PATH = `/api/servers/${S1}/ws`;
const OPEN_RATE = { burst: 100, refillMs: 10 };

let h: Harness | undefined;
let ph: PanelHarness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await h?.stop();
  await ph?.stop();
  h = undefined;
  ph = undefined;
});

async function upgrade(harness: { relay: { port: number } }, path = PATH, from?: string) {
  const { res, socket } = await rawUpgrade(harness.relay.port, path, from ? { 'X-Forwarded-For': from } : {});
  if (res.status === 101) sockets.push(socket);
  return { status: res.status, body: res.body ? JSON.parse(res.body) : null, retryAfter: res.headers['retry-after'], socket };
}

async function limitHits(harness: { relay: Harness['relay'] }, limit: string): Promise<number> {
  const m = await harness.relay.metrics.limitHits.get();
  return m.values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

const openCount = (harness: Harness) => (harness.relay.server.admission as AddressAdmission).open;

describe('connection limits on the upgrade path', () => {
  test('maxConnectionsPerAddress: past it 429, and a closed socket frees its slot', async () => {
    h = await startHarness({ limits: { maxConnectionsPerAddress: 3, connectRatePerAddress: OPEN_RATE } });
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await upgrade(h));
    assert.deepEqual(open.map((o) => o.status), [101, 101, 101]);
    const refused = await upgrade(h);
    assert.equal(refused.status, 429);
    assert.deepEqual(refused.body, { error: 'too many connections from this address', code: 'BRIDGE_ERR_ADDRESS_LIMIT' });
    assert.equal(await limitHits(h, 'maxConnectionsPerAddress'), 1);
    open[0]!.socket.destroy();
    await eventually(() => openCount(h!) === 2, 3000, 'the slot is released');
    assert.equal((await upgrade(h)).status, 101);
  });

  test('connectRatePerAddress: past the burst 429 with Retry-After, refilled on the relay clock', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({ clock, limits: { connectRatePerAddress: { burst: 3, refillMs: 2000 } } });
    for (let i = 0; i < 3; i++) (await upgrade(h)).socket.destroy();
    const refused = await upgrade(h);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'BRIDGE_ERR_RATE_LIMITED');
    assert.equal(refused.retryAfter, '2');
    assert.equal(await limitHits(h, 'connectRatePerAddress'), 1);
    await clock.advance(2000);
    assert.equal((await upgrade(h)).status, 101);
    assert.equal((await upgrade(h)).status, 429, 'one token per refill');
  });

  test('maxConnections: past it 503 for every address; per-address counts follow X-Forwarded-For from a trusted proxy', async () => {
    h = await startHarness({
      http: { trustedProxies: ['127.0.0.1'] },
      limits: { maxConnections: 3, maxConnectionsPerAddress: 2, connectRatePerAddress: OPEN_RATE },
    });
    assert.equal((await upgrade(h, PATH, '198.51.100.7')).status, 101);
    assert.equal((await upgrade(h, PATH, '198.51.100.7')).status, 101);
    const perAddress = await upgrade(h, PATH, '198.51.100.7');
    assert.equal(perAddress.status, 429, 'the client behind the proxy has its own count');
    // A hop the client wrote itself (left of the proxy's) is not believed.
    assert.equal((await upgrade(h, PATH, '203.0.113.9, 198.51.100.7')).status, 429);
    assert.equal((await upgrade(h, PATH, '203.0.113.9')).status, 101, 'another client is counted apart');
    const full = await upgrade(h, PATH, '192.0.2.1');
    assert.equal(full.status, 503);
    assert.deepEqual(full.body, { error: 'relay at connection capacity', code: 'BRIDGE_ERR_CAPACITY' });
    assert.equal(await limitHits(h, 'maxConnections'), 1);
    assert.equal(await limitHits(h, 'maxConnectionsPerAddress'), 2);
  });
});

describe('failed authentications per address', () => {
  test('the token endpoint: 401s count, then 429 with Retry-After before the handler runs; other addresses go on', async () => {
    const clock = new ManualClock(Date.now());
    h = await startHarness({
      clock,
      http: { trustedProxies: ['127.0.0.1'] },
      limits: { authFailuresPerAddress: { burst: 3, refillMs: 60_000 }, connectRatePerAddress: OPEN_RATE },
    });
    const token = (key: string, from: string) =>
      fetch(`${h!.relay.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': from } });
    for (let i = 0; i < 3; i++) assert.equal((await token('wrong-key', '198.51.100.7')).status, 401);
    const blocked = await token('ptlc_test_admin_key', '198.51.100.7');
    assert.equal(blocked.status, 429, 'even the right key waits: the endpoint did not run');
    assert.deepEqual(await blocked.json(), { error: 'too many failed authentications', code: 'BRIDGE_ERR_AUTH_FAILURES' });
    assert.equal(blocked.headers.get('retry-after'), '60');
    const failures = (await h.relay.metrics.authFailures.get()).values.find((v) => v.labels.reason === 'api_key')?.value;
    assert.equal(failures, 3, 'the blocked attempt never reached the key check');
    assert.equal(await limitHits(h, 'authFailuresPerAddress'), 1);
    const upgradeRefused = await upgrade(h, PATH, '198.51.100.7');
    assert.equal(upgradeRefused.status, 429, 'upgrades from a blocked address are refused too');
    assert.equal(upgradeRefused.body.code, 'BRIDGE_ERR_AUTH_FAILURES');
    assert.equal((await token('ptlc_test_admin_key', '203.0.113.9')).status, 200, 'another address is not affected');
    await clock.advance(60_000);
    assert.equal((await token('ptlc_test_admin_key', '198.51.100.7')).status, 200, 'one attempt per refill');
  });

  test('panel: refused ticket upgrades count, and then the ticket endpoint answers 429', async () => {
    ph = await startPanelHarness({ limits: { authFailuresPerAddress: { burst: 2, refillMs: 60_000 }, connectRatePerAddress: OPEN_RATE } });
    for (let i = 0; i < 2; i++) assert.equal((await upgrade(ph, '/server/events?ticket=made-up')).status, 401);
    assert.equal((await ph.ticket()).status, 429);
    assert.equal(await limitHits(ph, 'authFailuresPerAddress'), 1);
  });

  test('the defaults: a dashboard\'s token, socket and auth hit no limit', async () => {
    h = await startHarness();
    const { body } = await h.token(S1);
    const opened = await upgrade(h);
    assert.equal(opened.status, 101);
    assert.ok(body.data.token);
    const hits = (await h.relay.metrics.limitHits.get()).values.reduce((n, v) => n + v.value, 0);
    assert.equal(hits, 0);
  });
});

describe('per-address state stays bounded', () => {
  const limits = { maxConnections: 10, maxConnectionsPerAddress: 2, connectRatePerAddress: { burst: 2, refillMs: 1000 }, authFailuresPerAddress: { burst: 2, refillMs: 5000 } };

  test('idle addresses are forgotten once their buckets have refilled; addresses with sockets are kept', async () => {
    const clock = new ManualClock();
    const admission = new AddressAdmission(limits, clock);
    assert.equal(admission.admit('10.0.0.1'), null);
    for (let i = 0; i < 50; i++) admission.authFailed(`10.1.0.${i}`);
    assert.equal(admission.tracked, 51);
    await clock.advance(10_000);
    admission.authFailed('10.2.0.1'); // a new address triggers the sweep
    assert.equal(admission.tracked, 2, 'the socket holder and the newcomer');
    admission.released('10.0.0.1');
    assert.equal(admission.open, 0);
  });

  test('a hard cap on tracked addresses, without losing addresses that hold sockets', () => {
    const admission = new AddressAdmission(limits, new ManualClock(), { maxTracked: 100 });
    assert.equal(admission.admit('10.0.0.1'), null);
    for (let i = 0; i < 5000; i++) admission.authFailed(`172.16.${i >> 8}.${i & 255}`);
    assert.ok(admission.tracked <= 100, `tracked ${admission.tracked}`);
    assert.equal(admission.admit('10.0.0.1'), null, 'the socket holder is still counted');
    assert.equal(admission.admit('10.0.0.1'), 'BRIDGE_ERR_ADDRESS_LIMIT');
  });

  test('addresses are counted as clients hold them: IPv4-mapped as IPv4, IPv6 by /64', () => {
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    const admission = new AddressAdmission(limits, new ManualClock());
    assert.equal(admission.admit('2001:db8:1:2::1'), null);
    assert.equal(admission.admit('2001:db8:1:2::2'), null);
    assert.equal(admission.admit('2001:db8:1:2::3'), 'BRIDGE_ERR_ADDRESS_LIMIT', 'one /64 is one client');
  });
});
