/**
 * One HTTP server with WebSocket upgrades routed by path: the relay's single port, and the
 * simulators' servers. Routing, the pre-upgrade decision (refusals are written as plain HTTP
 * responses before any WebSocket exists) and socket bookkeeping live here; what a route or a
 * socket means is the caller's business.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { HttpRequest, HttpResponse, HttpRoute, UpgradeVerdict } from '../contracts.ts';

/** The socket handed to an endpoint's `open`. `raw` is for the core's write path only. */
export interface HostConnection {
  readonly remoteAddress: string;
  /** Bytes queued in user space and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  send(data: string | Buffer): void;
  close(code: number, reason: string): void;
  terminate(): void;
  ping(): void;
  readonly raw: WebSocket;
  /** The TCP socket under the WebSocket, for the core's batched write path. */
  readonly netSocket: Socket;
}

/**
 * The server's socket class: one set of listeners serves every socket (`this` is the socket), and
 * the socket carries its hooks and its host in two declared fields, so a connection costs no
 * closures and no out-of-object property storage.
 */
class HostedSocket extends WebSocket {
  hooks: ConnectionHooks | null = null;
  host: HostShared | null = null;
}

/**
 * A class rather than an object of closures: one of these lives as long as each socket, and a
 * closure per method per socket is memory that grows with the connection count.
 */
class WsConnection implements HostConnection {
  readonly raw: WebSocket;

  constructor(ws: WebSocket) {
    this.raw = ws;
  }

  /** Read when asked: Node caches the peer address on the socket the first time it is read. */
  get remoteAddress(): string {
    return this.netSocket.remoteAddress ?? '';
  }

  get netSocket(): Socket {
    // ws keeps the upgraded socket here; it is set before the 'connection' callback runs.
    return (this.raw as unknown as { _socket: Socket })._socket;
  }

  get bufferedAmount(): number {
    return this.raw.bufferedAmount;
  }

  send(data: string | Buffer): void {
    if (this.raw.readyState === this.raw.OPEN) this.raw.send(data, { binary: false });
  }

  close(code: number, reason: string): void {
    this.raw.close(code, reason);
  }

  terminate(): void {
    this.raw.terminate();
  }

  ping(): void {
    if (this.raw.readyState === this.raw.OPEN) this.raw.ping();
  }
}

export interface ConnectionHooks {
  onMessage(text: string): void;
  onPong?(): void;
  onClose(code: number, reason: string): void;
}

export interface SocketEndpoint {
  /** Path pattern with `:param` segments. */
  path: string;
  authorize(req: HttpRequest): UpgradeVerdict | Promise<UpgradeVerdict>;
  open(conn: HostConnection, req: HttpRequest, state: unknown): ConnectionHooks;
}

export interface WebHostOptions {
  maxPayloadBytes: number;
  /** Called when an upgrade is refused before any endpoint ran (unknown path, draining). */
  onRefused?(status: number, path: string): void;
  /** Called for a frame the socket layer rejected (too large, bad UTF-8, protocol error). */
  onProtocolError?(err: Error & { code?: string }): void;
}

interface Compiled<T> {
  re: RegExp;
  names: string[];
  value: T;
}

function compile<T>(pattern: string, value: T): Compiled<T> {
  const names: string[] = [];
  const source = pattern
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        names.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { re: new RegExp(`^${source}/?$`), names, value };
}

function match<T>(table: Compiled<T>[], path: string): { value: T; params: Record<string, string> } | null {
  for (const entry of table) {
    const m = entry.re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    entry.names.forEach((name, i) => {
      try {
        params[name] = decodeURIComponent(m[i + 1] ?? '');
      } catch {
        params[name] = m[i + 1] ?? '';
      }
    });
    return { value: entry.value, params };
  }
  return null;
}

function toRequest(req: IncomingMessage, params: Record<string, string>, url: URL): HttpRequest {
  const socket = req.socket;
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    params,
    query: url.searchParams,
    headers: req.headers as Record<string, string | undefined>,
    // Lazy: reading it makes Node keep the peer address on the socket for the socket's lifetime.
    get remoteAddress() {
      return socket.remoteAddress ?? '';
    },
  };
}

function body(res: HttpResponse): { contentType: string; payload: string } {
  if (res.json !== undefined) return { contentType: 'application/json', payload: JSON.stringify(res.json) };
  return { contentType: 'text/plain; charset=utf-8', payload: res.text ?? '' };
}

