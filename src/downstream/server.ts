/**
 * The relay's one port: /healthz, /readyz, /metrics, every listener's HTTP routes (token and
 * ticket endpoints) and every listener's WebSocket path. Upgrades are decided by the listener
 * before `handleUpgrade` (auth, origin, resource), so a refused client never costs a WebSocket.
 */
import type { ListenerRole, ProtocolAdapter } from '../contracts.ts';
import type { LimitsConfig, ListenerConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics.ts';
import type { Log } from '../contracts.ts';
import type { Clock, Timer } from '../clock.ts';
import type { ErrorReport } from '../contain.ts';
import { closeFrame } from '../errors.ts';
import { OPEN_ADMISSION, type AdmissionControl } from './admission.ts';
import type { ClientAddresses, HostPolicy } from './edge.ts';
import type { Hub } from './hub.ts';
import { Session } from './session.ts';
import { SessionShared, type SessionBackend } from './session-shared.ts';
import { WebHost } from './web-host.ts';
import { StatusPage } from '../status/routes.ts';
import type { TlsMaterial } from '../tls.ts';
import type { InterestTable } from '../upstream/interest.ts';

/** An accepted upgrade as the host carries it from `authorize` to `open`. */
interface Admitted {
  readonly state: unknown;
  readonly authenticated: boolean;
}

export interface ServerOptions {
  maxPayloadBytes: number;
  writeQueueBytes: number;
  hub: Hub;
  metrics: Metrics;
  log: Log;
  interest: InterestTable;
  /** Time for the drain wait (the relay's clock; tests drive it). */
  clock: Clock;
  /** Connection limits of the port; default: everything admitted. */
  admission?: AdmissionControl;
  /** `http.allowedHosts` (absent: any Host). */
  hosts?: HostPolicy;
  /** `http.trustedProxies` (absent: the TCP peer is the client). */
  addresses?: ClientAddresses;
  /** Where contained handler errors are logged and counted. */
  report: ErrorReport;
  limits: LimitsConfig;
  /** Where sessions' commands and history reads go. */
  backend: SessionBackend;
  /** Readiness and its detail for /readyz. */
  readiness(): { ready: boolean; detail: Record<string, unknown> };
  /** Serve https:// and wss:// (`http.tls`, read and checked: src/tls.ts). */
  tls?: TlsMaterial;
}

/** What the port answers while the relay starts (before {@link DownstreamServer.open}). */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export class DownstreamServer {
  readonly host: WebHost;
  readonly #opts: ServerOptions;
  readonly #sessions = new Set<Session>();
  readonly admission: AdmissionControl;
  readonly #status: StatusPage;

  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.admission = opts.admission ?? OPEN_ADMISSION;
    const { metrics } = opts;
    this.host = new WebHost({
      maxPayloadBytes: opts.maxPayloadBytes,
      admission: this.admission,
      ...(opts.hosts ? { hosts: opts.hosts } : {}),
      ...(opts.addresses ? { addresses: opts.addresses } : {}),
      onProtocolError: (err) => {
        const reason = err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too_large' : 'bad_frame';
        metrics.eventsDropped.inc({ dialect: 'ws', direction: 'downstream', reason });
      },
      onRefused: (kind, code) => metrics.requestsRefused.inc({ kind, code }),
      onLimit: (limit) => metrics.limitHits.inc({ limit }),
      onHandlerError: opts.report,
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    // Until open(): the port may be bound before the listeners exist, and answers only the probes.
    this.host.hold('BRIDGE_ERR_STARTING', (path) => PROBES.has(path));
    this.host.route({ method: 'GET', path: '/healthz', anyHost: true, handle: () => ({ status: 200, json: { status: 'ok' } }) });
    this.host.route({
      method: 'GET',
      path: '/readyz',
      anyHost: true,
      handle: () => {
        const r = opts.readiness();
        return { status: r.ready ? 200 : 503, json: { ready: r.ready, ...r.detail } };
      },
    });
    this.host.route({
      method: 'GET',
      path: '/metrics',
      anyHost: true,
      handle: async () => ({
        status: 200,
        text: await opts.metrics.exposition(),
        headers: { 'content-type': opts.metrics.registry.contentType },
      }),
    });
    this.#status = new StatusPage({ metrics, clock: opts.clock, readiness: opts.readiness });
    for (const route of this.#status.routes()) this.host.route(route);
    const sessions = this.#sessions;
    opts.metrics.queueProbe = function* () {
      for (const s of sessions) yield [s.dialect, s.queued] as const;
    };
  }

  /** Mounts one listener: its HTTP routes and its WebSocket path. */
  mount(listener: ListenerConfig, adapter: ProtocolAdapter, role: ListenerRole): void {
    const { metrics, hub, writeQueueBytes, interest, log, clock, limits, backend } = this.#opts;
    const dialect = adapter.protocol;
    // A dialect with its own auth deadline or ping period (a listener option) keeps it.
    const own = listener as { authDeadlineMs?: unknown; pingIntervalMs?: unknown };
    const shared = new SessionShared({
      dialect,
      encode: adapter.encode,
      writeQueueBytes,
      hub,
      metrics,
      interest,
      log,
      sessions: this.#sessions,
      admission: this.admission,
      clock,
      limits,
      backend,
      authDeadlineMs: typeof own.authDeadlineMs === 'number' ? own.authDeadlineMs : limits.authDeadlineMs,
      pingIntervalMs: typeof own.pingIntervalMs === 'number' ? own.pingIntervalMs : limits.pingIntervalMs,
    });
    for (const route of role.routes) this.host.route(route);
    this.#status.listener(listener);
    this.host.endpoint({
      path: listener.path,
      authorize: async (req) => {
        const verdict = await role.authorize(req);
        if (!verdict.accept && (verdict.reason === 'auth' || verdict.reason === 'origin')) {
          metrics.authFailures.inc({ dialect, direction: 'downstream', reason: verdict.reason });
        }
        if (!verdict.accept) return verdict;
        // The host hands `state` to `open`; whether to arm the auth deadline travels with it.
        const admitted: Admitted = { state: verdict.state, authenticated: verdict.authenticated === true };
        return { accept: true, state: admitted };
      },
      open: (conn, req, state) => {
        const admitted = state as Admitted;
        const session = new Session(conn, shared);
        this.#sessions.add(session);
        metrics.downstreamConnections.inc({ dialect });
        session.enrol(admitted.authenticated);
        session.attach(role.open(session, req, admitted.state));
        // The session is the socket's hooks itself: nothing else is allocated per connection.
        return session;
      },
    });
  }

  /** Everything is mounted: serve every route and upgrade. */
  open(): void {
    this.host.release();
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  listen(host: string, port: number): Promise<{ port: number; url: string }> {
    return this.host.listen(host, port);
  }

  /**
   * Drain: refuse new upgrades (503), close every session with 1001, and wait until every socket
   * is gone or `graceMs` passed on the relay's clock; then terminate the rest.
   */
  async drain(graceMs: number): Promise<void> {
    const shutdown = closeFrame('BRIDGE_ERR_SHUTDOWN');
    this.host.refuseUpgrades({ status: 503, json: { error: shutdown.reason } });
    for (const s of this.#sessions) s.close('BRIDGE_ERR_SHUTDOWN');
    let timer: Timer | null = null;
    const graceOver = new Promise<void>((resolve) => {
      timer = this.#opts.clock.setTimeout(resolve, graceMs);
    });
    await Promise.race([this.host.idle(), graceOver]);
    (timer as Timer | null)?.cancel();
    for (const s of this.#sessions) s.terminate();
  }

  close(): Promise<void> {
    return this.host.close();
  }
}
