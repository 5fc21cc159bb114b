/**
 * The lease bucket on JetStream KV: opening it, the {@link LeaseStore} calls a lease makes, and
 * the watcher that tells standby nodes who owns what and when an owner released.
 * One of the src/cluster/nats*.ts files: with src/bus/nats*.ts, the only files that import `nats`.
 */
import type { JetStreamClient, KV, KvEntry, NatsConnection } from 'nats';
import { bucketName, openKvBucket, wrongRevision } from './nats-buckets.ts';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './lease-store.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `bridge` → `BRIDGE_LEASES` (the stream is `KV_BRIDGE_LEASES`), escaped like the stream names. */
export function leaseBucketName(prefix: string): string {
  return bucketName(prefix, 'LEASES');
}

function decodeRecord(value: Uint8Array): LeaseRecord | null {
  try {
    const r = JSON.parse(decoder.decode(value)) as Partial<LeaseRecord> | null;
    if (typeof r?.node === 'string' && typeof r.instance === 'string' && typeof r.since === 'number') {
      return { node: r.node, instance: r.instance, since: r.since };
    }
  } catch {
    // not ours to read: treated like a delete marker (nobody we know holds it)
  }
  return null;
}

/** A KV entry as a lease sees it: delete and purge markers have no record. */
export function storedLease(e: KvEntry): StoredLease {
  return { revision: e.revision, record: e.operation === 'PUT' ? decodeRecord(e.value) : null };
}

export interface LeaseBucket {
  /** The calls of the leases, each with the short timeout. */
  store: LeaseStore;
  /** The bucket's real max age (it may have been made with another `leaseTtlMs`). */
  ttlMs: number;
  /** Watches every key: the last entry of each first, then every change. */
  watch(onEntry: (key: string, entry: StoredLease) => void): Promise<BucketWatch>;
}

export interface BucketWatch {
  stop(): void;
  /** Settles when the watcher ended: stopped, or failed (then it should be started again). */
  done: Promise<void>;
}

/**
 * Opens the bucket, creating it when missing: history 1, max age `ttlMs`, file storage always (a
 * NATS server that restarts must still know who owns what), `replicas` copies.
 */
export async function openLeaseBucket(nc: NatsConnection, o: { prefix: string; ttlMs: number; replicas: number; callTimeoutMs: number }): Promise<LeaseBucket> {
  const name = leaseBucketName(o.prefix);
  const { admin, kv, js } = await openKvBucket(nc, name, { ttlMs: o.ttlMs, replicas: o.replicas, storage: 'file', callTimeoutMs: o.callTimeoutMs, leaderReads: true });
  const status = await admin.status();
  return {
    store: new KvLeaseStore(kv, js, name),
    ttlMs: status.ttl,
    watch: (onEntry) => watchBucket(admin, onEntry),
  };
}

class KvLeaseStore implements LeaseStore {
  readonly #kv: KV;
  readonly #js: JetStreamClient;
  readonly #bucket: string;

  constructor(kv: KV, js: JetStreamClient, bucket: string) {
    this.#kv = kv;
    this.#js = js;
    this.#bucket = bucket;
  }

  async create(key: string, record: LeaseRecord): Promise<number> {
    try {
      return await this.#kv.put(key, encoder.encode(JSON.stringify(record)), { previousSeq: 0 });
    } catch (err) {
      if (!wrongRevision(err)) throw err;
    }
    // Something is stored: a delete marker (a release) may be replaced; a live entry may not.
    const e = await this.#kv.get(key);
    if (e && e.operation !== 'PUT') return this.update(key, record, e.revision);
    throw new LeaseConflict(key);
  }

  /**
   * An expected-revision write that at most one writer wins, also on a replicated bucket. nats-server
   * 2.9 checks the expected revision at the stream leader before the write is agreed on, so
   * several concurrent writes expecting one revision can all be accepted (nats-io/nats-server#4320;
   * standbys taking over a released lease at once did). The leader records a message id before it
   * proposes, so one id made of key and revision is accepted once; the others come back as
   * duplicates, which lose like a wrong revision. Each revision is written over at most once, so
   * the id never comes back within the bucket's duplicate window for another purpose.
   */
  async update(key: string, record: LeaseRecord, revision: number): Promise<number> {
    try {
      const ack = await this.#js.publish(`$KV.${this.#bucket}.${key}`, encoder.encode(JSON.stringify(record)), {
        msgID: `lease.${key}.${revision}`,
        expect: { lastSubjectSequence: revision },
      });
      if (ack.duplicate) throw new LeaseConflict(key);
      return ack.seq;
    } catch (err) {
      throw wrongRevision(err) ? new LeaseConflict(key) : err;
    }
  }

  async get(key: string): Promise<StoredLease | null> {
    const e = await this.#kv.get(key);
    return e ? storedLease(e) : null;
  }

  async delete(key: string, revision: number): Promise<void> {
    try {
      await this.#kv.delete(key, { previousSeq: revision });
    } catch (err) {
      throw wrongRevision(err) ? new LeaseConflict(key) : err;
    }
  }
}

async function watchBucket(kv: KV, onEntry: (key: string, entry: StoredLease) => void): Promise<BucketWatch> {
  const iter = await kv.watch({ key: '>' });
  const done = (async () => {
    for await (const e of iter) onEntry(e.key, storedLease(e));
  })();
  return { stop: () => iter.stop(), done };
}
