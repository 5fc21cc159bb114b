/**
 * The embedded bus: everything in one process, no server. NATS wildcard semantics (`*` one token,
 * `>` one or more trailing tokens), request/reply, and per-subject retention as `retentionOf` says.
 *
 * Delivery is SYNCHRONOUS: `publish()` calls every matching handler before it returns. A handler
 * that publishes again does not recurse; its event is queued and delivered by the same outer
 * `publish()` right after the current one, so every subscriber sees events in publish order.
 * Handlers receive the published object itself (no copy): they must not mutate it.
 */
import type { Clock, Timer } from '../clock.ts';
import { BusStateCell } from './state.ts';
import { noResponder, type Bus, type BusState, type BusSubscription, type CommandHandler, type EventHandler } from './bus.ts';
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';
import { retentionOf } from '../subjects.ts';
import { SubjectIndex } from './subject-index.ts';

export interface MemoryBusOptions {
  /** Events kept per `history` subject (a ring buffer). Default 150. */
  historyLimit?: number;
  /** Receives errors thrown by handlers and listeners. Default: `process.emitWarning`, never silent. */
  onError?(err: unknown): void;
  /** Runs the command timeouts (the relay passes its clock; tests a ManualClock). Default: real time. */
  clock?: Clock;
}

/**
 * Real time for a bus used on its own: unlike `systemClock`'s timers this one keeps the process
 * alive, since someone is awaiting the reply (as a pending NATS request does through its socket).
 */
function refTimeout(fn: () => void, ms: number): Timer {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
}

/** Fixed-capacity ring of the most recent events of one subject. */
class Ring {
  readonly capacity: number;
  readonly #items: (BridgeEvent | undefined)[];
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#items = new Array<BridgeEvent | undefined>(capacity);
  }

  push(event: BridgeEvent): void {
    this.#items[this.#next] = event;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#count < this.capacity) this.#count++;
  }

  /** The last `limit` events, oldest first. */
  tail(limit: number): BridgeEvent[] {
    const n = Math.max(0, Math.min(limit, this.#count));
    const out: BridgeEvent[] = [];
    for (let i = n; i > 0; i--) out.push(this.#items[(this.#next - i + this.capacity) % this.capacity] as BridgeEvent);
    return out;
  }
}

/** A publish subject must be literal: no empty token, no whitespace, no wildcard token. */
const BAD_SUBJECT = /^$|^\.|\.$|\.\.|\s|(?:^|\.)[*>](?:\.|$)/;

const errorReply = (code: string, message: string): CommandReply => ({ ok: false, code, message });

/** The in-process {@link Bus}. Usable before `start()`; `drain()` ends it for good. */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  /** In-process: there is no connection to fail. */
  readonly lastError = undefined;
  readonly #historyLimit: number;
  readonly #onError: (err: unknown) => void;
  readonly #setTimeout: (fn: () => void, ms: number) => Timer;
  readonly #subs = new SubjectIndex<EventHandler>();
  readonly #servers = new SubjectIndex<CommandHandler>();
  readonly #retained = new Map<string, Ring>();
  readonly #inflight = new Set<Promise<CommandReply>>();
  readonly #queue: [string, BridgeEvent][] = [];
  #delivering = false;
  readonly #state = new BusStateCell((err) => this.#onError(err));
  #drained: Promise<void> | undefined;

  constructor(options: MemoryBusOptions = {}) {
    this.#historyLimit = Math.max(1, Math.floor(options.historyLimit ?? 150));
    this.#onError = options.onError ?? ((err) => process.emitWarning(err instanceof Error ? err : String(err)));
    const clock = options.clock;
    this.#setTimeout = clock ? (fn, ms) => clock.setTimeout(fn, ms) : refTimeout;
  }

  get state(): BusState {
    return this.#state.value;
  }

  async start(): Promise<void> {
    if (this.#state.value === 'connecting') this.#state.set('connected');
  }

  /** Retains per `retentionOf(event.type)`, then delivers synchronously (see the module comment). */
  publish(subject: string, event: BridgeEvent): void {
    if (this.#state.ending) return;
    if (BAD_SUBJECT.test(subject)) {
      this.#onError(new TypeError(`invalid publish subject: ${JSON.stringify(subject)}`));
      return;
    }
    this.#retain(subject, event);
    this.#queue.push([subject, event]);
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (let item = this.#queue.shift(); item; item = this.#queue.shift()) {
        for (const entry of this.#subs.match(item[0])) {
          // Re-checked per call: a handler may unsubscribe another one mid-delivery.
          if (!entry.active) continue;
          try {
            entry.handler(item[1], item[0]);
          } catch (err) {
            this.#onError(err);
          }
        }
      }
    } finally {
      this.#delivering = false;
    }
  }

  /** Active as soon as this returns. Throws TypeError on an invalid pattern. */
  subscribe(pattern: string, handler: EventHandler): BusSubscription {
    const entry = this.#subs.add(pattern, handler);
    return { unsubscribe: () => this.#subs.remove(entry) };
  }

  /** Serves commands. When several patterns match a request, the earliest-registered one answers. */
  serve(pattern: string, handler: CommandHandler): BusSubscription {
    const entry = this.#servers.add(pattern, handler);
    return { unsubscribe: () => this.#servers.remove(entry) };
  }

  /** The handler runs on a later microtask, never inside the caller's stack. Never rejects. */
  request(subject: string, command: BridgeCommand, timeoutMs: number): Promise<CommandReply> {
    const server = this.#state.ending ? undefined : this.#servers.match(subject)[0];
    if (!server) return Promise.resolve(noResponder(subject));
    const reply = new Promise<CommandReply>((resolve) => {
      const timer = this.#setTimeout(
        () => resolve(errorReply('BRIDGE_ERR_COMMAND_TIMEOUT', `no reply within ${timeoutMs} ms`)),
        timeoutMs,
      );
      Promise.resolve()
        .then(() => server.handler(command, subject))
        .then(
          (r) => resolve(r),
          (err: unknown) => resolve(errorReply('BRIDGE_ERR_INTERNAL', err instanceof Error ? err.message : String(err))),
        )
        .finally(() => timer.cancel());
    });
    this.#inflight.add(reply);
    void reply.finally(() => this.#inflight.delete(reply));
    return reply;
  }

  async history(subject: string, limit: number): Promise<BridgeEvent[]> {
    return this.#retained.get(subject)?.tail(limit) ?? [];
  }

  async last(subject: string): Promise<BridgeEvent | undefined> {
    return this.#retained.get(subject)?.tail(1)[0];
  }

  /** No-op: a memory subscription is active when `subscribe` returns. */
  async flush(): Promise<void> {}

  onStateChange(listener: (state: BusState) => void): void {
    this.#state.listen(listener);
  }

  /** Refuses new publishes and requests, waits for pending replies (each bounded by its timeout), closes. */
  /** Nothing is ever in flight in process: the same as {@link drain}. */
  close(): Promise<void> {
    return this.drain();
  }

  drain(): Promise<void> {
    this.#drained ??= (async () => {
      this.#state.set('draining');
      await Promise.allSettled([...this.#inflight]);
      this.#subs.clear();
      this.#servers.clear();
      this.#state.set('closed');
    })();
    return this.#drained;
  }

  #retain(subject: string, event: BridgeEvent): void {
    const retention = retentionOf(event.type);
    if (retention === 'none') return;
    const capacity = retention === 'history' ? this.#historyLimit : 1;
    let ring = this.#retained.get(subject);
    if (!ring || ring.capacity !== capacity) this.#retained.set(subject, (ring = new Ring(capacity)));
    ring.push(event);
  }

}
