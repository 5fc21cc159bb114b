/**
 * What every session of one listener shares (built once per listener): the encoder, the write
 * queue bound, the per-session limits and the two deadline queues (auth deadline, keep-alive)
 * that stand in for a timer per session. Counting helpers live here too, so a session holds no
 * labels or closures of its own.
 */
import type { Clock } from '../clock.ts';
import type { LimitsConfig } from '../config/schema.ts';
import type { EventEncoder, Log } from '../contracts.ts';
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';
import type { Metrics } from '../metrics.ts';
import { ThrottledLog } from '../throttled-log.ts';
import type { InterestTable } from '../upstream/interest.ts';
import { OPEN_ADMISSION, addressKey, type AdmissionControl } from './admission.ts';
import { DeadlineQueue } from './deadlines.ts';
import type { Hub } from './hub.ts';
import type { Session } from './session.ts';

/** A turn's batch is written early once it holds this much. */
const FLUSH_EARLY_BYTES = 16 * 1024;
/** How often a session that spent some budget looks whether its inbound state can go. */
const REST_CHECK_MS = 1000;

/** The `limits` a session enforces itself. */
export type SessionLimits = Pick<LimitsConfig, 'inboundRate' | 'inboundQueueFrames' | 'commandRate' | 'historyRate' | 'interestRate' | 'authFailuresPerSocket'>;

/** The limits a session can hit, by config key (the `limit` label of bridge_limit_hits_total). */
export type SessionLimit = keyof SessionLimits | 'authDeadlineMs';

/**
 * Lines per address and kind (failed authentication, one limit) per window of the throttled log:
 * enough to see what a client did, few enough that a flood stays a handful of lines.
 */
export const NOTE_BURST = 5;

/** Whether a session may act for a configured client (src/auth/clients.ts ClientRegistry.bind). */
export interface PrincipalBinder {
  bind(name: string, on?: { readonly upstream: string; readonly id: string }): 'bound' | 'unknown' | 'withdrawn';
}

/** What a session looks like to the log lines it causes. */
interface Noted {
  readonly id: string;
  readonly remoteAddress: string;
}
/** Where a session's commands and reads go (the bus, through the relay). */
export interface SessionBackend {
  /** Sends a command to the link owner; never rejects (see Bus.request). */
  request(command: BridgeCommand): Promise<CommandReply>;
  history(subject: string, limit: number): Promise<BridgeEvent[]>;
  last(subject: string): Promise<BridgeEvent | undefined>;
}

/** What a session must offer its listener's deadline queues. */
export interface Deadlined {
  /** The auth deadline passed before `authenticated()`. */
  authExpired(): void;
  /** A ping interval passed: ping, or end a socket that did not answer the last ping. */
  pingDue(): void;
  /** A while after it spent a budget: give back inbound state that holds nothing. */
  restDue(): void;
}

export interface SessionSharedOptions {
  dialect: string;
  encode: EventEncoder;
  writeQueueBytes: number;
  hub: Hub;
  metrics: Metrics;
  interest: InterestTable;
  log: Log;
  /** Open sessions (all listeners share one set: the queue probe and the drain walk it). */
  sessions: Set<Session>;
  clock: Clock;
  limits: SessionLimits;
  backend: SessionBackend;
  /** This listener's auth deadline (its own option, else limits.authDeadlineMs). */
  authDeadlineMs: number;
  /** This listener's ping period (its own option, else limits.pingIntervalMs). */
  pingIntervalMs: number;
  /** Told of every failed credential (default: admits everything). */
  admission?: AdmissionControl;
  /** The listener's name, for log lines (default: the dialect). */
  listener?: string;
  /** Where refusals and limit hits are logged, bounded (default: one of its own over `log`). */
  notes?: ThrottledLog;
  /** Checks SessionIO.bindPrincipal against the clients in force (default: no client is known). */
  clients?: PrincipalBinder;
}

export class SessionShared {
  readonly dialect: string;
  readonly listener: string;
  readonly encode: EventEncoder;
  /** Read per send: a reload may change it (see {@link setLimits}). */
  writeQueueBytes: number;
  /** A turn's batch is written as soon as it holds this many bytes. */
  flushAt: number;
  readonly hub: Hub;
  readonly metrics: Metrics;
  readonly interest: InterestTable;
  readonly log: Log;
  readonly sessions: Set<Session>;
  /** This dialect's delivery count (a plain number; metrics folds it in at scrape time). */
  readonly delivered: { n: number };
  readonly clock: Clock;
  /** Read per use: a reload may replace it (see {@link setLimits}). */
  limits: SessionLimits;
  readonly backend: SessionBackend;
  admission: AdmissionControl;
  readonly notes: ThrottledLog;
  readonly clients: PrincipalBinder | null;
  /** Sessions that have not authenticated yet, by deadline. */
  readonly authDeadline: DeadlineQueue<Deadlined>;
  /** Every open session, by when it is pinged next. */
  readonly keepAlive: DeadlineQueue<Deadlined>;
  /** Sessions that spent a budget lately, by when they look whether they are at rest again. */
  readonly rest: DeadlineQueue<Deadlined>;
  /**
   * Rate state is kept as milliseconds since this listener started, so the numbers a session
   * holds stay small integers (a full-size timestamp per field would be a heap number each).
   */
  readonly #epoch: number;

