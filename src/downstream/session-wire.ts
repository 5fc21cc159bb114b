/**
 * The outbound half of a dashboard session: its bounded write queue. The queue is the socket's own
 * buffer (bytes the kernel has not taken) plus this turn's batch; a session whose backlog passes
 * the high-water mark is closed as a slow consumer, so one stuck dashboard can never grow the
 * relay's memory or delay the others. {@link Session} (session.ts) adds the SessionIO slice.
 */
import { closeFrame, type CloseErrorCode } from '../errors.ts';
import { netSocketOf, type HostConnection } from './hosted-socket.ts';
import type { SessionShared } from './session-shared.ts';
import { framedOnce, scheduleFlush, textFrame, writeBatch, type Flushable } from './write-path.ts';

/** How long a slow consumer gets to read its backlog and the close frame before it is cut off. */
const SLOW_CLOSE_GRACE_MS = 5000;

export abstract class SessionWire implements Flushable {
  protected readonly conn: HostConnection;
  protected readonly shared: SessionShared;
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
    this.conn = conn;
    this.shared = shared;
  }

  /** Unique within this process (keys the interest table and the log lines). */
  abstract get id(): string;

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  /** Bytes waiting in user space for this session: this turn's batch and what the socket holds. */
  get queued(): number {
    return this.#pendingBytes + this.conn.bufferedAmount;
  }

  get closing(): boolean {
    return this.#closing;
  }

  get closed(): boolean {
    return this.#closing;
  }

  /**
   * Queues a text frame. A Buffer is an encoded payload (usually the hub's shared one, whose
   * WebSocket frame is built once for every session); a string is framed for this session only.
   */
  send(frame: string | Buffer): void {
    if (this.#closing) return;
    const bytes = typeof frame === 'string' ? textFrame(Buffer.from(frame, 'utf8')) : framedOnce(frame);
    const shared = this.shared;
    const pending = this.#pending;
    // The socket's backlog is read once per turn: it does not change until this session writes.
    if (pending === null) this.#backlog = this.conn.bufferedAmount;
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
    const { metrics, writeQueueBytes, dialect } = this.shared;
    metrics.eventsDropped.inc({ dialect, direction: 'downstream', reason: 'slow' });
    this.shared.noteLimit('writeQueueBytes', this);
    this.close('BRIDGE_ERR_SLOW_CONSUMER', `more than ${writeQueueBytes} bytes queued`);
    // The close frame waits behind the backlog the peer is not reading; do not hold the socket
    // (and its buffers) for ws's 30 s close timeout.
    const conn = this.conn;
    this.shared.clock.setTimeout(() => conn.terminate(), SLOW_CLOSE_GRACE_MS);
  }

  /** Writes this turn's frames in one batch (called by the write path at the end of the turn). */
  flush(): void {
    this.flushQueued = false;
    const pending = this.#pending;
    if (pending === null) return;
    const bytes = this.#pendingBytes;
    this.#pending = null;
    this.#pendingBytes = 0;
    const socket = netSocketOf(this.conn);
    if (socket.destroyed || !socket.writable) return;
    if (Buffer.isBuffer(pending)) {
      socket.write(pending);
      this.shared.delivered.n += 1;
    } else {
      writeBatch(socket, pending, bytes);
      this.shared.delivered.n += pending.length;
    }
  }

  close(code: CloseErrorCode, detail?: string): void {
    if (this.#closing) return;
    this.stop();
    // Queued frames go first, so the close frame follows everything sent before it.
    this.flush();
    const f = closeFrame(code, detail);
    this.conn.close(f.code, f.reason);
  }

  terminate(): void {
    this.stop();
    this.drop();
    this.conn.terminate();
  }

  /** From now on the session does no work; a subclass stops its own after this. */
  protected stop(): void {
    this.#closing = true;
  }

  /** Forgets the frames not written yet. */
  protected drop(): void {
    this.#pending = null;
    this.#pendingBytes = 0;
    this.flushQueued = false;
  }
}
