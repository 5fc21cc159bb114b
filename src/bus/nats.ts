/**
 * The NATS bus. Events are core NATS publishes of the JSON BridgeEvent; two JetStream streams
 * capture the retained subjects (one ring of `historyLimit` per console-like subject, one last
 * value per status-like subject), so `history`/`last` work for a node that joined late.
 * Every import of the `nats` package in the project stays in this file.
 *
 * Written for nats-server ≥ 2.9.4: it uses no multi-filter consumers and no batched direct get.
 */
import {
  AckPolicy,
  connect,
  DeliverPolicy,
  DebugEvents,
  DiscardPolicy,
  ErrorCode,
  Events,
  nanos,
  RetentionPolicy,
  StorageType,
} from 'nats';
import type { ConsumerInfo, JetStreamClient, JetStreamManager, Msg, NatsConnection, StreamConfig, Subscription } from 'nats';
import { BusStateCell } from './state.ts';
import type { Bus, BusState, BusSubscription, CommandHandler, EventHandler } from './bus.ts';
import type { BridgeCommand, BridgeEvent, CommandReply } from '../events.ts';
import { retainedTails, retentionOf, Subjects } from '../subjects.ts';
import { isValidPattern } from './memory.ts';

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
  /** Connection name shown by the server's monitoring. */
  name?: string;
  token?: string;
  user?: string;
  pass?: string;
  /** Receives handler errors, undecodable messages and async server errors. Default `process.emitWarning`. */
  onError?(err: unknown): void;
}

/**
 * Stream names for a prefix: `bridge` → `BRIDGE_HISTORY` / `BRIDGE_LAST`. Lower-case letters and
 * digits are upper-cased; every other character becomes `-XX` (hex), so the mapping is one-to-one
 * (`a.b`, `a_b` and `A_B` get different names) and the result is a valid stream name.
 */
