/**
 * One HTTP server with WebSocket upgrades routed by path: the relay's single port, and the
 * simulators' servers. Routing, the pre-upgrade decision (refusals are written as plain HTTP
 * responses before any WebSocket exists: bad target or Host, drain, admission, the endpoint's own
 * `authorize`) and socket bookkeeping live here; what a route or a socket means is the caller's
 * business. No handler's rejection leaves this file: it is reported and answered with 500.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { HttpRequest, HttpResponse, HttpRoute, UpgradeVerdict } from '../contracts.ts';
import type { TlsMaterial } from '../tls.ts';
import { ERRORS, type BridgeErrorCode } from '../errors.ts';
import { LIMIT_KEYS } from './admission.ts';
import { errorResponse, parseTarget, plainAddress, type ClientAddresses, type HostPolicy } from './edge.ts';
import { body, compile, match, refuseUpgrade, seconds, toRequest, type Compiled } from './host-http.ts';
import {
  HostedSocket,
  HostShared,
  WsConnection,
  listenTo,
  type ConnectionHooks,
  type HostConnection,
  type SocketObserver,
} from './hosted-socket.ts';

export type { ConnectionHooks, HostConnection, HostSite } from './hosted-socket.ts';

export interface SocketEndpoint {
  /** Path pattern with `:param` segments. */
  path: string;
  authorize(req: HttpRequest): UpgradeVerdict | Promise<UpgradeVerdict>;
  open(conn: HostConnection, req: HttpRequest, state: unknown): ConnectionHooks;
}

/** The host's options; `admission`, `onProtocolError` and `onHandlerError` come from {@link SocketObserver}. */
export interface WebHostOptions extends SocketObserver {
  maxPayloadBytes: number;
  /** `http.allowedHosts`; absent: any Host (malformed ones included). */
  hosts?: HostPolicy;
  /** How the client address is found (`http.trustedProxies`); absent: the TCP peer. */
  addresses?: ClientAddresses;
  /** Serve https:// and wss:// with this certificate and key (checked beforehand: src/tls.ts). */
  tls?: TlsMaterial;
  /**
   * A request or upgrade the host refused itself (bad target or Host, draining, unknown path, a
   * limit), with the client address (after `trustedProxies`).
   */
  onRefused?(kind: 'request' | 'upgrade', code: BridgeErrorCode, address: string): void;
  /** An admission limit refused `address`; `limit` is its config key under `limits`. */
  onLimit?(limit: string, address: string): void;
}

export class WebHost {
  readonly #opts: WebHostOptions;
  readonly #routes: Compiled<HttpRoute>[] = [];
  readonly #endpoints: Compiled<SocketEndpoint>[] = [];
  readonly #wss: WebSocketServer;
  readonly #server: Server;
  readonly #sockets = new Set<WebSocket>();
  #refusing: HttpResponse | null = null;
  /** While set (see {@link hold}): the refusal of every request and upgrade the predicate does not let through. */
  #held: { code: BridgeErrorCode; allow: (path: string) => boolean } | null = null;
  readonly #shared: HostShared;

