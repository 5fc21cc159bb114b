/**
 * The presence bucket on JetStream KV, `<PREFIX>_NODES`: one entry per node (key: its id), put
 * every P while the node runs and deleted when it drains; max age the presence TTL. Every node
 * watches all entries (presence.ts keeps the table). Memory storage: presence is remade within P
 * after any loss, unlike leases.
 * One of the src/cluster/nats*.ts files: with src/bus/nats*.ts, the only files that import `nats`.
 */
import type { KvEntry, NatsConnection } from 'nats';
import { kvToken } from '../subjects.ts';
import type { PresenceRecord } from './presence.ts';
import type { BucketWatch } from './nats-kv.ts';
import { bucketName, openKvBucket } from './nats-buckets.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `bridge` → `BRIDGE_NODES` (the stream is `KV_BRIDGE_NODES`). */
export function presenceBucketName(prefix: string): string {
  return bucketName(prefix, 'NODES');
}

function decodePresence(e: KvEntry): PresenceRecord | null {
  if (e.operation !== 'PUT') return null;
  try {
    const r = JSON.parse(decoder.decode(e.value)) as Partial<PresenceRecord> | null;
    if (typeof r?.node === 'string' && typeof r.instance === 'string' && typeof r.group === 'string') return { node: r.node, instance: r.instance, group: r.group };
  } catch {
    // not ours to read: as if the node were not there
  }
  return null;
}

export interface PresenceBucket {
  /** Puts (or renews) this node's entry. */
  put(record: PresenceRecord): Promise<void>;
  /** Deletes this node's entry (a drain): the others stop counting it at once. */
  remove(node: string): Promise<void>;
  /** Every entry there is, then every change; `initialized` once the existing ones were delivered. */
  watch(onEntry: (key: string, record: PresenceRecord | null, revision: number) => void, initialized: () => void): Promise<BucketWatch>;
}

export async function openPresenceBucket(nc: NatsConnection, o: { prefix: string; ttlMs: number; replicas: number; callTimeoutMs: number }): Promise<PresenceBucket> {
  const name = presenceBucketName(o.prefix);
  const { admin, kv: ops } = await openKvBucket(nc, name, { ttlMs: o.ttlMs, replicas: o.replicas, storage: 'memory', callTimeoutMs: o.callTimeoutMs });
  return {
    async put(record) {
      await ops.put(kvToken(record.node), encoder.encode(JSON.stringify(record)));
    },
    async remove(node) {
      await ops.delete(kvToken(node));
    },
    async watch(onEntry, initialized) {
      const iter = await admin.watch({ key: '>', initializedFn: initialized });
      const done = (async () => {
        for await (const e of iter) onEntry(e.key, decodePresence(e), e.revision);
      })();
      return { stop: () => iter.stop(), done };
    },
  };
}