export function streamNames(prefix: string): { history: string; last: string } {
  const base = prefix.replace(/[^a-z0-9]/g, (ch) => `-${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  const up = base.toUpperCase();
  return { history: `${up}_HISTORY`, last: `${up}_LAST` };
}

/** JetStream API error codes this file acts on. */
const JS_NO_MESSAGE = 10037;
const JS_STREAM_NOT_FOUND = 10059;
const JS_STREAM_NAME_IN_USE = 10058;
/** The client refuses a pull `expires` under one second. */
const HISTORY_FETCH_MS = 5000;
/** How long `drain()` lets already-received commands finish before closing. */
const DRAIN_REPLY_GRACE_MS = 2000;
const QUEUE_GROUP = 'bridge-serve';
const WILDCARD_TOKEN = /(?:^|\.)[*>](?:\.|$)/;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value));

function apiErrorCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
}

function decodeEvent(data: Uint8Array): BridgeEvent {
  const value = JSON.parse(decoder.decode(data)) as Partial<BridgeEvent> | null;
  if (typeof value !== 'object' || value === null || value.specversion !== '1.0' || typeof value.type !== 'string') {
    throw new TypeError('bus message is not a BridgeEvent');
  }
  return value as BridgeEvent;
}

function decodeReply(data: Uint8Array): CommandReply {
  try {
    const value = JSON.parse(decoder.decode(data)) as CommandReply | null;
    if (value?.ok === true || (value?.ok === false && typeof value.code === 'string')) return value;
  } catch {
    // fall through: a reply we cannot read is the responder's bug, reported as INTERNAL
  }
  return fail('BRIDGE_ERR_INTERNAL', 'unreadable command reply');
}

const fail = (code: string, message: string): CommandReply => ({ ok: false, code, message });
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The NATS {@link Bus}. Call `start()` before subscribing; subscribing first throws. */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly #opts: NatsBusOptions;
  readonly #historyLimit: number;
  readonly #subjects: Subjects;
  readonly #streams: { history: string; last: string };
  readonly #onError: (err: unknown) => void;
  readonly #servers = new Set<Subscription>();
  readonly #answering = new Set<Promise<void>>();
  #nc: NatsConnection | undefined;
  #jsm: JetStreamManager | undefined;
  #js: JetStreamClient | undefined;
  readonly #state = new BusStateCell((err) => this.#onError(err));
  #drained: Promise<void> | undefined;

  constructor(opts: NatsBusOptions) {
    this.#opts = opts;
    this.#historyLimit = Math.max(1, Math.floor(opts.historyLimit ?? 150));
    this.#subjects = new Subjects(opts.prefix);
    this.#streams = streamNames(opts.prefix);
    this.#onError = opts.onError ?? ((err) => process.emitWarning(err instanceof Error ? err : String(err)));
  }

  get state(): BusState {
    return this.#state.value;
  }

  /** Connects, then creates or updates both retention streams. Rejects (and closes) on failure. */
  async start(): Promise<void> {
    if (this.#nc) throw new Error('NatsBus.start() called twice');
    const { servers, name, token, user, pass } = this.#opts;
    // Reconnect forever: a bus that gives up would leave the relay half alive.
    const nc = await connect({ servers, name, token, user, pass, maxReconnectAttempts: -1 });
    this.#nc = nc;
    void this.#watch(nc);
    void nc.closed().then((err) => {
      if (err) this.#onError(err);
      this.#state.set('closed');
    });
    try {
      this.#jsm = await nc.jetstreamManager();
      this.#js = nc.jetstream();
      await this.#ensureStreams();
    } catch (err) {
      await nc.close();
      throw err;
    }
    if (this.#state.value === 'connecting') this.#state.set('connected');
  }

  /** Never throws; while reconnecting the client buffers, after `drain()` publishes are dropped. */
  publish(subject: string, event: BridgeEvent): void {
    if (this.#state.ending) return;
    try {
      if (!this.#nc) throw new Error('NatsBus.publish() before start()');
      this.#nc.publish(subject, encode(event));
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Active once it reached the server (`flush()`). Undecodable messages are reported and skipped. */
  subscribe(pattern: string, handler: EventHandler): BusSubscription {
    const sub = this.#sub(pattern, undefined, (msg) => {
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
    return this.#handle(sub);
  }

  /** Serves in a queue group; a request that is not JSON is answered `BRIDGE_ERR_BAD_FRAME`. */
  serve(pattern: string, handler: CommandHandler): BusSubscription {
    const sub = this.#sub(pattern, QUEUE_GROUP, (msg) => {
      const answer = this.#answer(msg, handler);
      this.#answering.add(answer);
      void answer.finally(() => this.#answering.delete(answer));
    });
    if (sub) this.#servers.add(sub);
    return this.#handle(sub);
  }

  /** Never rejects: no responder or no connection → UPSTREAM_UNAVAILABLE, timeout → COMMAND_TIMEOUT. */
  async request(subject: string, command: BridgeCommand, timeoutMs: number): Promise<CommandReply> {
    const nc = this.#nc;
    if (!nc || this.#state.ending) {
      return fail('BRIDGE_ERR_UPSTREAM_UNAVAILABLE', 'bus is not connected');
    }
    try {
      const msg = await nc.request(subject, encode(command), { timeout: timeoutMs });
      return decodeReply(msg.data);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === ErrorCode.Timeout) return fail('BRIDGE_ERR_COMMAND_TIMEOUT', `no reply within ${timeoutMs} ms`);
      if (code === ErrorCode.NoResponders) return fail('BRIDGE_ERR_UPSTREAM_UNAVAILABLE', `no responder for ${subject}`);
      return fail('BRIDGE_ERR_UPSTREAM_UNAVAILABLE', messageOf(err));
    }
  }

  /**
   * Reads the subject's retained events back through a short-lived pull consumer filtered to it.
   * The stream keeps at most `historyLimit` per subject, so this reads at most that many; the
   * consumer's `num_pending` says exactly how many, so the pull ends without waiting to expire.
   */
  async history(subject: string, limit: number): Promise<BridgeEvent[]> {
    const stream = this.#streamOf(subject);
    if (!stream || limit <= 0) return [];
    const { jsm, js } = this.#api();
    let info: ConsumerInfo;
    try {
      info = await jsm.consumers.add(stream, {
        filter_subject: subject,
        deliver_policy: DeliverPolicy.All,
        ack_policy: AckPolicy.None,
        mem_storage: true,
        num_replicas: 1,
        // Reaped by the server even if this process dies before deleting it.
        inactive_threshold: nanos(30_000),
      });
    } catch (err) {
      if (apiErrorCode(err) === JS_STREAM_NOT_FOUND) return [];
      throw err;
    }
    const out: BridgeEvent[] = [];
    try {
      if (info.num_pending === 0) return out;
      const consumer = js.consumers.getPullConsumerFor(info);
      const msgs = await consumer.fetch({ max_messages: info.num_pending, expires: HISTORY_FETCH_MS });
      for await (const m of msgs) {
        try {
          out.push(decodeEvent(m.data));
          if (out.length > limit) out.shift();
        } catch (err) {
          this.#onError(err);
        }
        if (m.info.pending === 0) break;
      }
      return out;
    } finally {
      await jsm.consumers.delete(stream, info.name).catch(() => false);
    }
  }

  /** The stream's last message on this exact subject (a `last_by_subj` get). */
  async last(subject: string): Promise<BridgeEvent | undefined> {
    const stream = this.#streamOf(subject);
    const msg = stream ? await this.#lastMsg(stream, subject) : undefined;
    if (!msg) return undefined;
    try {
      return decodeEvent(msg.data);
    } catch (err) {
      this.#onError(err);
      return undefined;
    }
  }

  async flush(): Promise<void> {
    if (this.#nc && !this.#nc.isClosed()) await this.#nc.flush();
  }

  onStateChange(listener: (state: BusState) => void): void {
    this.#state.listen(listener);
  }

  /**
   * Stops serving, gives commands already received up to two seconds to answer, then drains the
   * connection (pending publishes are flushed). Idempotent; resolves once closed.
   */
  drain(): Promise<void> {
    this.#drained ??= (async () => {
      const nc = this.#nc;
      if (!nc || nc.isClosed()) return this.#state.set('closed');
      const reachable = this.#state.value !== 'reconnecting';
      this.#state.set('draining');
      // Without a server there is nothing to flush, and a drain would wait for one to come back.
      if (reachable) await this.#drainGracefully(nc);
      else await nc.close();
      await nc.closed();
      this.#state.set('closed');
    })();
    return this.#drained;
  }

  /** Deletes both retention streams (test and teardown helper). Missing streams are fine. */
  async deleteStreams(): Promise<void> {
    const jsm = this.#api().jsm;
    for (const name of [this.#streams.history, this.#streams.last]) {
      await jsm.streams.delete(name).catch((err: unknown) => {
        if (apiErrorCode(err) !== JS_STREAM_NOT_FOUND) throw err;
      });
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  async #ensureStreams(): Promise<void> {
    await this.#ensureStream(this.#streams.history, 'history', this.#historyLimit);
    await this.#ensureStream(this.#streams.last, 'last', 1);
  }

  async #ensureStream(name: string, kind: 'history' | 'last', perSubject: number): Promise<void> {
    const jsm = this.#api().jsm;
    const config: Partial<StreamConfig> = {
      name,
      subjects: retainedTails(kind).map(({ resource, tail }) => `${this.#subjects.prefix}.evt.*.${resource}.*.${tail}`),
      retention: RetentionPolicy.Limits,
      storage: this.#opts.storage === 'memory' ? StorageType.Memory : StorageType.File,
      max_msgs_per_subject: perSubject,
      max_age: nanos((this.#opts.maxAgeSeconds ?? 86_400) * 1000),
      discard: DiscardPolicy.Old,
      num_replicas: 1,
    };
    try {
      await jsm.streams.add(config);
    } catch (err) {
      // Same name, different config: another version of the relay made it; bring it up to date.
      if (apiErrorCode(err) !== JS_STREAM_NAME_IN_USE) throw err;
      const { name: _name, ...update } = config;
      await jsm.streams.update(name, update);
    }
  }

  /** Stops serving, gives commands already received a grace period to answer, then drains. */
  async #drainGracefully(nc: NatsConnection): Promise<void> {
    await Promise.allSettled([...this.#servers].map((s) => s.drain()));
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.#answering]),
      new Promise((resolve) => (grace = setTimeout(resolve, DRAIN_REPLY_GRACE_MS))),
    ]);
    clearTimeout(grace);
    await nc.drain().catch((err: unknown) => this.#onError(err));
  }

  async #lastMsg(stream: string, subject: string): Promise<{ seq: number; data: Uint8Array } | undefined> {
    try {
      return await this.#api().jsm.streams.getMessage(stream, { last_by_subj: subject });
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === JS_NO_MESSAGE || code === JS_STREAM_NOT_FOUND) return undefined;
      throw err;
    }
  }

  /** Which retention stream holds an exact event subject of this prefix, if any. */
  #streamOf(subject: string): string | undefined {
    if (WILDCARD_TOKEN.test(subject)) return undefined;
    const addr = this.#subjects.parseEvent(subject);
    if (!addr) return undefined;
    const retention = retentionOf(`${addr.resource}.${addr.event}`);
    return retention === 'none' ? undefined : this.#streams[retention];
  }

  /** A core subscription, or undefined once the bus is draining (it would never deliver anyway). */
  #sub(pattern: string, queue: string | undefined, onMsg: (msg: Msg) => void): Subscription | undefined {
    if (!isValidPattern(pattern)) throw new TypeError(`invalid subject pattern: ${JSON.stringify(pattern)}`);
    if (!this.#nc) throw new Error('NatsBus: call start() before subscribing');
    if (this.#state.ending) return undefined;
    return this.#nc.subscribe(pattern, {
      ...(queue ? { queue } : {}),
      callback: (err, msg) => (err ? this.#onError(err) : onMsg(msg)),
    });
  }

  #handle(sub: Subscription | undefined): BusSubscription {
    return {
      unsubscribe: () => {
        if (!sub || sub.isClosed()) return;
        this.#servers.delete(sub);
        try {
          sub.unsubscribe();
        } catch {
          // the connection closed under us: the subscription is gone either way
        }
      },
    };
  }

  async #answer(msg: Msg, handler: CommandHandler): Promise<void> {
    let reply: CommandReply;
    let command: BridgeCommand | null = null;
    try {
      command = JSON.parse(decoder.decode(msg.data)) as BridgeCommand | null;
    } catch (err) {
      this.#onError(err);
    }
    if (typeof command !== 'object' || command === null) reply = fail('BRIDGE_ERR_BAD_FRAME', 'command is not a JSON object');
    else {
      try {
        reply = await handler(command, msg.subject);
      } catch (err) {
        reply = fail('BRIDGE_ERR_INTERNAL', messageOf(err));
      }
    }
    if (!msg.reply) return;
    try {
      msg.respond(encode(reply));
    } catch (err) {
      if (this.#state.value !== 'closed') this.#onError(err);
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (this.#state.ending) continue;
      if (s.type === Events.Disconnect || s.type === DebugEvents.Reconnecting) this.#state.set('reconnecting');
      else if (s.type === Events.Reconnect) {
        this.#state.set('connected');
        // The server may have come back without our streams (memory storage, a new node).
        this.#ensureStreams().catch((err: unknown) => this.#onError(err));
      }
      else if (s.type === Events.Error) this.#onError(new Error(`nats: ${String(s.data)}`));
    }
  }

  /** The JetStream handles; both exist from `start()` on. */
  #api(): { jsm: JetStreamManager; js: JetStreamClient } {
    if (!this.#jsm || !this.#js) throw new Error('NatsBus: call start() first');
    return { jsm: this.#jsm, js: this.#js };
  }

}
