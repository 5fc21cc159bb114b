/**
 * The fan-out write path. Server-to-client WebSocket frames are not masked, so a text frame's
 * bytes are the same for every client: the hub frames each encoded event once and every session
 * writes those same bytes. Each session queues its frames and writes them as one buffer per
 * event-loop turn, so a burst of events costs one syscall per client, not one per event.
 * (The cost of fan-out is per write, not per byte.) The socket comes from ws's internals, which
 * ws-internals.ts isolates and its test checks against the installed ws.
 */
import type { Socket } from 'node:net';

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

/** This turn's flushables, in the order they first queued a frame. */
let dirty: Flushable[] = [];

function flushAll(): void {
  const list = dirty;
  dirty = [];
  // A flushable that queues again while this runs lands in the new list and gets its own turn.
  for (const f of list) {
    if (!f.flushQueued) continue; // flushed early or gone since
    f.flushQueued = false;
    f.flush();
  }
}

/** Flushes `f` at the end of this event-loop turn (once, however many frames it queued). */
export function scheduleFlush(f: Flushable): void {
  if (f.flushQueued) return;
  f.flushQueued = true;
  if (dirty.push(f) === 1) setImmediate(flushAll);
}

/** Writes queued frames (`bytes` in all) with one write, copied into one buffer. */
export function writeBatch(socket: Socket, frames: readonly Buffer[], bytes: number): void {
  // Copying a turn's frames (a few KB) costs less than handing the stream one chunk per frame.
  socket.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
}
