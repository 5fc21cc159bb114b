/**
 * The NATS bus. Events are core NATS publishes of the JSON BridgeEvent; two JetStream streams
 * capture the retained subjects (nats-retention.ts), so `history`/`last` work for a node that
 * joined late.
 *
 * NATS need not be up when the relay starts: the first connection is retried (nats-connect.ts)
 * while subscriptions and command serving are recorded (nats-subscriptions.ts) and made once it
 * exists; then the streams are ensured and the state becomes `connected`. From there on the nats
 * client reconnects forever by itself.
 *
 * The `nats` package is imported only by the src/bus/nats*.ts files (this one, nats-connect.ts,
 * nats-subscriptions.ts, nats-commands.ts and nats-retention.ts) and the src/cluster/nats*.ts
 * files, which share this bus's connection (`connection()`).
 * Written for nats-server ≥ 2.9.4: it uses no multi-filter consumers and no batched direct get.
 */
import { DebugEvents, Events } from 'nats';
import type { Msg, NatsConnection } from 'nats';
import { systemClock, type Clock } from '../clock.ts';
import { BusStateCell } from './state.ts';
import type { Bus, BusState, BusSubscription, CommandHandler, EventHandler } from './bus.ts';
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';
import { isValidPattern } from './subject-index.ts';
import { describeConnectError, FirstConnect, MAX_RETRY_MS } from './nats-connect.ts';
import { decodeEvent, Retention } from './nats-retention.ts';
import { SubscriptionTable } from './nats-subscriptions.ts';
import { LocalDelivery } from './local-delivery.ts';
import { answerCommand, encode, fail, requestCommand } from './nats-commands.ts';

export { streamNames } from './nats-retention.ts';

export interface NatsBusOptions {
  servers: string[];
  /** Subject prefix, e.g. `bridge`; also names the streams. */
  prefix: string;
  /** Events kept per `history` subject. Default 150. */
  historyLimit?: number;
  /** Stream storage. Default `file`, so retention survives a server restart. */
  storage?: 'file' | 'memory';
  /** Retained events older than this are dropped. Default 86400 (one day). */
  maxAgeSeconds?: number;
  /** JetStream replicas of the streams. Default 1. */
  replicas?: number;
  /** History/last reads (JetStream requests) in flight at once on this node. Default 16. */
  historyConcurrency?: number;
  /** Told of every history/last read refused because too many were waiting. */
  onHistoryRefused?(): void;
  /** Runs the retries of the first connection. Default: the system clock. */
  clock?: Clock;
  /** Connection name shown by the server's monitoring. */
  name?: string;
  token?: string;
  user?: string;
  pass?: string;
  /** Hand this process's own events to its subscribers at once (local-delivery.ts). Default false. */
  localDelivery?: boolean;
  /** Receives handler errors, undecodable messages and async server errors. Default `process.emitWarning`. */
  onError?(err: unknown): void;
}

/** How long `drain()` lets already-received commands finish before closing. */
const DRAIN_REPLY_GRACE_MS = 2000;
const QUEUE_GROUP = 'bridge-serve';

