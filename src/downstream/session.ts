/**
 * One dashboard connection as an adapter sees it: the SessionIO slice over a host connection,
 * with a bounded write queue. The queue is the socket's own buffer (bytes `ws` holds that the
 * kernel has not taken); a session whose backlog passes the high-water mark is closed as a slow
 * consumer, so one stuck dashboard can never grow the relay's memory or delay the others.
 */
import { randomUUID } from 'node:crypto';
import type { EventEncoder, SessionHooks, SessionIO } from '../contracts.ts';
import { closeFrame, type BridgeErrorCode } from '../errors.ts';
import type { Metrics } from '../metrics.ts';
import type { HostConnection } from './web-host.ts';
import type { Hub, HubMember } from './hub.ts';
import type { InterestTable } from '../upstream/interest.ts';
import { cancelFlush, framedOnce, scheduleFlush, textFrame, writeBatch, type Flushable } from './write-path.ts';

/** How long a slow consumer gets to read its backlog and the close frame before it is cut off. */
const SLOW_CLOSE_GRACE_MS = 5000;
/** A turn's batch is written early once it holds this much. */
const FLUSH_EARLY_BYTES = 16 * 1024;

export interface SessionOptions {
  dialect: string;
  encode: EventEncoder;
  writeQueueBytes: number;
  hub: Hub;
  metrics: Metrics;
  interest: InterestTable;
}

export class Session implements SessionIO, HubMember, Flushable {
  readonly id = randomUUID();
  readonly dialect: string;
  readonly encode: EventEncoder;
  readonly #conn: HostConnection;
  readonly #opts: SessionOptions;
  readonly #subs = new Map<string, () => void>();
  /** Bound once: a labelled inc() would hash the labels on every frame. */
  readonly #delivered: { inc(): void };
  #hooks: SessionHooks | null = null;
  #closing = false;
  /** Complete frames waiting for this turn's batched write. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #flushAt: number;

  constructor(conn: HostConnection, opts: SessionOptions) {
    this.#conn = conn;
    this.#opts = opts;
    this.dialect = opts.dialect;
    this.encode = opts.encode;
    this.#delivered = opts.metrics.eventsOut.labels({ dialect: opts.dialect });
    this.#flushAt = Math.min(FLUSH_EARLY_BYTES, Math.floor(opts.writeQueueBytes / 4));
  }

  get remoteAddress(): string {
    return this.#conn.remoteAddress;
  }

  /** The adapter's hooks; set once, right after the adapter opened the session. */
  get hooks(): SessionHooks {
    if (!this.#hooks) throw new Error('session hooks not attached');
    return this.#hooks;
  }

  attach(hooks: SessionHooks): void {
    this.#hooks = hooks;
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
    if (this.queued + bytes.length > this.#opts.writeQueueBytes) {
      this.#opts.metrics.eventsDropped.inc({ dialect: this.dialect, direction: 'downstream', reason: 'slow' });
      this.close('BRIDGE_ERR_SLOW_CONSUMER', `more than ${this.#opts.writeQueueBytes} bytes queued`);
      // The close frame waits behind the backlog the peer is not reading; do not hold the socket
      // (and its buffers) for ws's 30 s close timeout.
      setTimeout(() => this.#conn.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#delivered.inc();
    // A big burst is written now rather than at the end of the turn, so the queue limit measures
    // what the peer has not taken, not the size of one turn's burst.
    if (this.#pendingBytes >= this.#flushAt) this.flush();
    else if (this.#pending.length === 1) scheduleFlush(this);
  }

  /** Writes this turn's frames in one batch (called by the write path at the end of the turn). */
  flush(): void {
    cancelFlush(this);
    if (this.#pending.length === 0) return;
    const frames = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const socket = this.#conn.netSocket;
    if (socket.destroyed || !socket.writable) return;
    writeBatch(socket, frames);
  }

  close(code: BridgeErrorCode, detail?: string): void {
    const f = closeFrame(code, detail);
    this.closeRaw(f.code, f.reason);
  }

  closeRaw(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.unsubscribeAll();
    // Queued frames go first, so the close frame follows everything sent before it.
    this.flush();
    cancelFlush(this);
    this.#conn.close(code, reason);
  }

  ping(): void {
    this.#conn.ping();
  }

  terminate(): void {
    this.#closing = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    cancelFlush(this);
    this.unsubscribeAll();
    this.#conn.terminate();
  }

  subscribe(pattern: string): () => void {
    const existing = this.#subs.get(pattern);
    if (existing) return existing;
    if (this.#closing) return () => {};
    const off = this.#opts.hub.subscribe(pattern, this);
    const remove = () => {
      if (this.#subs.get(pattern) !== remove) return;
      this.#subs.delete(pattern);
      off();
    };
    this.#subs.set(pattern, remove);
    return remove;
  }

  unsubscribeAll(): void {
    for (const remove of [...this.#subs.values()]) remove();
  }

  declareInterest(upstream: string, resource: string, ids: readonly string[]): void {
    if (!this.#closing) this.#opts.interest.declare(this.id, upstream, resource, ids);
  }

  /** Called by the host when the socket is gone. */
  closed(code: number, reason: string): void {
    this.#closing = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    cancelFlush(this);
    this.unsubscribeAll();
    this.#opts.interest.drop(this.id);
    const hooks = this.#hooks;
    this.#hooks = null;
    hooks?.onClose(code, reason);
  }
}
