/**
 * Local fan-out. One bus subscription per distinct pattern on this node, reference-counted over
 * the sessions that want it; each event is encoded once per (dialect, variant) and the same bytes
 * go to every session of that dialect and variant. Each event's hand-out is framed by the write
 * path's `beginFanout`/`endFanout`, which decide whether sessions write at once or at the end of
 * the turn, and time the events this node received itself (fanout-timing.ts).
 */
import type { Bus, BusSubscription } from '../bus/bus.ts';
import { describeError } from '../contain.ts';
import type { DropReason, EventEncoder, SessionHooks } from '../contracts.ts';
import type { BridgeEvent } from '../events.ts';
import type { Metrics } from '../metrics.ts';
import type { ThrottledLog } from '../throttled-log.ts';
import type { FanoutRecord } from '../fanout-timing.ts';
import { beginFanout, endFanout } from './write-path.ts';

/** A session as the hub sees it. */
export interface HubMember {
  readonly dialect: string;
  readonly encode: EventEncoder;
  readonly hooks: SessionHooks;
}

interface Entry {
  /** The pattern (members keep this copy rather than one string each). */
  pattern: string;
  sub: BusSubscription;
  members: Set<HubMember>;
}

/** Encoded frames of one event, keyed `dialect \0 variant`; null = the dialect cannot express it. */
type FrameCache = Map<string, Buffer | null>;

export class Hub {
  readonly #bus: Bus;
  readonly #metrics: Metrics;
  /** Where an encoder that threw is told: one line per dialect per window (a bug, not an input). */
  readonly #notes: ThrottledLog | null;
  readonly #entries = new Map<string, Entry>();
  /**
   * The frames of the event being delivered. A bus hands one event to every matching pattern
   * back to back, so remembering the last event is enough for an event that matches two patterns
   * to be encoded once per key (and, unlike a WeakMap, costs the GC nothing per event).
   */
  #lastEvent: BridgeEvent | null = null;
  #lastFrames: FrameCache | null = null;
  /** Dialects encoded for the first time during the current hand-out, counted after it (see #count). */
  readonly #encoded: { dialect: string; dropped: DropReason | null; at: number }[] = [];

  constructor(bus: Bus, metrics: Metrics, notes?: ThrottledLog) {
    this.#bus = bus;
    this.#metrics = metrics;
    this.#notes = notes ?? null;
  }

  /** Number of bus subscriptions this hub holds (one per distinct pattern). */
  get subscriptions(): number {
    return this.#entries.size;
  }

  /** Adds `member` to `pattern`, subscribing the bus on the first; returns the hub's copy of the pattern. */
  subscribe(pattern: string, member: HubMember): string {
    let entry = this.#entries.get(pattern);
    if (!entry) {
      const members = new Set<HubMember>();
      const sub = this.#bus.subscribe(pattern, (event) => this.#deliver(event, members));
      entry = { pattern, sub, members };
      this.#entries.set(pattern, entry);
    }
    entry.members.add(member);
    return entry.pattern;
  }

  /** Removes `member` from `pattern`; the last one out releases the bus subscription. Idempotent. */
  unsubscribe(pattern: string, member: HubMember): void {
    const entry = this.#entries.get(pattern);
    if (!entry || !entry.members.delete(member) || entry.members.size > 0) return;
    entry.sub.unsubscribe();
    this.#entries.delete(pattern);
  }

  #deliver(event: BridgeEvent, members: Set<HubMember>): void {
    if (members.size === 0) return;
    const timing = this.#metrics.fanout;
    // Once per event (the first of its patterns): when this node received it, time its fan-out.
    const timed = timing.take(event.id);
    if (timed !== null) timed.sessions = members.size;
    beginFanout(timing, timed);
    try {
      this.#handOut(event, members, timed);
    } finally {
      endFanout();
      this.#count(event);
    }
  }

  /** The metrics of the encodings just made: after the hand-out, so the first write waits for none of it. */
  #count(event: BridgeEvent): void {
    const encoded = this.#encoded;
    if (encoded.length === 0) return;
    const received = Date.parse(event.time);
    for (const e of encoded) {
      if (e.dropped !== null) this.#metrics.eventsDropped.inc({ dialect: e.dialect, direction: 'downstream', reason: e.dropped });
      if (Number.isFinite(received)) this.#metrics.fanoutLatency.observe({ dialect: e.dialect }, Math.max(0, e.at - received) / 1000);
    }
    encoded.length = 0;
  }

  /** Hands `event` to every member, encoded once per dialect and variant. */
  #handOut(event: BridgeEvent, members: Set<HubMember>, timed: FanoutRecord | null): void {
    let frames = this.#lastFrames;
    if (this.#lastEvent !== event || frames === null) {
      frames = new Map();
      this.#lastEvent = event;
      this.#lastFrames = frames;
    }
    // Members of one pattern nearly always share dialect and variant: remember the last pair so
    // the common case costs two string comparisons per member, not a key built per member.
    let lastDialect: string | null = null;
    let lastVariant: string | null = null;
    let frame: Buffer | null = null;
    for (const member of members) {
      const hooks = member.hooks;
      const dialect = member.dialect;
      const variant = hooks.variant;
      if (dialect !== lastDialect || variant !== lastVariant) {
        const key = `${dialect}\u0000${variant}`;
        let f = frames.get(key);
        if (f === undefined) {
          f = this.#encode(event, member, frames);
          frames.set(key, f);
          if (timed !== null && timed.encoded === 0) timed.encoded = performance.now();
        }
        frame = f;
        lastDialect = dialect;
        lastVariant = variant;
      }
      if (frame !== null) hooks.onEvent(event, frame);
    }
  }
  #encode(event: BridgeEvent, member: HubMember, frames: FrameCache): Buffer | null {
    const firstOfDialect = ![...frames.keys()].some((k) => k.startsWith(`${member.dialect}\u0000`));
    let text: string | null;
    // A dialect that cannot express the event answers null (`unmapped`); one that throws has a bug.
    let dropped: DropReason = 'unmapped';
    try {
      text = member.encode(event, member.hooks.variant);
    } catch (err) {
      text = null;
      dropped = 'encode_error';
      // The event's data never goes in the line: only its type, and the error with secrets cut out.
      this.#notes?.note('warn', `encode_error:${member.dialect}`, 1, 'an encoder threw; event not sent', {
        dialect: member.dialect,
        type: event.type,
        error: describeError(err),
      });
    }
    if (firstOfDialect) this.#encoded.push({ dialect: member.dialect, dropped: text === null ? dropped : null, at: Date.now() });
    return text === null ? null : Buffer.from(text, 'utf8');
  }
}
