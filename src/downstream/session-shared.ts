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
import type { InterestTable } from '../upstream/interest.ts';
import { OPEN_ADMISSION, type AdmissionControl } from './admission.ts';
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
}

export class SessionShared {
  readonly dialect: string;
  readonly encode: EventEncoder;
  readonly writeQueueBytes: number;
  /** A turn's batch is written as soon as it holds this many bytes. */
  readonly flushAt: number;
  readonly hub: Hub;
  readonly metrics: Metrics;
  readonly interest: InterestTable;
  readonly log: Log;
  readonly sessions: Set<Session>;
  /** This dialect's delivery count (a plain number; metrics folds it in at scrape time). */
  readonly delivered: { n: number };
  readonly clock: Clock;
  readonly limits: SessionLimits;
  readonly backend: SessionBackend;
  admission: AdmissionControl;
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
    this.encode = o.encode;
    this.writeQueueBytes = o.writeQueueBytes;
    this.flushAt = Math.min(FLUSH_EARLY_BYTES, Math.floor(o.writeQueueBytes / 4));
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
    this.#epoch = o.clock.now();
    this.authDeadline = new DeadlineQueue(o.clock, o.authDeadlineMs, (s) => this.#guard(s, authExpired));
    this.keepAlive = new DeadlineQueue(o.clock, o.pingIntervalMs, (s) => this.#guard(s, pingDue));
    this.rest = new DeadlineQueue(o.clock, REST_CHECK_MS, (s) => this.#guard(s, restDue));
  }

  /** Now, on this listener's rate clock (see `#epoch`). */
  now(): number {
    return this.clock.now() - this.#epoch;
  }

  /** A limit dropped something: `bridge_events_dropped_total{reason="throttled"}` and the limit's hit. */
  throttled(limit: SessionLimit): void {
    this.metrics.eventsDropped.inc({ dialect: this.dialect, direction: 'downstream', reason: 'throttled' });
    this.limitHit(limit);
  }

  limitHit(limit: SessionLimit): void {
    this.metrics.limitHits.inc({ limit });
  }

  authFailed(reason: string): void {
    this.metrics.authFailures.inc({ dialect: this.dialect, direction: 'downstream', reason });
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