  constructor(opts: WebHostOptions) {
    this.#opts = opts;
    this.#shared = new HostShared(this.#sockets, opts);
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
      WebSocket: HostedSocket,
    });
    // Both handlers are async; their rejections end here, never in the event loop.
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      this.#onRequest(req, res).catch((err: unknown) => this.#requestFailed(res, err));
    };
    this.#server = opts.tls ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key }, onRequest) : createServer(onRequest);
    this.#server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#onUpgrade(req, socket, head).catch((err: unknown) => this.#upgradeFailed(socket, err));
    });
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

  /**
   * Until {@link release}, every upgrade, and every request whose path `allow` refuses, is refused
   * with the row `code` (and counted): the port can be bound, and a port in use found, before what
   * it serves is built.
   */
  hold(code: BridgeErrorCode, allow: (path: string) => boolean): void {
    this.#held = { code, allow };
  }

  release(): void {
    this.#held = null;
  }

  /** Whether the port serves https:// and wss://. */
  get secure(): boolean {
    return this.#opts.tls !== undefined;
  }

  /**
   * Swaps the certificate and key (checked beforehand) for new TLS connections; the open ones keep
   * the session they negotiated. Only on a host made with `tls`.
   */
  setSecureContext(tls: TlsMaterial): void {
    if (!this.secure) throw new Error('setSecureContext on a plain-HTTP host');
    (this.#server as TlsServer).setSecureContext({ cert: tls.cert, key: tls.key });
  }

  get connections(): number {
    return this.#sockets.size;
  }

  /** Every open WebSocket (for shutdown). */
  sockets(): IterableIterator<WebSocket> {
    return this.#sockets.values();
  }

  /** Resolves once no WebSocket is open (at once when none is). */
  idle(): Promise<void> {
    if (this.#sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#shared.idleWaiters.push(resolve));
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
    return { port: bound, url: `${this.secure ? 'https' : 'http'}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${bound}` };
  }

  /** Stops listening, terminates every socket still open, and resolves when the server closed. */
  async close(): Promise<void> {
    for (const ws of this.#sockets) ws.terminate();
    this.#server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The client address of a request: the peer, or the client a trusted proxy names. */
  #address(req: IncomingMessage): string {
    const peer = req.socket.remoteAddress ?? '';
    return this.#opts.addresses ? this.#opts.addresses.resolve(peer, req.headers['x-forwarded-for']) : plainAddress(peer);
  }

  /** Whether the TCP peer of `req` is one of `http.trustedProxies`. */
  #viaTrustedProxy(req: IncomingMessage): boolean {
    return this.#opts.addresses?.trusts(req.socket.remoteAddress ?? '') ?? false;
  }

  /** A refusal the host makes itself: counted, and answered with its row. */
  #refusal(kind: 'request' | 'upgrade', code: BridgeErrorCode, address: string, headers?: Record<string, string>): HttpResponse {
    this.#opts.onRefused?.(kind, code, address);
    return errorResponse(code, headers);
  }

  /** null when the Host header may be served; else the answer (400 malformed, 421 not listed). */
  #checkHost(kind: 'request' | 'upgrade', req: IncomingMessage): HttpResponse | null {
    const verdict = this.#opts.hosts?.check(req.headers.host) ?? 'ok';
    if (verdict === 'ok') return null;
    return this.#refusal(kind, verdict === 'malformed' ? 'BRIDGE_ERR_BAD_REQUEST' : 'BRIDGE_ERR_HOST_NOT_ALLOWED', this.#address(req));
  }

  /** An admission refusal of `address`, with Retry-After where the limit refills. */
  #limited(kind: 'request' | 'upgrade', code: BridgeErrorCode, address: string): HttpResponse {
    const limit = LIMIT_KEYS[code];
    if (limit) this.#opts.onLimit?.(limit, address);
    const wait = code === 'BRIDGE_ERR_AUTH_FAILURES' || code === 'BRIDGE_ERR_RATE_LIMITED' ? this.#opts.admission?.retryAfterMs?.(address, code) : undefined;
    return this.#refusal(kind, code, address, wait === undefined ? undefined : { 'retry-after': seconds(wait) });
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const out = await this.#answer(req);
    const { contentType, payload } = body(out);
    res.writeHead(out.status, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload), ...out.headers });
    res.end(req.method === 'HEAD' ? undefined : payload);
  }

  async #answer(req: IncomingMessage): Promise<HttpResponse> {
    const url = parseTarget(req.url);
    if (!url) return this.#refusal('request', 'BRIDGE_ERR_BAD_REQUEST', this.#address(req));
    if (this.#held && !this.#held.allow(url.pathname)) return this.#refusal('request', this.#held.code, this.#address(req));
    const hit = match(this.#routes, url.pathname);
    // Probes (/healthz, /readyz, /metrics) answer any Host: a kubelet sends the pod's address.
    if (!hit?.value.anyHost) {
      const wrongHost = this.#checkHost('request', req);
      if (wrongHost) return wrongHost;
    }
    if (!hit) {
      this.#opts.onRefused?.('request', 'BRIDGE_ERR_NOT_FOUND', this.#address(req));
      return { status: 404, json: { error: 'not found' } };
    }
    const route = hit.value;
    if (route.method !== req.method && !(req.method === 'HEAD' && route.method === 'GET')) {
      return { status: 405, json: { error: 'method not allowed' }, headers: { allow: route.method } };
    }
    let address: string | undefined;
    const addressOf = () => (address ??= this.#address(req));
    const admission = this.#opts.admission;
    if (route.credential && admission?.blocked(addressOf())) return this.#limited('request', 'BRIDGE_ERR_AUTH_FAILURES', addressOf());
    const out = await route.handle(toRequest(req, hit.params, url, addressOf, () => this.#viaTrustedProxy(req)));
    if (route.credential && (out.status === 401 || out.status === 403)) admission?.authFailed(addressOf());
    return out;
  }

  #requestFailed(res: ServerResponse, err: unknown): void {
    this.#shared.report('request', err);
    try {
      if (res.headersSent) return void res.destroy();
      const { payload } = body(errorResponse('BRIDGE_ERR_INTERNAL'));
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      res.end(payload);
    } catch {
      res.destroy();
    }
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', destroyOnError);
    const url = parseTarget(req.url);
    if (!url) return refuseUpgrade(socket, this.#refusal('upgrade', 'BRIDGE_ERR_BAD_REQUEST', this.#address(req)));
    const wrongHost = this.#checkHost('upgrade', req);
    if (wrongHost) return refuseUpgrade(socket, wrongHost);
    if (this.#refusing) {
      this.#opts.onRefused?.('upgrade', 'BRIDGE_ERR_SHUTDOWN', this.#address(req));
      return refuseUpgrade(socket, this.#refusing);
    }
    if (this.#held) return refuseUpgrade(socket, this.#refusal('upgrade', this.#held.code, this.#address(req)));
    const hit = match(this.#endpoints, url.pathname);
    if (!hit) {
      this.#opts.onRefused?.('upgrade', 'BRIDGE_ERR_NOT_FOUND', this.#address(req));
      return refuseUpgrade(socket, { status: 404, json: { error: 'not found' } });
    }
    const address = this.#address(req);
    const admission = this.#opts.admission;
    const refused = admission?.admit(address) ?? null;
    if (refused) return refuseUpgrade(socket, this.#limited('upgrade', refused, address));
    // From here the address holds one admitted slot: handed to the socket, or released below.
    let phase: 'deciding' | 'attached' | 'released' = 'deciding';
    try {
      const request = toRequest(req, hit.params, url, () => address, () => this.#viaTrustedProxy(req));
      const verdict = await hit.value.authorize(request);
      if (!verdict.accept) {
        if (verdict.reason === 'auth') admission?.authFailed(address);
        const res: HttpResponse = { status: verdict.status };
        if (verdict.json !== undefined) res.json = verdict.json;
        if (verdict.text !== undefined) res.text = verdict.text;
        return refuseUpgrade(socket, res);
      }
      if (this.#refusing || socket.destroyed) return refuseUpgrade(socket, this.#refusing ?? { status: 503 });
      // Without verifyClient ws completes the upgrade synchronously or not at all (a bad
      // Sec-WebSocket-Key is answered 400 by ws itself); a late callback would find the slot gone.
      this.#wss.handleUpgrade(req, socket, head, (ws) => {
        // ws has its own error listener on the socket now; a second one would make the socket's
        // listener list an array for as long as it is open.
        socket.off('error', destroyOnError);
        if (phase === 'released') return ws.terminate();
        phase = 'attached';
        this.#attach(ws as HostedSocket, hit.value, request, verdict.state, address);
      });
    } finally {
      if (phase === 'deciding') {
        phase = 'released';
        admission?.released(address);
      }
    }
  }

  #upgradeFailed(socket: Duplex, err: unknown): void {
    this.#shared.report('upgrade', err);
    try {
      if (!socket.destroyed) refuseUpgrade(socket, errorResponse('BRIDGE_ERR_INTERNAL'));
    } catch {
      socket.destroy();
    }
  }

  #attach(ws: HostedSocket, endpoint: SocketEndpoint, req: HttpRequest, state: unknown, address: string): void {
    this.#sockets.add(ws);
    ws.host = this.#shared;
    ws.address = address;
    listenTo(ws);
    try {
      ws.hooks = endpoint.open(new WsConnection(ws), req, state);
    } catch (err) {
      this.#shared.report('upgrade', err);
      ws.close(ERRORS.BRIDGE_ERR_INTERNAL.close);
    }
  }
}

/** Until the upgrade completes the raw socket has no other error listener. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}
