/**
 * The NATS bus's retention: the two JetStream streams that capture retained subjects (one ring of
 * `historyLimit` per console-like subject, one last value per status-like subject), and the reads
 * that serve `history`/`last` from them, through a {@link ReadGate} (bounded JetStream requests
 * per node, one round trip per subject however many dashboards ask at once).
 * One of the src/bus/nats*.ts files: the only files that import the `nats` package.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, nanos, RetentionPolicy, StorageType } from 'nats';
import type { ConsumerInfo, JetStreamClient, JetStreamManager, StreamConfig } from 'nats';
import type { BridgeEvent } from '../events.ts';
import { retainedTails, retentionOf, Subjects } from '../subjects.ts';
import { ReadGate } from './read-gate.ts';

/** JetStream API error codes acted on. */
const JS_NO_MESSAGE = 10037;
const JS_STREAM_NOT_FOUND = 10059;
const JS_STREAM_NAME_IN_USE = 10058;
/** The client refuses a pull `expires` under one second. */
const HISTORY_FETCH_MS = 5000;
/** How long `ensureStreams` waits for a new replicated stream to elect its leader. */
const LEADER_WAIT_MS = 10_000;
/** Distinct reads that may wait for a turn, per allowed concurrent read. */
const WAITING_PER_SLOT = 64;
const WILDCARD_TOKEN = /(?:^|\.)[*>](?:\.|$)/;

const decoder = new TextDecoder();

