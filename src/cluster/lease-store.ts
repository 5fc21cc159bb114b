/**
 * The KV calls a lease makes, as a small interface (after nats.js's injected `Transport`): the
 * lease state machine (nats-lease.ts) is written against it, and nats-kv.ts implements it on a
 * JetStream KV bucket. Revisions are the bucket stream's sequence numbers.
 */

/** What a lease entry holds. `instance` is random per process, so a restarted node is someone else. */
export interface LeaseRecord {
  node: string;
  since: number;
  instance: string;
}

/** A stored entry; `record` is null for a delete marker (or a value that is not a LeaseRecord). */
export interface StoredLease {
  revision: number;
  record: LeaseRecord | null;
}

/** The expected revision was not the key's last one (or the key exists, for `create`). */
export class LeaseConflict extends Error {
  constructor(key: string) {
    super(`lease ${key}: revision conflict`);
    this.name = 'LeaseConflict';
  }
}

/** The KV calls a lease makes. Each rejects after the store's call timeout at the latest. */
export interface LeaseStore {
  /** Creates the key if absent (or deleted); resolves its revision; LeaseConflict if present. */
  create(key: string, record: LeaseRecord): Promise<number>;
  /** Writes if `revision` is still the key's last; resolves the new revision; else LeaseConflict. */
  update(key: string, record: LeaseRecord, revision: number): Promise<number>;
  /** The key's last entry, or null when there is none (aged out). */
  get(key: string): Promise<StoredLease | null>;
  /** Deletes if `revision` is still the key's last; else LeaseConflict. */
  delete(key: string, revision: number): Promise<void>;
}
