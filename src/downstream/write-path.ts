/**
 * The fan-out write path. Server-to-client WebSocket frames are not masked, so a text frame's
 * bytes are the same for every client: the hub frames each encoded event once and every session
 * writes those same bytes. Each session queues its frames and writes them as one buffer per
 * event-loop turn, so a burst of events costs one syscall per client, not one per event.
 * (The cost of fan-out is per write, not per byte.) After a quiet spell a lone event is written
 * through instead, session by session as the hub hands it over, so the first dashboard does not
 * wait for the whole fan-out to be queued and the turn to end (see {@link beginFanout}).
 * The socket comes from ws's internals, which ws-internals.ts isolates and its test checks
 * against the installed ws.
 */
import type { Socket } from 'node:net';
import type { FanoutRecord, FanoutTiming } from '../fanout-timing.ts';

/**
 * A shared payload carries its complete WebSocket frame under this key once framed (see
 * {@link framedOnce}); a property on the buffer itself lives and dies with it, at no GC cost.
 */
const FRAME = Symbol('bridge.frame');
type Framed = Buffer & { [FRAME]?: Buffer };

/** A complete, unmasked, final text frame (opcode 1) carrying `payload`. */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(head + n);
  out[0] = 0x81; // FIN + text
  if (n < 126) out[1] = n;
  else if (n < 65536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(out, head);
  return out;
}

/** The frame of a shared payload, built on first use and remembered for as long as the payload lives. */
export function framedOnce(payload: Buffer): Buffer {
  return ((payload as Framed)[FRAME] ??= textFrame(payload));
}

/** Something with frames waiting to be written. */
export interface Flushable {
  /** True while the flushable is in this turn's list; owned by this module. */
  flushQueued: boolean;
  flush(): void;
}

/**
 * How long the fan-out must have been idle for an event to be written through: below it, events
 * are coming back to back (a burst, saturation) and each session's frames of the turn are
 * coalesced into one write at its end.
 */
export const QUIET_MS = 1;

/** This turn's flushables, in the order they first queued a frame. */
let dirty: Flushable[] = [];
/** While true, a session's first frame is written at once instead of at the end of the turn. */
let through = false;
/** When the last fan-out or flush pass ended (`performance.now()`); -Infinity before the first. */
let idleSince = Number.NEGATIVE_INFINITY;
/** The timed event being fanned out now, if any. */
let current: { timing: FanoutTiming; record: FanoutRecord } | null = null;
/** Timed events whose last write is in the coming flush pass. */
let awaiting: { timing: FanoutTiming; record: FanoutRecord }[] = [];

function flushAll(): void {
  const list = dirty;
  dirty = [];
  const timed = awaiting;
  if (timed.length > 0) {
    awaiting = [];
    const t = performance.now();
    for (const { record } of timed) if (record.firstWrite === 0) record.firstWrite = t;
  }
  // A flushable that queues again while this runs lands in the new list and gets its own turn.
  for (const f of list) {
    if (!f.flushQueued) continue; // flushed early or gone since
    f.flushQueued = false;
    f.flush();
  }
  // Nothing holds on to this turn's frames past it.
  lastFrames = null;
  lastBatch = null;
  // The writes were work too: an event right after a long pass is no lone event.
  const t = (idleSince = performance.now());
  for (const { timing, record } of timed) {
    record.lastWrite = t;
    timing.finish(record);
  }
}

/**
 * Flushes `f` at the end of this event-loop turn (once, however many frames it queued); during a
 * written-through fan-out (see {@link beginFanout}), at once.
 */
export function scheduleFlush(f: Flushable): void {
  if (f.flushQueued) return;
  if (through) {
    if (current !== null && current.record.firstWrite === 0) current.record.firstWrite = performance.now();
    return f.flush();
  }
  f.flushQueued = true;
  if (dirty.push(f) === 1) setImmediate(flushAll);
}

/**
 * The hub starts handing one event to its sessions. After a quiet spell (nothing queued, no
 * fan-out for {@link QUIET_MS}) each session writes its frame at once: one event at a time has
 * nothing to coalesce with, and the first dashboard need not wait for the last one's turn.
 * Otherwise frames are queued and each session writes its turn's frames in one batch.
 * `timed` is the event's record when this node timed it (see fanout-timing.ts).
 */
export function beginFanout(timing: FanoutTiming, timed: FanoutRecord | null): void {
  through = dirty.length === 0 && performance.now() - idleSince >= QUIET_MS;
  if (timed !== null) current = { timing, record: timed };
}

/** The hub has handed the event to every session; ends what {@link beginFanout} began. */
export function endFanout(): void {
  const wasThrough = through;
  through = false;
  idleSince = performance.now();
  const c = current;
  if (c === null) return;
  current = null;
  // Written through, or nothing queued (no session took a frame): its last write is done.
  if (wasThrough || dirty.length === 0) {
    c.record.lastWrite = idleSince;
    c.timing.finish(c.record);
  } else awaiting.push(c);
}

/**
 * The last batch built this turn, and the frames it holds. Sessions that want the same events
 * queue the very same frames in the same order (the hub shares them), so the next session whose
 * frames are those writes that buffer too: one copy per turn, not one per session.
 */
let lastFrames: readonly Buffer[] | null = null;
let lastBatch: Buffer | null = null;

function sameFrames(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Writes queued frames (`bytes` in all) with one write, copied into one buffer (shared, see {@link lastBatch}). */
export function writeBatch(socket: Socket, frames: readonly Buffer[], bytes: number): void {
  if (frames.length === 1) return void socket.write(frames[0]!);
  // Copying a turn's frames (a few KB) costs less than handing the stream one chunk per frame.
  if (lastFrames === null || lastBatch === null || !sameFrames(lastFrames, frames)) {
    lastBatch = Buffer.concat(frames, bytes);
    lastFrames = frames;
  }
  socket.write(lastBatch);
}