function apiErrorCode(err: unknown): number | undefined {
  return (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code;
}

/** Parses a bus message; throws TypeError when it is not a BridgeEvent. */
export function decodeEvent(data: Uint8Array): BridgeEvent {
  const value = JSON.parse(decoder.decode(data)) as Partial<BridgeEvent> | null;
  if (typeof value !== 'object' || value === null || value.specversion !== '1.0' || typeof value.type !== 'string') {
    throw new TypeError('bus message is not a BridgeEvent');
  }
  return value as BridgeEvent;
}

/**
 * Stream names for a prefix: `bridge` → `BRIDGE_HISTORY` / `BRIDGE_LAST`. Lower-case letters and
 * digits are upper-cased; every other character becomes `-XX` (hex), so the mapping is one-to-one
 * (`a.b`, `a_b` and `A_B` get different names) and the result is a valid stream name.
 */
export function streamNames(prefix: string): { history: string; last: string } {
  const up = prefixName(prefix);
  return { history: `${up}_HISTORY`, last: `${up}_LAST` };
}

/** The upper-cased, one-to-one escaped form of a prefix that JetStream names start with. */
export function prefixName(prefix: string): string {
  return prefix.replace(/[^a-z0-9]/g, (ch) => `-${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).toUpperCase();
}

export interface RetentionOptions {
  prefix: string;
  historyLimit: number;
  storage: 'file' | 'memory';
  maxAgeSeconds: number;
  /** JetStream replicas of both streams. */
  replicas: number;
  /** History/last reads in flight at once on this node. */
  readConcurrency: number;
  /** Told of every read refused because too many were waiting. */
  onReadRefused?(): void;
  onError(err: unknown): void;
}

export class Retention {
  readonly streams: { history: string; last: string };
  readonly #o: RetentionOptions;
  readonly #subjects: Subjects;
  readonly #gate: ReadGate;
  #api: { jsm: JetStreamManager; js: JetStreamClient } | undefined;

  constructor(o: RetentionOptions) {
    this.#o = o;
    this.streams = streamNames(o.prefix);
    this.#subjects = new Subjects(o.prefix);
    this.#gate = new ReadGate({
      concurrency: o.readConcurrency,
      maxWaiting: o.readConcurrency * WAITING_PER_SLOT,
      ...(o.onReadRefused ? { onRefused: o.onReadRefused } : {}),
    });
  }

  /** Whether there is a connection to read through. */
  get bound(): boolean {
    return this.#api !== undefined;
  }

  /** Called once the first connection exists. */
  bind(jsm: JetStreamManager, js: JetStreamClient): void {
    this.#api = { jsm, js };
  }

  /**
   * Creates both streams, or brings streams made by another version up to date, and waits (a
   * bounded while) until each has a leader: a replicated stream captures nothing before, and
   * what a link publishes first (a Wings `status` a late dashboard reads back) would be lost.
   */
  async ensureStreams(): Promise<void> {
    await this.#ensureStream(this.streams.history, 'history', this.#o.historyLimit);
    await this.#ensureStream(this.streams.last, 'last', 1);
    await this.#untilLed(this.streams.history);
    await this.#untilLed(this.streams.last);
  }

  async #untilLed(name: string): Promise<void> {
    const { jsm } = this.#need();
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const info = await jsm.streams.info(name);
      if (!info.cluster || info.cluster.leader || Date.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Deletes both streams. Missing streams are fine. */
  async deleteStreams(): Promise<void> {
    const { jsm } = this.#need();
    for (const name of [this.streams.history, this.streams.last]) {
      await jsm.streams.delete(name).catch((err: unknown) => {
        if (apiErrorCode(err) !== JS_STREAM_NOT_FOUND) throw err;
      });
    }
  }

  /** The last `limit` retained events of an exact subject; [] before the first connection. */
  async history(subject: string, limit: number): Promise<BridgeEvent[]> {
    const stream = this.#streamOf(subject);
    if (!stream || limit <= 0 || !this.#api) return [];
    // Every overlapping read of the subject shares one fetch of all it retains; each caller
    // takes its own tail (a copy, so no caller sees another's changes).
    const all = await this.#gate.run(`h\u0000${subject}`, () => this.#readHistory(stream, subject));
    return all.slice(-limit);
  }

  /** The last retained event of an exact subject; undefined before the first connection. */
  async last(subject: string): Promise<BridgeEvent | undefined> {
    const stream = this.#streamOf(subject);
    if (!stream || !this.#api) return undefined;
    return this.#gate.run(`l\u0000${subject}`, () => this.#readLast(stream, subject));
  }

  /**
   * Reads the subject back through a short-lived pull consumer filtered to it. The stream keeps
   * at most `historyLimit` per subject; the consumer's `num_pending` says exactly how many, so
   * the pull ends without waiting to expire.
   */
  async #readHistory(stream: string, subject: string): Promise<BridgeEvent[]> {
    const { jsm, js } = this.#need();
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
          if (out.length > this.#o.historyLimit) out.shift();
        } catch (err) {
          this.#o.onError(err);
        }
        if (m.info.pending === 0) break;
      }
      return out;
    } finally {
      await jsm.consumers.delete(stream, info.name).catch(() => false);
    }
  }

  /** The stream's last message on this exact subject (a `last_by_subj` get). */
  async #readLast(stream: string, subject: string): Promise<BridgeEvent | undefined> {
    let msg: { data: Uint8Array } | undefined;
    try {
      msg = await this.#need().jsm.streams.getMessage(stream, { last_by_subj: subject });
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === JS_NO_MESSAGE || code === JS_STREAM_NOT_FOUND) return undefined;
      throw err;
    }
    try {
      return decodeEvent(msg.data);
    } catch (err) {
      this.#o.onError(err);
      return undefined;
    }
  }

  async #ensureStream(name: string, kind: 'history' | 'last', perSubject: number): Promise<void> {
    const { jsm } = this.#need();
    const config: Partial<StreamConfig> = {
      name,
      subjects: retainedTails(kind).map(({ resource, tail }) => `${this.#subjects.prefix}.evt.*.${resource}.*.${tail}`),
      retention: RetentionPolicy.Limits,
      storage: this.#o.storage === 'memory' ? StorageType.Memory : StorageType.File,
      max_msgs_per_subject: perSubject,
      max_age: nanos(this.#o.maxAgeSeconds * 1000),
      discard: DiscardPolicy.Old,
      num_replicas: this.#o.replicas,
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

  /** Which retention stream holds an exact event subject of this prefix, if any. */
  #streamOf(subject: string): string | undefined {
    if (WILDCARD_TOKEN.test(subject)) return undefined;
    const addr = this.#subjects.parseEvent(subject);
    if (!addr) return undefined;
    const retention = retentionOf(`${addr.resource}.${addr.event}`);
    return retention === 'none' ? undefined : this.streams[retention];
  }

  #need(): { jsm: JetStreamManager; js: JetStreamClient } {
    if (!this.#api) throw new Error('NatsBus: not connected yet');
    return this.#api;
  }
}
