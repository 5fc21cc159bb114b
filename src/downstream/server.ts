/**
 * The relay's one port: /healthz, /readyz, /metrics, every listener's HTTP routes (token and
 * ticket endpoints) and every listener's WebSocket path. Upgrades are decided by the listener
 * before `handleUpgrade` (auth, origin, resource), so a refused client never costs a WebSocket.
 */
import type { HttpRoute, ListenerRole, ProtocolAdapter } from '../contracts.ts';
import type { LimitsConfig, ListenerConfig } from '../config/schema.ts';
import type { Metrics } from '../metrics.ts';
import type { Log } from '../contracts.ts';
import type { Clock, Timer } from '../clock.ts';
import type { ErrorReport } from '../contain.ts';
import { closeFrame, ERRORS, type BridgeErrorCode } from '../errors.ts';
import { ThrottledLog } from '../throttled-log.ts';
import { LIMIT_KEYS, OPEN_ADMISSION, addressKey, type AdmissionControl } from './admission.ts';
import type { ClientAddresses, HostPolicy } from './edge.ts';
import type { Hub } from './hub.ts';
import { GRANT_WITHDRAWN, Session } from './session.ts';
import { NOTE_BURST, SessionShared, type PrincipalBinder, type SessionBackend } from './session-shared.ts';
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
  /** Where refusals, failed authentications and limit hits are logged, bounded (default: one over `log`). */
  notes?: ThrottledLog;
  /** The clients in force, for SessionIO.bindPrincipal (default: none is known). */
  clients?: PrincipalBinder;
}

/** One mounted listener: what its sessions share, and the deadlines it sets itself (if any). */
interface Mounted {
  readonly shared: SessionShared;
  readonly authDeadlineMs: number | undefined;
  readonly pingIntervalMs: number | undefined;
}

/** What the port answers while the relay starts (before {@link DownstreamServer.open}). */
const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

export class DownstreamServer {
  readonly host: WebHost;
  readonly #opts: ServerOptions;
  readonly #sessions = new Set<Session>();
  readonly admission: AdmissionControl;
  readonly #status: StatusPage;
  readonly notes: ThrottledLog;
  readonly #mounted: Mounted[] = [];

  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.admission = opts.admission ?? OPEN_ADMISSION;
    this.notes = opts.notes ?? new ThrottledLog(opts.log, opts.clock);
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
      onRefused: (kind, code, address) => {
        metrics.requestsRefused.inc({ kind, code });
        this.#refused(kind, code, address);
      },
      onLimit: (limit, address) => {
        metrics.limitHits.inc({ limit });
        // One line per address and limit per window of the throttled log, with a count of the rest.
        this.notes.note('warn', `admission:${limit}|${addressKey(address)}`, 1, 'limit hit', { limit, address });
      },
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
    const ownDeadline = typeof own.authDeadlineMs === 'number' ? own.authDeadlineMs : undefined;
    const ownPing = typeof own.pingIntervalMs === 'number' ? own.pingIntervalMs : undefined;
    const shared = new SessionShared({
      dialect,
      listener: listener.name,
      notes: this.notes,
      ...(this.#opts.clients ? { clients: this.#opts.clients } : {}),
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
      authDeadlineMs: ownDeadline ?? limits.authDeadlineMs,
      pingIntervalMs: ownPing ?? limits.pingIntervalMs,
    });
    this.#mounted.push({ shared, authDeadlineMs: ownDeadline, pingIntervalMs: ownPing });
    const where = { dialect, listener: listener.name };
    for (const route of role.routes) this.host.route(route.credential ? this.#loggedCredential(route, where) : route);
    this.#status.listener(listener);
    this.host.endpoint({
      path: listener.path,
      authorize: async (req) => {
        const verdict = await role.authorize(req);
        if (!verdict.accept && (verdict.reason === 'auth' || verdict.reason === 'origin')) {
          metrics.authFailures.inc({ dialect, direction: 'downstream', reason: verdict.reason });
        }
        if (!verdict.accept) {
          const address = req.remoteAddress;
          const msg = verdict.reason === 'auth' ? 'authentication failed' : 'connection refused';
          this.notes.note('warn', `upgrade:${verdict.reason}|${dialect}|${addressKey(address)}`, NOTE_BURST, msg, {
            ...where,
            reason: verdict.reason,
            status: verdict.status,
            address,
          });
          return verdict;
        }
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

  /**
   * A credential route (token or ticket endpoint) whose 401 and 403 answers are logged as failed
   * authentications: the route's pattern, never the path asked (it may hold anything) or the key.
   */
  #loggedCredential(route: HttpRoute, where: { dialect: string; listener: string }): HttpRoute {
    const notes = this.notes;
    return {
      ...route,
      async handle(req) {
        const out = await route.handle(req);
        if (out.status === 401 || out.status === 403) {
          const address = req.remoteAddress;
          notes.note('warn', `endpoint|${where.dialect}|${addressKey(address)}`, NOTE_BURST, 'authentication failed', {
            ...where,
            route: route.path,
            status: out.status,
            address,
          });
        }
        return out;
      },
    };
  }

  /** A refusal the host made itself (not a limit: those are logged per limit). */
  #refused(kind: 'request' | 'upgrade', code: BridgeErrorCode, address: string): void {
    if (LIMIT_KEYS[code] !== undefined) return;
    // An unknown path asked by a browser or a scanner is noise at info; a refused upgrade is not.
    const level = kind === 'request' && code === 'BRIDGE_ERR_NOT_FOUND' ? 'debug' : 'info';
    if (level === 'debug' && this.#opts.log.enabled?.('debug') === false) return;
    this.notes.note(level, `host:${kind}:${code}|${addressKey(address)}`, NOTE_BURST, `${kind} refused`, {
      kind,
      code,
      status: ERRORS[code].http,
      address,
    });
  }

  /**
   * Puts new limits in force for every listener's sessions (a config reload); a listener with its
   * own auth deadline or ping period keeps it.
   */
  setLimits(limits: LimitsConfig): void {
    for (const m of this.#mounted) {
      m.shared.setLimits(limits, limits.writeQueueBytes, m.authDeadlineMs ?? limits.authDeadlineMs, m.pingIntervalMs ?? limits.pingIntervalMs);
    }
  }

  /**
   * Closes (4403 "grant withdrawn") every session bound to a client for which `withdrawn` says
   * the reload took something its subscriptions read. Returns how many, and whose.
   */
  withdraw(withdrawn: (client: string, patterns: Iterable<string>) => boolean): { closed: number; clients: string[] } {
    let closed = 0;
    const clients = new Set<string>();
    for (const s of this.#sessions) {
      const client = s.principal;
      if (client === null || s.closing || !withdrawn(client, s.patterns())) continue;
      s.close('BRIDGE_ERR_FORBIDDEN', GRANT_WITHDRAWN);
      closed += 1;
      clients.add(client);
    }
    return { closed, clients: [...clients] };
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
