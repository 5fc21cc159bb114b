/**
 * Local delivery for the NATS bus: an event this process publishes is handed to this process's
 * subscribers at once, synchronously as the memory bus does, instead of after the round trip
 * through nats-server (issue 15: that hop was the relay's whole latency difference between the
 * two buses). The copy the server sends back to each of our subscriptions, the echo, is
 * recognised by the event id and dropped; as the server delivers a connection's own messages in
 * the order it published them, an echo normally arrives within a round trip.
 *
 * Every other subscriber (other processes, other nodes, JetStream retention) still gets the
 * event through NATS as before.
 */
import type { BridgeEvent } from '../events.ts';
import type { BusSubscription, EventHandler } from './bus.ts';
import { SubjectIndex, type IndexEntry } from './subject-index.ts';

/**
 * Echoes still expected: a bound for subscriptions that will never echo (removed, or not yet on
 * the server when the event was published). Past it the oldest is forgotten; its echo, should it
 * still come, is then delivered as a second copy.
 */
const EXPECTED_MAX = 65_536;

/** How `JSON.stringify` of a {@link BridgeEvent} built by `makeEvent` starts; the id follows. */
const HEAD = Buffer.from('{"specversion":"1.0","id":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A local subscription, as {@link LocalDelivery.add} makes it. */
export interface LocalSubscription {
  /** Whether `data`, a message that reached this subscription through NATS, is the echo of an event it had at once. */
  echo(data: Uint8Array): boolean;
  /** This subscription and `sub`, its NATS side, as one. */
  with(sub: BusSubscription): BusSubscription;
}

interface Expected {
  /** Echoes still to come: one per local subscription that got the event. */
  left: number;
  /** The index's newest entry when it was published: later subscriptions did not get it locally. */
  seq: number;
}

export class LocalDelivery {
  readonly #subs = new SubjectIndex<EventHandler>();
  readonly #expected = new Map<string, Expected>();
  readonly #queue: [string, BridgeEvent][] = [];
  readonly #onError: (err: unknown) => void;
  readonly #forward: (subject: string, event: BridgeEvent) => void;
  #delivering = false;
  #seq = 0;

  /** `forward` sends an event on to NATS, right after its local subscribers had it. */
  constructor(onError: (err: unknown) => void, forward: (subject: string, event: BridgeEvent) => void) {
    this.#onError = onError;
    this.#forward = forward;
  }

  /** Echoes still expected (for tests). */
  get expected(): number {
    return this.#expected.size;
  }

  /** A local subscription; its NATS side is joined with {@link LocalSubscription.with}. */
  add(pattern: string, handler: EventHandler): LocalSubscription {
    const entry = this.#subs.add(pattern, handler);
    this.#seq = entry.seq;
    return {
      echo: (data) => this.#isEcho(data, entry),
      with: (sub) => ({
        unsubscribe: () => {
          this.#subs.remove(entry);
          sub.unsubscribe();
        },
      }),
    };
  }

  /**
   * Hands `event` to every local subscription of `subject` now, expecting one echo per
   * subscription that got it, then forwards it to NATS: the local fan-out does not wait for the
   * event's encoding. An event published by a handler meanwhile waits for the current one, as on
   * the memory bus, so NATS too sees the events in the order they were published.
   */
  deliver(subject: string, event: BridgeEvent): void {
    this.#queue.push([subject, event]);
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
        this.#handOut(item[0], item[1]);
        this.#forward(item[0], item[1]);
      }
    } finally {
      this.#delivering = false;
    }
  }

  #handOut(subject: string, event: BridgeEvent): void {
    const entries = this.#subs.match(subject);
    if (entries.length === 0) return;
    const expected = this.#expected;
    expected.set(event.id, { left: entries.length, seq: this.#seq });
    if (expected.size > EXPECTED_MAX) expected.delete(expected.keys().next().value!);
    for (const entry of entries) {
      // Re-checked per call: a handler may unsubscribe another one mid-delivery.
      if (!entry.active) continue;
      try {
        entry.handler(event, subject);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  /**
   * Whether the message `data` that reached local subscription `entry` is the echo of an event
   * delivered here already. The id is read in place when the event starts as `makeEvent` lays it
   * out (every event the relay publishes does); otherwise the message is parsed for it.
   */
  #isEcho(data: Uint8Array, entry: IndexEntry<EventHandler>): boolean {
    if (this.#expected.size === 0) return false;
    const id = idOf(data);
    const e = id === undefined ? undefined : this.#expected.get(id);
    if (e === undefined) return false;
    // A subscription made after the publish did not get it here either: on the memory bus it
    // would not get it at all, so its echo is dropped too, without counting it.
    if (entry.seq <= e.seq && --e.left <= 0) this.#expected.delete(id!);
    return true;
  }
}

/** The id of the event in `data`: read in place from `makeEvent`'s layout, else parsed. */
export function idOf(data: Uint8Array): string | undefined {
  const at = HEAD.length;
  const end = data.indexOf(QUOTE, at);
  let plain = end > at && Buffer.compare(HEAD, data.subarray(0, at)) === 0;
  // An escape or a non-ASCII character: the bytes are not the id itself.
  for (let i = at; plain && i < end; i++) if (data[i] === BACKSLASH || data[i]! >= 0x80) plain = false;
  if (plain) return Buffer.from(data.buffer, data.byteOffset + at, end - at).toString('latin1');
  try {
    const id = (JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined; // not JSON: the subscription reports it
  }
}
