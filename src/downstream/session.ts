/**
 * One dashboard connection as an adapter sees it: the SessionIO slice over a host connection,
 * with a bounded write queue. The queue is the socket's own buffer (bytes the kernel has not
 * taken) plus this turn's batch; a session whose backlog passes the high-water mark is closed as
 * a slow consumer, so one stuck dashboard can never grow the relay's memory or delay the others.
 *
 * A relay holds many of these, so a session is kept small: what every session of a listener
 * shares lives once in {@link SessionShared}, and nothing here is a closure per connection.
 */
import type { EventEncoder, Log, SessionHooks, SessionIO } from '../contracts.ts';
import { closeFrame, type CloseErrorCode } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { ConnectionHooks, HostConnection } from './web-host.ts';
import type { Hub, HubMember } from './hub.ts';
import type { InterestTable } from '../upstream/interest.ts';
import { OPEN_ADMISSION, type AdmissionControl } from './admission.ts';
import { framedOnce, scheduleFlush, textFrame, writeBatch, type Flushable } from './write-path.ts';

/** How long a slow consumer gets to read its backlog and the close frame before it is cut off. */
const SLOW_CLOSE_GRACE_MS = 5000;
/** A turn's batch is written early once it holds this much. */
const FLUSH_EARLY_BYTES = 16 * 1024;

/** What every session of one listener shares (built once per listener). */
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
  /** Open sessions (all listeners share one set: the queue probe and the drain walk it). */
  readonly sessions: Set<Session>;
  /** This dialect's delivery count (a plain number; metrics folds it in at scrape time). */
  readonly delivered: { n: number };
  /** The port's admission control: failed authentications on a socket count against its address. */
  readonly admission: AdmissionControl;

  constructor(o: { dialect: string; encode: EventEncoder; writeQueueBytes: number; hub: Hub; metrics: Metrics; interest: InterestTable; log: Log; sessions: Set<Session>; admission?: AdmissionControl }) {
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
    this.admission = o.admission ?? OPEN_ADMISSION;
  }
}

let sessions = 0;

export class Session implements SessionIO, HubMember, Flushable, ConnectionHooks {
  readonly #n = (sessions += 1);
  readonly #conn: HostConnection;
  readonly #shared: SessionShared;
  /**
   * The adapter's hooks: set by {@link attach} right after the adapter opened the session, and
   * back to no-ops once the socket closed. A plain field, as the hub reads it per delivery.
   */
  hooks: SessionHooks = NO_HOOKS;
  /** Hub patterns this session is in (a session has one or two). */
  #patterns: string[] | null = null;
  #closing = false;
  /**
   * Complete frames waiting for this turn's batched write: null when there are none, the frame
   * itself when there is one (the common case at moderate rates: no array per turn), else a list.
   */
  #pending: Buffer | Buffer[] | null = null;
  #pendingBytes = 0;
  /** The socket's backlog when this turn's batch began (it does not change until we write). */
  #backlog = 0;
  flushQueued = false;

  constructor(conn: HostConnection, shared: SessionShared) {
    this.#conn = conn;
    this.#shared = shared;
  }

  /** Unique within this process (keys the interest table); built when asked, as few sessions need it. */
  get id(): string {
    return `s${this.#n}`;
  }

  get dialect(): string {
    return this.#shared.dialect;
  }

