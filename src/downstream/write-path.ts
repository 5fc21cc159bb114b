/**
 * The fan-out write path. Server-to-client WebSocket frames are not masked, so a text frame's
 * bytes are the same for every client: the hub frames each encoded event once and every session
 * writes those same bytes. Each session queues its frames and writes them in one corked batch
 * per event-loop turn, so a burst of events costs one syscall per client, not one per event.
 * (The cost of fan-out is per write, not per byte.)
 */
import type { Socket } from 'node:net';

/** Encoded payload → its complete WebSocket text frame, built once (see {@link framedOnce}). */
const FRAMES = new WeakMap<Buffer, Buffer>();

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
  let frame = FRAMES.get(payload);
  if (!frame) {
    frame = textFrame(payload);
    FRAMES.set(payload, frame);
  }
  return frame;
}

/** Something with frames waiting to be written. */
export interface Flushable {
  flush(): void;
}

const dirty = new Set<Flushable>();
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  // Each flush() removes its own entry; a session made dirty again meanwhile schedules a new turn.
  for (const f of [...dirty]) f.flush();
}

/** Flushes `f` at the end of this event-loop turn (once, however many frames it queued). */
export function scheduleFlush(f: Flushable): void {
  dirty.add(f);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}

/** Forgets a pending flush (the session is gone). */
export function cancelFlush(f: Flushable): void {
  dirty.delete(f);
}

/** Writes queued frames in one batch: cork, write each, uncork → a single writev. */
export function writeBatch(socket: Socket, frames: Buffer[]): void {
  if (frames.length === 1) {
    socket.write(frames[0]!);
    return;
  }
  socket.cork();
  for (const f of frames) socket.write(f);
  socket.uncork();
}
