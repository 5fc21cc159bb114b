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

/** How long a slow consumer gets to read its backlog and the close frame before it is cut off. */
const SLOW_CLOSE_GRACE_MS = 5000;

export interface SessionOptions {
  dialect: string;
  encode: EventEncoder;
  writeQueueBytes: number;
  hub: Hub;
  metrics: Metrics;
  interest: InterestTable;
}

export class Session implements SessionIO, HubMember {
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

  constructor(conn: HostConnection, opts: SessionOptions) {
    this.#conn = conn;
    this.#opts = opts;
    this.dialect = opts.dialect;
    this.encode = opts.encode;
    this.#delivered = opts.metrics.eventsOut.labels({ dialect: opts.dialect });
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

  /** Bytes waiting in user space for this session. */
  get queued(): number {
    return this.#conn.bufferedAmount;
  }

  get closing(): boolean {
    return this.#closing;
  }

  send(frame: string | Buffer): void {
    if (this.#closing) return;
    const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length;
    if (this.#conn.bufferedAmount + size > this.#opts.writeQueueBytes) {
      this.#opts.metrics.eventsDropped.inc({ dialect: this.dialect, direction: 'downstream', reason: 'slow' });
      this.close('BRIDGE_ERR_SLOW_CONSUMER', `more than ${this.#opts.writeQueueBytes} bytes queued`);
      // The close frame waits behind the backlog the peer is not reading; do not hold the socket
      // (and its buffers) for ws's 30 s close timeout.
      setTimeout(() => this.#conn.terminate(), SLOW_CLOSE_GRACE_MS).unref();
      return;
    }
    this.#conn.send(frame);
    this.#delivered.inc();
  }

  close(code: BridgeErrorCode, detail?: string): void {
    const f = closeFrame(code, detail);
    this.closeRaw(f.code, f.reason);
  }

  closeRaw(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.unsubscribeAll();
    this.#conn.close(code, reason);
  }

  ping(): void {
    this.#conn.ping();
  }

  terminate(): void {
    this.#closing = true;
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
    this.unsubscribeAll();
    this.#opts.interest.drop(this.id);
    const hooks = this.#hooks;
    this.#hooks = null;
    hooks?.onClose(code, reason);
  }
}
