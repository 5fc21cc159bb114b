/**
 * Upstream servers that misbehave on purpose, on port 0, for the link runner's regression tests:
 * one that accepts every WebSocket and closes it at once, and one that completes the upgrade and
 * then never answers anything again, not even a close frame (a hung process behind a live kernel).
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { Clock } from '../../src/clock.ts';
import { validateConfig } from '../../src/config/load.ts';
import { ADAPTERS } from '../../src/registry.ts';
import { Relay } from '../../src/relay.ts';

export interface HostileUpstream {
  /** ws:// URL to configure as the upstream. */
  readonly url: string;
  /** WebSocket upgrades completed so far. */
  readonly connections: number;
  /** TCP connections still open. */
  readonly open: number;
  close(): Promise<void>;
}

/** Accepts every upgrade, then closes the socket at once with 1000. */
export async function closingUpstream(): Promise<HostileUpstream> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  let connections = 0;
  let open = 0;
  wss.on('connection', (ws) => {
    open++;
    ws.on('close', () => open--);
    connections++;
    ws.close(1000, 'bye');
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get open() {
      return open;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Answers the upgrade with 101, then reads and ignores every byte: no frame, no close reply. */
export async function stalledUpstream(): Promise<HostileUpstream> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    let upgraded = false;
    socket.on('data', (chunk) => {
      if (upgraded) return; // frames, the close frame included, fall on deaf ears
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
      const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      upgraded = true;
      connections++;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    get open() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface LinkRelayOptions {
  clock: Clock;
  random?: () => number;
  limits?: Record<string, unknown>;
}

/**
 * A relay on port 0 and the memory bus whose one upstream is `upstream` (an upstream config
 * entry, e.g. a Felix or gateway link to a hostile server's URL), with no listener and no simulator.
 */
export async function relayWith(upstream: Record<string, unknown>, o: LinkRelayOptions): Promise<Relay> {
  const config = validateConfig(
    {
      node: { id: 'hostile-test-node' },
      http: { host: '127.0.0.1', port: 0, shutdownGraceMs: 500 },
      bus: { kind: 'memory' },
      log: { level: process.env.TEST_LOG ? 'debug' : 'silent' },
      upstreams: [upstream],
      limits: { ...o.limits },
    },
    ADAPTERS,
    'hostile upstream test config',
  );
  return Relay.start({ config, clock: o.clock, defaultMetrics: false, ...(o.random ? { random: o.random } : {}) });
}

/**
 * A Felix upstream at `url`. Felix has no auth handshake, so its link is `ready` as soon as the
 * socket opens: the hardest case for the backoff reset and for a stalled peer.
 */
export function felixAt(url: string, options: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'felix', protocol: 'felix', url, token: 'hostile-test-token', ...options };
}
