/**
 * Found when issue 11's lease release joined the shutdown: with a short grace the bus drain starts
 * after the deadline and is abandoned, but kept running; if the NATS server then goes away, the
 * half-drained client reconnects forever and holds the process open (a test run hung for 20
 * minutes). A drain cut short at the deadline is now followed by an immediate close.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { startNatsServer, type NatsServerHandle } from '../helpers/nats-server.ts';
import { eventually } from '../helpers/wings-client.ts';

let nats: NatsServerHandle | undefined;
after(() => nats?.stop());

test('a bus drain abandoned at the grace deadline does not leave the NATS client reconnecting', async () => {
  nats = await startNatsServer();
  const config = validateConfig(
    {
      node: { id: 'stop-node' },
      http: { host: '127.0.0.1', port: 0 },
      bus: { kind: 'nats', prefix: 'stopclose', servers: [nats.url], storage: 'memory' },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      simulators: [{ name: 'sim', protocol: 'felix', tokens: ['t'], updateIntervalMs: 0 }],
      upstreams: [{ name: 'felix', protocol: 'felix', simulator: 'sim' }],
      listeners: [{ name: 'felix', dialect: 'felix', path: '/felix', upstreams: ['felix'] }],
    },
    ADAPTERS,
    'stop test config',
  );
  const relay = await Relay.start({ config, defaultMetrics: false, watchdog: false });
  await eventually(() => relay.supervisor.link('felix', 'bot', '_')?.state === 'ready', 10_000, 'the link is owned and up');
  // No grace at all: the lease release takes the whole budget, the drain starts past the deadline.
  await relay.stop(0);
  await nats.kill9();
  await eventually(() => relay.bus.state === 'closed', 3000, 'the bus to be closed, not reconnecting');
  assert.equal(relay.bus.state, 'closed');
});
