/**
 * Wings through the shared conformance suite. Its credential is the API key at the token
 * endpoint; its client duty is the 1.12 auth deadline; its upstream duty is token refresh.
 */
import assert from 'node:assert/strict';
import { formatFrame, parseFrame, type WingsPacket } from '../../adapters/wings/codec.ts';
import { ADAPTERS, adapterFor } from '../../src/registry.ts';
import { runConformance, type ConformanceKit } from '../helpers/conformance.ts';
import { S1, linksReady, startHarness } from '../helpers/wings-harness.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';
import type { WingsSimulator } from '../../adapters/wings/simulator.ts';

const kit: ConformanceKit = {
  name: 'wings',
  adapter: adapterFor(ADAPTERS, 'wings'),
  decode: parseFrame,
  encode: (p) => formatFrame((p as WingsPacket).event, (p as WingsPacket).args),
  validFrames: [
    '{"event":"auth","args":["eyJ.a.b"]}',
    '{"event":"set state","args":["restart"]}',
    '{"event":"send command","args":["say hi"]}',
    '{"event":"send logs","args":[null]}',
    '{"event":"send stats"}',
    '{"event":"auth success"}',
    '{"event":"status","args":["running"]}',
    '{"event":"console output","args":["[12:00:00 INFO]: Done"]}',
    '{"event":"stats","args":["{\\"memory_bytes\\":1,\\"memory_limit_bytes\\":2,\\"cpu_absolute\\":0.5,\\"network\\":{\\"rx_bytes\\":3,\\"tx_bytes\\":4},\\"uptime\\":5,\\"state\\":\\"running\\",\\"disk_bytes\\":6}"]}',
    '{"event":"token expiring"}',
    '{"event":"token expired"}',
    '{"event":"jwt error","args":["jwt: exp claim is invalid"]}',
    '{"event":"install started","args":[""]}',
    '{"event":"transfer status","args":["completed"]}',
    '{"event":"throttled","args":["global"]}',
  ],
  malformedFrames: ['', 'not json', '[]', '5', 'null', '{"args":["x"]}', '{"event":5}', '{"event":"auth","args":{"0":"x"}}', '{"event":"auth","args":[1]}'],
  async start(clock) {
    const h = await startHarness({ clock, listener: { profile: '1.12' }, sim: { tokenTtlSeconds: 90 } });
    await linksReady(h);
    return { relay: h.relay, clock, stop: () => h.stop() };
  },
  async connect(h, credentials) {
    const key = credentials === 'good' ? 'ptlc_test_admin_key' : 'not-a-key';
    const res = await fetch(`${h.relay.url}/api/client/servers/${S1}/websocket`, { headers: { authorization: `Bearer ${key}` } });
    if (res.status !== 200) return { accepted: false, httpStatus: res.status };
    const { data } = (await res.json()) as { data: { token: string; socket: string } };
    const c = await WingsClient.connect(data.socket);
    c.send('auth', [data.token]);
    await c.event('auth success');
    return { accepted: true, close: () => c.close() };
  },
  async heartbeatTimeout(h) {
    const c = await WingsClient.connect(`${h.relay.url.replace('http', 'ws')}/api/servers/${S1}/ws`);
    await h.clock.advance(30_000);
    return (await c.closed).code;
  },
  async upstreamHeartbeat(h) {
    const link = h.relay.supervisor.link('up', 'server', S1)!;
    const sim = h.relay.simulators.get('sim') as WingsSimulator;
    const issued = sim.tokensIssued;
    for (let i = 0; i < 8; i++) {
      await h.clock.advance(30_000); // four token lifetimes of 90 s in all
      // Before time moves on, the simulator must hold a token with more than 60 s left (the
      // relay's refresh round trip is real I/O; the simulator answers it before any later check).
      await eventually(() => link.state === 'ready' && sim.tokenExpiries(S1).every((exp) => exp !== null && exp - h.clock.now() > 60_000), 4000, 'fresh upstream token');
    }
    assert.ok(sim.tokensIssued > issued, 'the relay fetched fresh upstream tokens');
    assert.equal(link.attempts, 0, 'and never had to reconnect');
  },
};

runConformance(kit);