  constructor(o: SessionSharedOptions) {
    this.dialect = o.dialect;
    this.listener = o.listener ?? o.dialect;
    this.encode = o.encode;
    this.writeQueueBytes = o.writeQueueBytes;
    this.flushAt = flushAt(o.writeQueueBytes);
    this.hub = o.hub;
    this.metrics = o.metrics;
    this.interest = o.interest;
    this.log = o.log;
    this.sessions = o.sessions;
    this.delivered = o.metrics.deliveries(o.dialect);
    this.clock = o.clock;
    this.limits = o.limits;
    this.backend = o.backend;
    this.admission = o.admission ?? OPEN_ADMISSION;
    this.notes = o.notes ?? new ThrottledLog(o.log, o.clock);
    this.clients = o.clients ?? null;
    this.#epoch = o.clock.now();
    this.authDeadline = new DeadlineQueue(o.clock, o.authDeadlineMs, (s) => this.#guard(s, authExpired));
    this.keepAlive = new DeadlineQueue(o.clock, o.pingIntervalMs, (s) => this.#guard(s, pingDue));
    this.rest = new DeadlineQueue(o.clock, REST_CHECK_MS, (s) => this.#guard(s, restDue));
  }

  /**
   * New limits for this listener's sessions (a config reload): every later frame, command, read,
   * write and auth failure is measured against them, and new deadlines and pings use the new
   * periods (a shorter one also pulls in the deadlines already scheduled: DeadlineQueue.setDelay).
   */
  setLimits(limits: SessionLimits, writeQueueBytes: number, authDeadlineMs: number, pingIntervalMs: number): void {
    this.limits = limits;
    this.writeQueueBytes = writeQueueBytes;
    this.flushAt = flushAt(writeQueueBytes);
    this.authDeadline.setDelay(authDeadlineMs);
    this.keepAlive.setDelay(pingIntervalMs);
  }

  /** Now, on this listener's rate clock (see `#epoch`). */
  now(): number {
    return this.clock.now() - this.#epoch;
  }

  /**
   * A limit dropped something: `bridge_events_dropped_total{reason="throttled"}` and the limit's
   * hit; logged when `session` is given (its first hit of that limit: see Session).
   */
  throttled(limit: SessionLimit, session?: Noted): void {
    this.metrics.eventsDropped.inc({ dialect: this.dialect, direction: 'downstream', reason: 'throttled' });
    this.limitHit(limit, session);
  }

  /** A limit refused, dropped or closed something (`bridge_limit_hits_total`); logged when `session` is given. */
  limitHit(limit: SessionLimit, session?: Noted): void {
    this.metrics.limitHits.inc({ limit });
    if (session) this.noteLimit(limit, session);
  }

  /** Logs that `session` hit `limit` (a `limits` key), bounded per address (see ThrottledLog). */
  noteLimit(limit: string, session: Noted): void {
    this.#note('limit hit', `limit:${limit}`, session, { limit });
  }

  /**
   * A credential was refused (`bridge_auth_failures_total`); logged when `session` is given, with
   * the reason label and the limit it also hit, never the credential.
   */
  authFailed(reason: string, session?: Noted, limit?: SessionLimit): void {
    this.metrics.authFailures.inc({ dialect: this.dialect, direction: 'downstream', reason });
    if (session) this.#note('authentication failed', 'auth', session, limit ? { reason, limit } : { reason });
  }

  #note(msg: string, kind: string, session: Noted, fields: Record<string, unknown>): void {
    const address = session.remoteAddress;
    this.notes.note('warn', `${kind}|${this.dialect}|${addressKey(address)}`, NOTE_BURST, msg, {
      dialect: this.dialect,
      listener: this.listener,
      address,
      conn: session.id,
      ...fields,
    });
  }

  /** An adapter's frame handler threw or rejected: counted and logged, without the message (it may quote the frame). */
  handlerError(err: unknown): void {
    this.metrics.handlerErrors.inc({ where: 'frame' });
    this.log.error('session frame handler failed', { dialect: this.dialect, error: describe(err) });
  }

  #guard(session: Deadlined, duty: (s: Deadlined) => void): void {
    try {
      duty(session);
    } catch (err) {
      this.metrics.handlerErrors.inc({ where: 'timer' });
      this.log.error('session deadline failed', { dialect: this.dialect, error: describe(err) });
    }
  }
}

function flushAt(writeQueueBytes: number): number {
  return Math.min(FLUSH_EARLY_BYTES, Math.floor(writeQueueBytes / 4));
}

function authExpired(s: Deadlined): void {
  s.authExpired();
}

function pingDue(s: Deadlined): void {
  s.pingDue();
}

function restDue(s: Deadlined): void {
  s.restDue();
}

/** An error's class and code, never its message (a parser's message can quote a token it choked on). */
function describe(err: unknown): { name: string; code?: unknown } {
  if (err instanceof Error) return { name: err.name, code: (err as { code?: unknown }).code };
  return { name: typeof err };
}
