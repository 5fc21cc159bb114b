/**
 * The relay's own share of a delivery's latency: from the receipt of an upstream frame to the
 * last socket write of its event on this node. The link runner notes each event it builds (by
 * id, with the frame's receipt time); the hub takes the note when the event reaches the fan-out
 * (on NATS it comes back as a new object with the same id) and the write path finishes it after
 * the event's last write (write-path.ts `beginFanout`/`endFanout`). Events another node published
 * are not timed here: their receipt happened elsewhere.
 *
 * Every finished record is observed in `bridge_fanout_write_seconds` and, only while someone
 * subscribes to the diagnostics channel {@link FANOUT_CHANNEL} (the bench does, from its process
 * hook), published there whole, with the time of each phase. Times are `performance.now()`
 * milliseconds of this process.
 */
import { channel } from 'node:diagnostics_channel';

/** Where finished {@link FanoutRecord}s are published while the channel has subscribers. */
export const FANOUT_CHANNEL = 'bridge.fanout';

/** One event's way through this node, each phase a `performance.now()` time (0: did not happen). */
export interface FanoutRecord {
  readonly id: string;
  /** The upstream frame arrived (the link runner's socket message). */
  readonly received: number;
  /** The adapter handed over the decoded event (`LinkIO.publish`). */
  readonly decoded: number;
  /** The event was built and handed to the bus. */
  readonly published: number;
  /** The bus handed it to the hub (on NATS, after the round trip through the server). */
  delivered: number;
  /** Its frames were encoded (the first dialect's). */
  encoded: number;
  /** The first socket write that carried it. */
  firstWrite: number;
  /** The last socket write that carried it: the end of its fan-out. */
  lastWrite: number;
  /** Sessions it was handed to (hub members of its patterns). */
  sessions: number;
}

/** Events noted and not yet delivered: a bound, so events that never reach a session cost nothing lasting. */
const NOTED_MAX = 1024;

const published = channel(FANOUT_CHANNEL);

export class FanoutTiming {
  readonly #noted = new Map<string, FanoutRecord>();
  readonly #observe: (seconds: number) => void;

  constructor(observe: (seconds: number) => void) {
    this.#observe = observe;
  }

  /** Events noted and not yet taken (for tests). */
  get pending(): number {
    return this.#noted.size;
  }

  /**
   * The link runner built event `id` from a frame received at `received` (decoded by `decoded`),
   * and is about to publish it. The oldest note goes when there are too many.
   */
  note(id: string, received: number, decoded: number): void {
    const noted = this.#noted;
    noted.set(id, { id, received, decoded, published: performance.now(), delivered: 0, encoded: 0, firstWrite: 0, lastWrite: 0, sessions: 0 });
    if (noted.size > NOTED_MAX) noted.delete(noted.keys().next().value!);
  }

  /** The hub: event `id` reached the fan-out. Its record, once, if this node noted it. */
  take(id: string): FanoutRecord | null {
    const noted = this.#noted;
    if (noted.size === 0) return null;
    const r = noted.get(id);
    if (r === undefined) return null;
    noted.delete(id);
    r.delivered = performance.now();
    return r;
  }

  /** The write path: the record's last write is done (`lastWrite` set). */
  finish(r: FanoutRecord): void {
    this.#observe(Math.max(0, r.lastWrite - r.received) / 1000);
    if (published.hasSubscribers) published.publish(r);
  }
}
