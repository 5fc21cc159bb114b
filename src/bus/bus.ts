/**
 * The bus: how events leave the node that received them and reach every node that has dashboards
 * for them, and how commands reach the node that owns an upstream link. Two implementations pass
 * one shared test suite (test/helpers/bus-suite.ts): `memory` (in-process) and `nats`.
 */
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';

export type BusState = 'connecting' | 'connected' | 'reconnecting' | 'draining' | 'closed';

export interface BusSubscription {
  /** Stops delivery. Idempotent. */
  unsubscribe(): void;
}

export type EventHandler = (event: BridgeEvent, subject: string) => void;
export type CommandHandler = (command: BridgeCommand, subject: string) => Promise<CommandReply>;

export interface Bus {
  readonly kind: 'memory' | 'nats';
  /** Current connection state. `connected` means publish/subscribe work now. */
  readonly state: BusState;

  /**
   * Why the bus is not `connected`, when it knows: the last connection error (never a credential).
   * Undefined once connected.
   */
  readonly lastError: string | undefined;

  /**
   * Connects (and, for NATS, ensures the retention streams). Resolves once usable, or once the
   * first attempt failed: the bus then keeps trying in the background (state `connecting`), and
   * `subscribe`/`serve` made meanwhile take effect when it connects. Publishes before that are
   * dropped, requests answer BRIDGE_ERR_UPSTREAM_UNAVAILABLE, history reads are empty.
   */
  start(): Promise<void>;

  /**
   * Publishes an event. Fire-and-forget: never throws, never waits for subscribers. Events on one
   * subject reach each subscriber in publish order. What is retained for `history`/`last` follows
   * `retentionOf(event.type)` (src/subjects.ts).
   */
  publish(subject: string, event: BridgeEvent): void;

  /**
   * Subscribes to a NATS-style pattern (`*` one token, `>` the rest). The handler is called for
   * every matching event published after the call returns (memory) or after the subscription
   * reached the server (NATS; `flush()` waits for that). Errors thrown by the handler are caught
   * and reported; they never stop the subscription.
   */
  subscribe(pattern: string, handler: EventHandler): BusSubscription;

  /**
   * Sends a command to whoever serves `subject` and waits for the reply. Never rejects: no responder
   * → `BRIDGE_ERR_UPSTREAM_UNAVAILABLE` made by {@link noResponder} (tell it apart with
   * {@link isNoResponder}); no reply within `timeoutMs` → `BRIDGE_ERR_COMMAND_TIMEOUT`.
   */
  request(subject: string, command: BridgeCommand, timeoutMs: number): Promise<CommandReply>;

  /**
   * Answers commands on a pattern. Across a cluster each subject is expected to have one server
   * (the link owner); NATS uses a queue group so a stray duplicate does not double-apply.
   * A handler that throws answers `BRIDGE_ERR_INTERNAL`.
   */
  serve(pattern: string, handler: CommandHandler): BusSubscription;

  /** The last `limit` retained events of one exact subject, oldest first; `[]` when none. */
  history(subject: string, limit: number): Promise<BridgeEvent[]>;

  /** The last retained event of one exact subject, or undefined. */
  last(subject: string): Promise<BridgeEvent | undefined>;

  /** Resolves once every subscription made so far is active at the server (no-op for memory). */
  flush(): Promise<void>;

  /** Registers a listener for state changes (for metrics and /readyz). */
  onStateChange(listener: (state: BusState) => void): void;

  /** Stops accepting publishes, delivers what is in flight, unsubscribes, closes. Idempotent. */
  drain(): Promise<void>;

  /**
   * Ends the bus at once, waiting for nothing in flight (a drain abandoned at the shutdown
   * deadline must not leave a connection reconnecting forever). Idempotent; fine during a drain.
   */
  close(): Promise<void>;

  /** The server this node talks to now (NATS: `host:port`), for logs; undefined for memory. */
  readonly server?: string | undefined;
}

const NO_RESPONDER = 'no responder for ';

/** The reply of a request nobody serves (between two owners of a link, or before the first). */
export function noResponder(subject: string): CommandReply {
  return { ok: false, code: 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE', message: `${NO_RESPONDER}${subject}` };
}

/** Whether a reply says that nobody serves the subject (so asking again later may succeed). */
export function isNoResponder(reply: CommandReply): boolean {
  return !reply.ok && reply.code === 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE' && reply.message.startsWith(NO_RESPONDER);
}
