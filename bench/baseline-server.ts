/**
 * The baseline: the broadcast server everyone writes first. One `ws` WebSocketServer; a socket on
 * `/pub` is the publisher, every other socket is a subscriber, and each published frame goes to
 * every subscriber with its own `ws.send` (ws frames and writes it once per client). No auth, no
 * bus, no encoding, no write-queue bound: what is left is the per-client send cost, which is
 * what the relay's fan-out is compared with.
 *
 * A subscriber gets `{"event":"ready"}` right after the upgrade, so the load generator knows it
 * is in the broadcast set before anything is published.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { announce, serve } from './child-hook.ts';

const READY = Buffer.from('{"event":"ready"}');
const subscribers = new Set<WebSocket>();

function broadcast(data: RawData): void {
  for (const ws of subscribers) ws.send(data as Buffer, { binary: false });
}

function forget(this: WebSocket): void {
  subscribers.delete(this);
}

function ignore(): void {
  // a reset socket closes right after; nothing to do
}

const server = createServer((_req, res) => {
  res.writeHead(404).end();
});
const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: false, maxPayload: 64 * 1024 });
wss.on('connection', (ws, req) => {
  ws.on('error', ignore);
  if (req.url === '/pub') {
    ws.on('message', broadcast);
    return;
  }
  subscribers.add(ws);
  ws.on('close', forget);
  ws.send(READY, { binary: false });
});

await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
const addr = server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;

serve({
  subscribers: () => subscribers.size,
});
announce({ pid: process.pid, port });
