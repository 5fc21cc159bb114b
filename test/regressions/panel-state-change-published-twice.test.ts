/**
 * Issue 13: one Semoxy SERVER_STATE_CHANGE with an `onlineStatus` was published twice, as
 * `server.status` and `server.patch`. Panel sessions dropped the status copy of a panel upstream,
 * and every Wings session counted the patch as `unmapped`, so one state change inflated the drop
 * counter by design. Now it is one `server.status` that carries Semoxy's patch: the panel dialect
 * writes it back as it came, Wings and CloudEvents read the state, and nothing is counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeFrame, packetToEvents } from '../../adapters/panel/codec.ts';
import type { PanelSimulator } from '../../adapters/panel/simulator.ts';
import { validateConfig } from '../../src/config/load.ts';
import { makeEvent } from '../../src/events.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { WingsClient, eventually } from '../helpers/wings-client.ts';

const SERVER = '607c71907be61b381db28144';
const KEY = 'state-change-once-key';

describe('regression: a Semoxy state change is one event that every server dialect uses', () => {
  test('the codec reads one event, and the panel, Wings and CloudEvents dialects each write it', () => {
    for (const status of [0, 1, 2, 3]) {
      const frame = `{"action":"SERVER_STATE_CHANGE","data":{"id":"${SERVER}","patch":{"onlineStatus":${status},"name":"x"}}}`;
      const events = packetToEvents(decodeFrame(frame)!)!;
      assert.equal(events.length, 1, `one event for ${frame}`);
      const event = makeEvent({ upstream: 'semoxy', node: 'n' }, events[0]!.type, events[0]!.id, events[0]!.data);
      for (const dialect of ['panel', 'wings', 'cloudevents']) {
        const adapter = ADAPTERS.find((a) => a.protocol === dialect)!;
        assert.ok(adapter.encode(event, 'v2'), `${dialect} writes ${event.type}`);
      }
      const panel = ADAPTERS.find((a) => a.protocol === 'panel')!;
      assert.equal(panel.encode(event, 'v2'), frame, 'the panel dialect writes the patch back as it came');
    }
  });

  describe('through a relay', () => {
    let relay: Relay;
    let client: WingsClient;
    before(async () => {
      const config = validateConfig({
        http: { host: '127.0.0.1', port: 0 },
        log: { level: 'silent' },
        clients: [{ name: 'dash', key: KEY, grants: [{ upstream: 'semoxy', permissions: ['*'] }] }],
        simulators: [{ name: 'psim', protocol: 'panel', consoleIntervalMs: 0 }],
        upstreams: [{ name: 'semoxy', protocol: 'panel', simulator: 'psim', servers: [SERVER] }],
        listeners: [{ dialect: 'wings', upstreams: ['semoxy'], jwtSecret: 'state-change-once-secret' }],
      }, ADAPTERS, 'state change test');
      relay = await Relay.start({ config, defaultMetrics: false });
      await eventually(() => relay.supervisor.link('semoxy', 'panel', '_')?.state === 'ready', 5000, 'panel link ready');
      const res = await fetch(`${relay.url}/api/client/servers/${SERVER}/websocket`, { headers: { authorization: `Bearer ${KEY}` } });
      const { data } = (await res.json()) as { data: { token: string; socket: string } };
      client = await WingsClient.connect(data.socket);
      client.send('auth', [data.token]);
      await client.event('auth success');
    });
    after(async () => {
      client.close();
      await relay.stop(500);
    });

    test('a Wings dashboard gets the status and counts nothing unmapped for it', async () => {
      const sim = relay.simulators.get('psim') as PanelSimulator;
      sim.setOnline(SERVER, 3);
      await client.next((f) => f.event === 'status' && f.args?.[0] === 'stopping');
      sim.setOnline(SERVER, 0);
      await client.next((f) => f.event === 'status' && f.args?.[0] === 'offline');
      const metrics = await (await fetch(`${relay.url}/metrics`)).text();
      assert.doesNotMatch(metrics, /bridge_events_dropped_total\{dialect="wings",direction="downstream",reason="unmapped"\} [1-9]/);
    });
  });
});