  get encode(): EventEncoder {
    return this.#shared.encode;
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  attach(hooks: SessionHooks): void {
    this.hooks = hooks;
  }

  /** Bytes waiting in user space for this session: this turn's batch and what the socket holds. */
  get queued(): number {
    return this.#pendingBytes + this.#conn.bufferedAmount;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Queues a text frame. A Buffer is an encoded payload (usually the hub's shared one, whose
   * WebSocket frame is built once for every session); a string is framed for this session only.
   */
  send(frame: string | Buffer): void {
    if (this.#closing) return;
    const bytes = typeof frame === 'string' ? textFrame(Buffer.from(frame, 'utf8')) : framedOnce(frame);
    const shared = this.#shared;
    const pending = this.#pending;
    // The socket's backlog is read once per turn: it does not change until this session writes.
    if (pending === null) this.#backlog = this.#conn.bufferedAmount;
    if (this.#backlog + this.#pendingBytes + bytes.length > shared.writeQueueBytes) return this.#slow();
    if (pending === null) this.#pending = bytes;
    else if (Buffer.isBuffer(pending)) this.#pending = [pending, bytes];
    else pending.push(bytes);
    this.#pendingBytes += bytes.length;
    // A big burst is written now rather than at the end of the turn, so the queue limit measures
    // what the peer has not taken, not the size of one turn's burst.
    if (this.#pendingBytes >= shared.flushAt) this.flush();
    else if (pending === null) scheduleFlush(this);
  }

  #slow(): void {
    const { metrics, writeQueueBytes, dialect } = this.#shared;
    metrics.eventsDropped.inc({ dialect, direction: 'downstream', reason: 'slow' });
    this.close('BRIDGE_ERR_SLOW_CONSUMER', `more than ${writeQueueBytes} bytes queued`);
    // The close frame waits behind the backlog the peer is not reading; do not hold the socket
    // (and its buffers) for ws's 30 s close timeout.
    const conn = this.#conn;
    setTimeout(() => conn.terminate(), SLOW_CLOSE_GRACE_MS).unref();
  }

  /** Writes this turn's frames in one batch (called by the write path at the end of the turn). */
  flush(): void {
    this.flushQueued = false;
    const pending = this.#pending;
    if (pending === null) return;
    const bytes = this.#pendingBytes;
    this.#pending = null;
    this.#pendingBytes = 0;
    const socket = this.#conn.netSocket;
    if (socket.destroyed || !socket.writable) return;
    if (Buffer.isBuffer(pending)) {
      socket.write(pending);
      this.#shared.delivered.n += 1;
    } else {
      writeBatch(socket, pending, bytes);
      this.#shared.delivered.n += pending.length;
    }
  }

  close(code: CloseErrorCode, detail?: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.unsubscribeAll();
    // Queued frames go first, so the close frame follows everything sent before it.
    this.flush();
    const f = closeFrame(code, detail);
    this.#conn.close(f.code, f.reason);
  }

  ping(): void {
    this.#conn.ping();
  }

  terminate(): void {
    this.#closing = true;
    this.#drop();
    this.unsubscribeAll();
    this.#conn.terminate();
  }

  subscribe(pattern: string): () => void {
    if (this.#closing) return () => {};
    const patterns = this.#patterns;
    if (!patterns?.includes(pattern)) {
      // The hub's copy of the pattern: sessions that share a pattern share one string. Arrays are
      // built at their exact size (push would reserve room for 16 more, in every session).
      const held = this.#shared.hub.subscribe(pattern, this);
      this.#patterns = patterns ? patterns.concat(held) : [held];
    }
    return () => this.#unsubscribe(pattern);
  }

  #unsubscribe(pattern: string): void {
    const patterns = this.#patterns;
    const i = patterns ? patterns.indexOf(pattern) : -1;
    if (i < 0) return;
    this.#patterns = patterns!.filter((_, j) => j !== i);
    this.#shared.hub.unsubscribe(pattern, this);
  }

  unsubscribeAll(): void {
    const patterns = this.#patterns;
    if (!patterns) return;
    this.#patterns = null;
    for (const p of patterns) this.#shared.hub.unsubscribe(p, this);
  }

  declareInterest(upstream: string, resource: string, ids: readonly string[]): void {
    if (!this.#closing) this.#shared.interest.declare(this.id, upstream, resource, ids);
  }

  #drop(): void {
    this.#pending = null;
    this.#pendingBytes = 0;
    this.flushQueued = false;
  }

  // ConnectionHooks: what the host reports about the socket.

  onMessage(text: string): void {
    try {
      this.hooks.onMessage(text);
    } catch (err) {
      // Adapters promise not to throw; if one does, the session survives and it is counted.
      const { metrics, dialect, log } = this.#shared;
      metrics.eventsDropped.inc({ dialect, direction: 'downstream', reason: 'bad_frame' });
      log.error('session hook threw', { dialect, err: err as Error });
    }
  }

  onPong(): void {
    this.hooks.onPong?.();
  }

  /** The socket is gone. */
  onClose(code: number, reason: string): void {
    const shared = this.#shared;
    shared.sessions.delete(this);
    shared.metrics.downstreamConnections.dec({ dialect: shared.dialect });
    this.#closing = true;
    this.#drop();
    this.unsubscribeAll();
    shared.interest.drop(this.id);
    const hooks = this.hooks;
    this.hooks = NO_HOOKS;
    hooks.onClose(code, reason);
  }
}

/** A session's hooks before the adapter attached its own, and after the socket closed. */
const NO_HOOKS: SessionHooks = {
  variant: '',
  onMessage() {},
  onEvent() {},
  onClose() {},
};