/** The NATS {@link Bus}. Subscribing and serving work before `start()` and before NATS is up. */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly #opts: NatsBusOptions;
  readonly #onError: (err: unknown) => void;
  readonly #retention: Retention;
  readonly #subs: SubscriptionTable;
  /** This process's subscribers of its own events, with `localDelivery`. */
  readonly #local: LocalDelivery | null;
  readonly #first: FirstConnect;
  readonly #answering = new Set<Promise<void>>();
  readonly #state = new BusStateCell((err) => this.#onError(err));
  #nc: NatsConnection | undefined;
  /** True once connected with the streams ensured; before, status events do not move the state. */
  #established = false;
  #lastError: string | undefined;
  #started = false;
  /** Resolves when the first connection is established, or the bus drained without one. */
  readonly #settled: Promise<void>;
  #settle!: () => void;
  /** Resolves with the first connection, or undefined when the bus drained without one. */
  readonly #connection: Promise<NatsConnection | undefined>;
  #gotConnection!: (nc: NatsConnection | undefined) => void;
  /** Resolves the pending `start()`: set by it, called on the first success or failure. */
  #firstOutcome: () => void = () => {};
  #drained: Promise<void> | undefined;

  constructor(opts: NatsBusOptions) {
    this.#opts = opts;
    this.#onError = opts.onError ?? ((err) => process.emitWarning(err instanceof Error ? err : String(err)));
    this.#local = opts.localDelivery ? new LocalDelivery(this.#onError, (subject, event) => this.#send(subject, event)) : null;
    this.#retention = new Retention({
      prefix: opts.prefix,
      historyLimit: Math.max(1, Math.floor(opts.historyLimit ?? 150)),
      storage: opts.storage ?? 'file',
      maxAgeSeconds: opts.maxAgeSeconds ?? 86_400,
      replicas: opts.replicas ?? 1,
      readConcurrency: opts.historyConcurrency ?? 16,
      ...(opts.onHistoryRefused ? { onReadRefused: opts.onHistoryRefused } : {}),
      onError: (err) => this.#onError(err),
    });
    this.#subs = new SubscriptionTable((err) => this.#onError(err));
    const { servers, name, token, user, pass } = opts;
    this.#first = new FirstConnect({
      connection: { servers, name, token, user, pass },
      clock: opts.clock ?? systemClock,
      onAttemptFailed: (reason) => this.#failed(reason),
    });
    this.#settled = new Promise<void>((resolve) => (this.#settle = resolve));
    this.#connection = new Promise((resolve) => (this.#gotConnection = resolve));
  }

  /**
   * The bus's NATS connection, once it exists (undefined if the bus drained first), for the
   * cluster coordinator: its KV calls then share the fate of the events (see src/cluster/).
   * The nats client reconnects it by itself; `drain()` closes it.
   */
  connection(): Promise<NatsConnection | undefined> {
    return this.#connection;
  }

  /** The server the connection is on now (`host:port`), for logs. */
  get server(): string | undefined {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return undefined;
    const s = nc.getServer();
    return s === '' ? undefined : s;
  }

  get state(): BusState {
    return this.#state.value;
  }

  /** Why the bus is not connected yet: the last error of the first connection (no credentials). */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /**
   * Starts connecting. Resolves once connected with both retention streams in place, or as soon
   * as an attempt failed: the bus then keeps trying (state `connecting`, `lastError` says why).
   */
  async start(): Promise<void> {
    if (this.#started) throw new Error('NatsBus.start() called twice');
    this.#started = true;
    const outcome = new Promise<void>((resolve) => {
      this.#firstOutcome = resolve;
    });
    void this.#establish().catch((err: unknown) => this.#onError(err));
    await Promise.race([outcome, this.#settled]);
  }

  /** Never throws; before the first connection and after `drain()` events are dropped. */
  publish(subject: string, event: BridgeEvent): void {
    if (this.#state.ending || !this.#nc) return;
    if (this.#local) this.#local.deliver(subject, event);
    else this.#send(subject, event);
  }

  #send(subject: string, event: BridgeEvent): void {
    try {
      this.#nc?.publish(subject, encode(event));
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Active once it reached the server (`flush()`). Undecodable messages are reported and skipped. */
  subscribe(pattern: string, handler: EventHandler): BusSubscription {
    const local = this.#local?.add(pattern, handler);
    const sub = this.#sub(pattern, undefined, (msg) => {
      if (local?.echo(msg.data)) return; // its own subscribers had this process's event at once
      let event: BridgeEvent;
      try {
        event = decodeEvent(msg.data);
      } catch (err) {
        this.#onError(err);
        return;
      }
      try {
        handler(event, msg.subject);
      } catch (err) {
        this.#onError(err);
      }
    });
    return local ? local.with(sub) : sub;
  }

  /** Serves in a queue group; a request that is not JSON is answered `BRIDGE_ERR_BAD_FRAME`. */
  serve(pattern: string, handler: CommandHandler): BusSubscription {
    return this.#sub(pattern, QUEUE_GROUP, (msg) => {
      const answer = answerCommand(msg, handler, (err) => this.#onError(err), () => this.#state.value === 'closed');
      this.#answering.add(answer);
      void answer.finally(() => this.#answering.delete(answer));
    });
  }

  /** Never rejects: no responder or no connection → UPSTREAM_UNAVAILABLE, timeout → COMMAND_TIMEOUT. */
  async request(subject: string, command: BridgeCommand, timeoutMs: number): Promise<CommandReply> {
    const nc = this.#nc;
    if (!nc || this.#state.ending) {
      return fail('BRIDGE_ERR_UPSTREAM_UNAVAILABLE', 'bus is not connected');
    }
    return requestCommand(nc, subject, command, timeoutMs);
  }

  /** Through the node's read gate (see read-gate.ts); `[]` before the first connection. */
  history(subject: string, limit: number): Promise<BridgeEvent[]> {
    return this.#retention.history(subject, limit);
  }

  /** Through the node's read gate; undefined before the first connection. */
  last(subject: string): Promise<BridgeEvent | undefined> {
    return this.#retention.last(subject);
  }

  /** Waits for the first connection (or a drain) first, then for the server to have every subscription. */
  async flush(): Promise<void> {
    await this.#settled;
    if (this.#nc && !this.#nc.isClosed()) await this.#nc.flush();
  }

  onStateChange(listener: (state: BusState) => void): void {
    this.#state.listen(listener);
  }

  /**
   * Stops serving, gives commands already received up to two seconds to answer, then drains the
   * connection (pending publishes are flushed). Before the first connection it only stops trying.
   * Idempotent; resolves once closed.
   */
  drain(): Promise<void> {
    this.#drained ??= (async () => {
      this.#first.cancel();
      const nc = this.#nc;
      if (!nc || nc.isClosed()) {
        this.#state.set('closed');
        this.#settle();
        this.#gotConnection(undefined);
        return;
      }
      const reachable = this.#established && this.#state.value !== 'reconnecting';
      this.#state.set('draining');
      // Without a server there is nothing to flush, and a drain would wait for one to come back.
      if (reachable) await this.#drainGracefully(nc);
      else await nc.close();
      await nc.closed();
      this.#state.set('closed');
      this.#settle();
    })();
    return this.#drained;
  }

  async close(): Promise<void> {
    this.#first.cancel();
    const nc = this.#nc;
    if (nc && !nc.isClosed()) await nc.close().catch((err: unknown) => this.#onError(err));
    this.#state.set('closed');
    this.#settle();
  }

  /** Deletes both retention streams (test and teardown helper). Missing streams are fine. */
  deleteStreams(): Promise<void> {
    return this.#retention.deleteStreams();
  }

  // ---- internals -------------------------------------------------------------------------------

  /** First connection, then the subscriptions made so far, then the streams; retried until done. */
  async #establish(): Promise<void> {
    const nc = await this.#first.run();
    if (!nc) return;
    if (this.#state.ending) {
      await nc.close().catch(() => {});
      return;
    }
    this.#nc = nc;
    this.#gotConnection(nc);
    void this.#watch(nc);
    void nc.closed().then((err) => {
      if (err) this.#onError(err);
      this.#state.set('closed');
      this.#settle();
    });
    this.#subs.attach(nc);
    // JetStream may lag behind the server it runs in (recovering its store): keep asking.
    while (!this.#state.ending) {
      try {
        if (!this.#retention.bound) this.#retention.bind(await nc.jetstreamManager(), nc.jetstream());
        await this.#retention.ensureStreams();
        break;
      } catch (err) {
        this.#failed(`jetstream: ${describeConnectError(err, [])}`);
        await this.#first.sleep(MAX_RETRY_MS);
      }
    }
    if (this.#state.ending) return;
    this.#established = true;
    this.#lastError = undefined;
    this.#state.set(nc.isClosed() ? 'closed' : 'connected');
    this.#settle();
    this.#firstOutcome();
  }

  #failed(reason: string): void {
    this.#lastError = reason;
    this.#onError(new Error(`nats: ${reason}`));
    this.#firstOutcome();
  }

  /** A subscription, made at once or on the first connection; a no-op once draining. */
  #sub(pattern: string, queue: string | undefined, onMsg: (msg: Msg) => void): BusSubscription {
    if (!isValidPattern(pattern)) throw new TypeError(`invalid subject pattern: ${JSON.stringify(pattern)}`);
    // It would never deliver anyway.
    if (this.#state.ending) return { unsubscribe: () => {} };
    return this.#subs.add(pattern, queue, onMsg);
  }

  /** Stops serving, gives commands already received a grace period to answer, then drains. */
  async #drainGracefully(nc: NatsConnection): Promise<void> {
    await Promise.allSettled(this.#subs.serving().map((s) => s.drain()));
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#answering]),
      new Promise((resolve) => (grace = setTimeout(resolve, DRAIN_REPLY_GRACE_MS))),
    ]);
    clearTimeout(grace);
    await nc.drain().catch((err: unknown) => this.#onError(err));
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === Events.Error) {
        this.#onError(new Error(`nats: ${String(s.data)}`));
        continue;
      }
      // Until the streams are in place the state stays `connecting`, whatever the socket does.
      if (this.#state.ending || !this.#established) continue;
      if (s.type === Events.Disconnect || s.type === DebugEvents.Reconnecting) this.#state.set('reconnecting');
      else if (s.type === Events.Reconnect) {
        this.#state.set('connected');
        // The server may have come back without our streams (memory storage, a new node).
        this.#retention.ensureStreams().catch((err: unknown) => this.#onError(err));
      }
    }
  }
}