/** Writes an HTTP response on a raw upgrade socket and closes it. */
function refuseUpgrade(socket: Duplex, res: HttpResponse): void {
  const { contentType, payload } = body(res);
  const extra = Object.entries(res.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? ''}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\n${extra}Connection: close\r\n\r\n${payload}`,
  );
}

function rawToText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export class WebHost {
  readonly #opts: WebHostOptions;
  readonly #routes: Compiled<HttpRoute>[] = [];
  readonly #endpoints: Compiled<SocketEndpoint>[] = [];
  readonly #wss: WebSocketServer;
  readonly #server: Server;
  readonly #sockets = new Set<WebSocket>();
  #refusing: HttpResponse | null = null;
  readonly #shared: HostShared;

  constructor(opts: WebHostOptions) {
    this.#opts = opts;
    this.#shared = { sockets: this.#sockets, opts };
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
      WebSocket: HostedSocket,
    });
    this.#server = createServer((req, res) => void this.#onRequest(req, res));
    this.#server.on('upgrade', (req, socket, head) => void this.#onUpgrade(req, socket, head));
    this.#server.keepAliveTimeout = 5000;
  }

  route(route: HttpRoute): void {
    this.#routes.push(compile(route.path, route));
  }

  endpoint(endpoint: SocketEndpoint): void {
    this.#endpoints.push(compile(endpoint.path, endpoint));
  }

  /** From now on every upgrade is answered with `res` (drain). */
  refuseUpgrades(res: HttpResponse): void {
    this.#refusing = res;
  }

  get connections(): number {
    return this.#sockets.size;
  }

  /** Every open WebSocket (for shutdown). */
  sockets(): IterableIterator<WebSocket> {
    return this.#sockets.values();
  }

  async listen(host: string, port: number): Promise<{ port: number; url: string }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const addr = this.#server.address();
    const bound = typeof addr === 'object' && addr ? addr.port : port;
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    return { port: bound, url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${bound}` };
  }

  /** Stops listening, terminates every socket still open, and resolves when the server closed. */
  async close(): Promise<void> {
    for (const ws of this.#sockets) ws.terminate();
    this.#server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://relay');
    const hit = match(this.#routes, url.pathname);
    let out: HttpResponse;
    if (!hit) out = { status: 404, json: { error: 'not found' } };
    else if (hit.value.method !== req.method && !(req.method === 'HEAD' && hit.value.method === 'GET')) {
      out = { status: 405, json: { error: 'method not allowed' }, headers: { allow: hit.value.method } };
    } else {
      try {
        out = await hit.value.handle(toRequest(req, hit.params, url));
      } catch {
        out = { status: 500, json: { error: 'internal error' } };
      }
    }
    const { contentType, payload } = body(out);
    res.writeHead(out.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload), ...out.headers });
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', destroyOnError);
    const url = new URL(req.url ?? '/', 'http://relay');
    if (this.#refusing) {
      this.#opts.onRefused?.(this.#refusing.status, url.pathname);
      return refuseUpgrade(socket, this.#refusing);
    }
    const hit = match(this.#endpoints, url.pathname);
    if (!hit) {
      this.#opts.onRefused?.(404, url.pathname);
      return refuseUpgrade(socket, { status: 404, json: { error: 'not found' } });
    }
    const request = toRequest(req, hit.params, url);
    let verdict: UpgradeVerdict;
    try {
      verdict = await hit.value.authorize(request);
    } catch {
      verdict = { accept: false, status: 500, json: { error: 'internal error' }, reason: 'auth' };
    }
    if (!verdict.accept) {
      const res: HttpResponse = { status: verdict.status };
      if (verdict.json !== undefined) res.json = verdict.json;
      if (verdict.text !== undefined) res.text = verdict.text;
      return refuseUpgrade(socket, res);
    }
    if (this.#refusing || socket.destroyed) return refuseUpgrade(socket, this.#refusing ?? { status: 503 });
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#attach(ws, hit.value, request, verdict.accept ? verdict.state : undefined));
  }

  #attach(ws: WebSocket, endpoint: SocketEndpoint, req: HttpRequest, state: unknown): void {
    this.#sockets.add(ws);
    const attached = ws as HostedSocket;
    attached.host = this.#shared;
    ws.on('error', onSocketError);
    ws.on('close', onSocketClose);
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    attached.hooks = endpoint.open(new WsConnection(ws), req, state);
  }
}

/** What the shared listeners need of the host: one object per host, not per socket. */
interface HostShared {
  readonly sockets: Set<WebSocket>;
  readonly opts: WebHostOptions;
}

function onSocketError(this: WebSocket, err: Error & { code?: string }): void {
  (this as HostedSocket).host?.opts.onProtocolError?.(err);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  const ws = this as HostedSocket;
  ws.host?.sockets.delete(ws);
  const hooks = ws.hooks;
  ws.hooks = null;
  hooks?.onClose(code, reason.toString('utf8'));
}

function onSocketMessage(this: WebSocket, data: RawData): void {
  (this as HostedSocket).hooks?.onMessage(rawToText(data));
}

function onSocketPong(this: WebSocket): void {
  (this as HostedSocket).hooks?.onPong?.();
}

/** Until the upgrade completes the raw socket has no other error listener. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}
