/**
 * The one relay harness of every dialect: a real relay on port 0, from a config written the way a
 * user writes one (through the config loader, with every built-in adapter and their real
 * simulators), on the memory bus or on a nats-server, and its teardown (on NATS, the prefix's
 * streams are removed). A dialect's harness gives only its clients, simulators, upstreams and
 * listeners; see wings-harness.ts, felix-harness.ts, gateway-harness.ts, panel-harness.ts and
 * cloudevents-harness.ts.
 */
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe } from 'node:test';
import type { Clock } from '../../src/clock.ts';
import { validateConfig } from '../../src/config/load.ts';
import type { Log, SimulatorEndpoint } from '../../src/contracts.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';
import { closeAll, eventually, type Closable } from './frame-queue.ts';
import { requireNatsUrl } from './nats-server.ts';

export type BusKind = 'memory' | 'nats';

export interface StartOptions {
  bus: BusKind;
  /** The nats-server for `bus: 'nats'` (the test file starts its own). */
  natsUrl?: string;
  clock?: Clock;
  random?: () => number;
  /** The relay's log (default: the config's level, silent unless TEST_LOG). */
  log?: Log;
  /**
   * The bus prefix. Default: a fresh one, so relays on one nats-server never meet, whose streams
   * `stop` removes; a prefix the test names (nodes of one cluster) is left to the test.
   */
  prefix?: string;
  node?: string;
  /** Simulators of another relay to use (a second node of a cluster): this relay starts none. */
  simulatorEndpoints?: ReadonlyMap<string, SimulatorEndpoint>;
}

/** A config section, or one entry of a list, that a test merges over a harness's own. */
export type Section = Record<string, unknown>;

/** What a dialect harness lets a test merge over its simulator, its upstream, its listener and the limits. */
export interface Overrides {
  sim?: Section;
  upstream?: Section;
  listener?: Section;
  limits?: Section;
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
    ...(o.simulatorEndpoints ? { simulatorEndpoints: o.simulatorEndpoints } : {}),
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
      if (o.bus !== 'nats' || o.prefix !== undefined) return;
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

/** The clients of a {@link describeOnBus} block's cases. */
export interface KeptClients {
  /** Keeps a client, to be closed after its test (or after the block). */
  keep<C extends Closable>(c: C): C;
  /** Closes every client kept so far and waits until their sockets closed. */
  closeAll(): Promise<void>;
}

export interface OnBusOptions {
  /** When the clients a test kept are closed: after each test (default) or once, after the last. */
  closeClients?: 'afterEach' | 'after';
  /** Wait until each kept client's socket closed (so later clock advances ping nobody). */
  waitClosed?: boolean;
}

/**
 * One dialect's end-to-end cases on one bus, the same block on every bus (test/e2e runs them on
 * the memory bus, test/nats on a real nats-server): `describe("<title> (<bus> bus)")`, a relay from
 * `start` before the first case and stopped after the last, and the clients the cases `keep`
 * closed. `natsUrl` gives the test file's own nats-server when `bus` is 'nats' (read once its
 * `before` ran). `body` holds only the dialect's expectations.
 */
export function describeOnBus<H extends { stop(): Promise<void> }>(
  title: string,
  bus: BusKind,
  natsUrl: (() => string) | undefined,
  start: (o: { bus: BusKind; natsUrl?: string }) => Promise<H>,
  body: (clients: KeptClients) => void,
  o: OnBusOptions = {},
): void {
  describe(`${title} (${bus} bus)`, () => {
    let h: H | undefined;
    const clients: Closable[] = [];
    const closeKept = o.waitClosed ? () => closeAll(clients) : () => void clients.splice(0).forEach((c) => c.close());
    before(async () => {
      h = await start({ bus, natsUrl: natsUrl?.() });
    });
    if ((o.closeClients ?? 'afterEach') === 'afterEach') afterEach(closeKept);
    after(async () => {
      await closeKept();
      await h?.stop();
    });
    body({ keep: (c) => (clients.push(c), c), closeAll: () => closeAll(clients) });
  });
}
