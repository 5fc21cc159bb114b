/**
 * What the cluster's JetStream KV buckets (leases, presence, interest, tickets) share: their
 * names, how one is opened (made when missing, then bound for the calls with a short timeout),
 * and JetStream's answer to an expected-revision write that lost.
 * One of the src/cluster/nats*.ts files: with src/bus/nats*.ts, the only files that import `nats`.
 */
import { StorageType } from 'nats';
import type { JetStreamClient, KV, NatsConnection } from 'nats';
import { prefixName } from '../bus/nats-retention.ts';

/** JetStream's "wrong last sequence" answer to an expected-revision write. */
const JS_WRONG_LAST_SEQUENCE = 10071;
/** Creating an R3 stream takes a raft group: much longer than a KV call may. */
const SETUP_TIMEOUT_MS = 5000;

/** `bridge`, `LEASES` → `BRIDGE_LEASES` (the stream is `KV_BRIDGE_LEASES`), escaped like the stream names. */
export function bucketName(prefix: string, kind: 'LEASES' | 'NODES' | 'INTEREST' | 'TICKETS'): string {
  return `${prefixName(prefix)}_${kind}`;
}

/** The write expected a revision that was no longer the key's last. */
export function wrongRevision(err: unknown): boolean {
  return (err as { api_error?: { err_code?: number } } | null)?.api_error?.err_code === JS_WRONG_LAST_SEQUENCE;
}

export interface KvBucketOptions {
  /** The max age of a bucket this call makes (one that exists keeps its own). */
  ttlMs: number;
  replicas: number;
  storage: 'file' | 'memory';
  /** The timeout of every call on the bound bucket. */
  callTimeoutMs: number;
  /** Reads go to the stream leader (no direct get from a replica that may lag behind it). */
  leaderReads?: boolean;
}

export interface OpenedBucket {
  /** The bucket as made or found, on the setup timeout (its status, its watchers). */
  admin: KV;
  /** The bucket bound for calls, on the call timeout. */
  kv: KV;
  /** JetStream on the call timeout, for writes the KV view cannot express. */
  js: JetStreamClient;
}

/** Opens bucket `name`, creating it when missing with history 1. */
export async function openKvBucket(nc: NatsConnection, name: string, o: KvBucketOptions): Promise<OpenedBucket> {
  const storage = o.storage === 'file' ? StorageType.File : StorageType.Memory;
  const admin = await nc.jetstream({ timeout: SETUP_TIMEOUT_MS }).views.kv(name, { history: 1, ttl: o.ttlMs, replicas: o.replicas, storage });
  const js = nc.jetstream({ timeout: o.callTimeoutMs });
  const kv = await js.views.kv(name, { bindOnly: true, ...(o.leaderReads ? { allow_direct: false } : {}) });
  return { admin, kv, js };
}
