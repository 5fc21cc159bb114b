/**
 * Local fan-out. One bus subscription per distinct pattern on this node, reference-counted over
 * the sessions that want it; each event is encoded once per (dialect, variant) and the same bytes
 * go to every session of that dialect and variant.
 */
import type { Bus, BusSubscription } from '../bus/bus.ts';
import type { EventEncoder, SessionHooks } from '../contracts.ts';
import type { BridgeEvent } from '../events.ts';
import type { Metrics } from '../metrics.ts';

/** A session as the hub sees it. */
export interface HubMember {
  readonly dialect: string;
  readonly encode: EventEncoder;
  readonly hooks: SessionHooks;
}

interface Entry {
  sub: BusSubscription;
  members: Set<HubMember>;
}

/** Encoded frames of one event, keyed `dialect \0 variant`; null = the dialect cannot express it. */
type FrameCache = Map<string, Buffer | null>;

export class Hub {
  readonly #bus: Bus;
  readonly #metrics: Metrics;
  readonly #entries = new Map<string, Entry>();
  /** Shared across patterns: an event matching two patterns is still encoded once per key. */
  readonly #frames = new WeakMap<BridgeEvent, FrameCache>();

  constructor(bus: Bus, metrics: Metrics) {
    this.#bus = bus;
    this.#metrics = metrics;
  }

  /** Number of bus subscriptions this hub holds (one per distinct pattern). */
  get subscriptions(): number {
    return this.#entries.size;
  }

  /** Adds `member` to `pattern`; the returned function removes it (idempotent). */
  subscribe(pattern: string, member: HubMember): () => void {
    let entry = this.#entries.get(pattern);
    if (!entry) {
      const members = new Set<HubMember>();
      const sub = this.#bus.subscribe(pattern, (event) => this.#deliver(event, members));
      entry = { sub, members };
      this.#entries.set(pattern, entry);
    }
    entry.members.add(member);
    const held = entry;
    return () => {
      if (!held.members.delete(member) || held.members.size > 0) return;
      held.sub.unsubscribe();
      if (this.#entries.get(pattern) === held) this.#entries.delete(pattern);
    };
  }

  #deliver(event: BridgeEvent, members: Set<HubMember>): void {
    if (members.size === 0) return;
    let frames = this.#frames.get(event);
    if (!frames) {
      frames = new Map();
      this.#frames.set(event, frames);
    }
    for (const member of members) {
      const key = `${member.dialect}\u0000${member.hooks.variant}`;
      let frame = frames.get(key);
      if (frame === undefined) {
        frame = this.#encode(event, member, frames);
        frames.set(key, frame);
      }
      if (frame !== null) member.hooks.onEvent(event, frame);
    }
  }

  #encode(event: BridgeEvent, member: HubMember, frames: FrameCache): Buffer | null {
    const firstOfDialect = ![...frames.keys()].some((k) => k.startsWith(`${member.dialect}\u0000`));
    let text: string | null;
    try {
      text = member.encode(event, member.hooks.variant);
    } catch {
      text = null;
    }
    if (firstOfDialect) {
      if (text === null) this.#metrics.eventsDropped.inc({ dialect: member.dialect, direction: 'downstream', reason: 'unmapped' });
      const received = Date.parse(event.time);
      if (Number.isFinite(received)) this.#metrics.fanoutLatency.observe({ dialect: member.dialect }, Math.max(0, Date.now() - received) / 1000);
    }
    return text === null ? null : Buffer.from(text, 'utf8');
  }
}
