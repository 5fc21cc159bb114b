/**
 * The one relay harness of every dialect: a real relay on port 0, from a config written the way a
 * user writes one (through the config loader, with every built-in adapter and their real
 * simulators), on the memory bus or on a nats-server, and its teardown (on NATS, the prefix's
 * streams are removed). A dialect's harness gives only its clients, simulators, upstreams and
 * listeners; see wings-harness.ts, felix-harness.ts, gateway-harness.ts, panel-harness.ts and
 * cloudevents-harness.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../src/clock.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { Log } from '../../src/contracts.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { eventually } from './frame-queue.ts';
import { requireNatsUrl } from './nats-server.ts';

export interface StartOptions {
  bus: 'memory' | 'nats';
  /** The nats-server for `bus: 'nats'` (the test file starts its own). */
  natsUrl?: string;
  clock?: Clock;
  random?: () => number;
  /** The relay's log (default: the config's level, silent unless TEST_LOG). */
  log?: Log;
  /** The bus prefix (default: a fresh one, so relays on one nats-server never meet). */
  prefix?: string;
  node?: string;
}

export interface RelayHandle {
  relay: Relay;
  prefix: string;
  /** ws:// URL of a path on this relay. */
  ws(path?: string): string;
  /** The relay's /metrics text. */
  metrics(): Promise<string>;
  /** Waits until every listed link (upstream, resource, id) is ready. */
  linksReady(links: readonly (readonly [string, string, string])[], what?: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a relay from a config without `node`, `bus` and `log` (filled in here); `http` is merged
 * over 127.0.0.1, port 0, and `limits` defaults to a short backoff.
 */
export async function startRelay(raw: Record<string, unknown>, o: StartOptions): Promise<RelayHandle> {
  const prefix = o.prefix ?? `t${randomBytes(4).toString('hex')}`;
  const config = validateConfig(
    {
      node: { id: o.node ?? 'test-node' },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      limits: { backoffInitialMs: 50, backoffMaxMs: 500 },
      ...raw,
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000, ...(raw.http as object | undefined) },
      bus: o.bus === 'nats' ? { kind: 'nats', prefix, servers: [requireNatsUrl(o.natsUrl)], storage: 'memory' } : { kind: 'memory', prefix },
    },
    ADAPTERS,
    'test config',
  );
  const relay = await Relay.start({
    config,
    adapters: ADAPTERS,
    defaultMetrics: false,
    ...(o.log ? { log: o.log } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
  const base = relay.url.replace(/^http/, 'ws');
  const handle: RelayHandle = {
    relay,
    prefix,
    ws: (path = '/cloudevents') => `${base}${path}`,
    metrics: async () => (await fetch(`${relay.url}/metrics`)).text(),
    async linksReady(links, what = 'links ready') {
      await eventually(() => links.every(([up, resource, id]) => relay.supervisor.link(up, resource, id)?.state === 'ready'), 5000, what);
    },
    async stop() {
      await relay.stop(500);
      if (o.bus !== 'nats') return;
      // Streams are per prefix; a second connection removes them after this relay drained.
      const { NatsBus } = await import('../../src/bus/nats.ts');
      const cleaner = new NatsBus({ servers: [requireNatsUrl(o.natsUrl)], prefix, storage: 'memory' });
      await cleaner.start();
      await cleaner.deleteStreams();
      await cleaner.drain();
    },
  };
  return handle;
}

/** Runs `ready` on a relay just started; stops it when that fails (a relay left running would keep the test process alive). */
export async function readyOrStop<H extends { stop(): Promise<void> }>(h: H, ready: () => Promise<unknown>): Promise<H> {
  try {
    await ready();
  } catch (err) {
    await h.stop();
    throw err;
  }
  return h;
}
