/**
 * Tickets on the NATS bus: every node stores the tickets it mints in the `<PREFIX>_TICKETS`
 * JetStream KV bucket, so a ticket minted on node A opens a socket on node B, and a single-use
 * ticket opens one socket in the whole cluster.
 *
 * - Keys are SHA-256 digests of (listener name, ticket): the bucket holds no ticket, and the
 *   tickets of one listener do not open another's path. The value is the client's name and the
 *   expiry instant (and the grants of a principal that is not a configured client), nothing secret.
 * - Redeeming a single-use ticket is a read, then a delete of the revision read ({@link
 *   OpenBucket.spend}): of any number of nodes redeeming one ticket at once, JetStream accepts
 *   exactly one delete; every other node answers "Invalid Ticket". Reads go to the stream leader
 *   (no direct get from a lagging replica).
 * - Expiry is the value's `expiresAt` on the relay's clock (wall time: nodes' clocks should agree
 *   to within a small part of the ticket lifetime). The bucket's max age is the lifetime plus as
 *   long again (at most 10 min), so an expired ticket still says "Ticket expired", as on one node.
 * - The per-client cap is kept by the minting node for the tickets it minted (its oldest deleted
 *   from the bucket): the bucket holds at most nodes × clients × `maxPerClient` live tickets.
 * - When NATS cannot answer (bus not connected, a call that fails or times out) minting and
 *   redeeming say `unavailable` (the panel answers 503): a ticket is never accepted unchecked.
 *   Memory storage: a ticket lost with the servers is refused, never let through.
 * One of the src/cluster/nats*.ts files: with src/bus/nats*.ts, the only files that import `nats`.
 */
import { createHash } from 'node:crypto';
import { Empty, ErrorCode, headers } from 'nats';
import type { KV, NatsConnection } from 'nats';
import type { Clock } from '../clock.ts';
import type { ApiClient, Grant, Log } from '../contracts.ts';
import { bucketName, openKvBucket, wrongRevision } from './nats-buckets.ts';
import { DEFAULT_MAX_PER_CLIENT, newTicket, retentionMs, type Issued, type Redeemed, type TicketPolicy, type TicketService } from '../auth/tickets.ts';

const DEFAULT_CALL_TIMEOUT_MS = 2000;
const NO_RESPONDERS_RETRY_MS = 50;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `bridge` → `BRIDGE_TICKETS` (the stream is `KV_BRIDGE_TICKETS`), escaped like the stream names. */
export function ticketBucketName(prefix: string): string {
  return bucketName(prefix, 'TICKETS');
}

/** A label for a log line: the error's code or class, never its text (which may name a key). */
function errorLabel(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null;
  return String(e?.code ?? e?.name ?? 'error');
}

/** The bucket as the ticket calls use it. */
export interface OpenBucket {
  readonly kv: KV;
  /**
   * Deletes `key` if it still holds `revision`: true for the one call that did, false (or a
   * "wrong last sequence" rejection) for every other. Not the expected revision alone: nats-server
   * 2.9 checks it before the raft proposal, so concurrent writes to a replicated stream may all pass
   * (nats-io/nats-server#4320; tried here: most rounds of six concurrent deletes had several
   * winners). The message id (key and revision) makes the stream leader's de-duplication, which
   * records an id before proposing, accept exactly one within the bucket's duplicate window; the
   * expected revision refuses any later one.
   */
  spend(key: string, revision: number): Promise<boolean>;
}

export interface TicketBucketOptions {
  /** The bus's connection once it exists. */
  connection(): Promise<NatsConnection | undefined>;
  /** False while the bus is not connected: calls answer `unavailable` at once instead of timing out. */
  available(): boolean;
  prefix: string;
  replicas: number;
  log: Log;
  callTimeoutMs?: number;
}

/** The one bucket of a relay, opened on first use (again after a failure), shared by its listeners. */
export class TicketBucket {
  readonly #o: TicketBucketOptions;
  #retainMs = 0;
  #opening: Promise<OpenBucket> | null = null;
  #failing = false;

  constructor(o: TicketBucketOptions) {
    this.#o = o;
  }

  /** A listener's tickets must be kept `ms` (the max age of a bucket this node creates is the largest). */
  need(ms: number): void {
    this.#retainMs = Math.max(this.#retainMs, ms);
  }

  /**
   * Starts opening the bucket now, if a listener needs it and the bus is connected, so the first
   * ticket request does not wait for the stream to be made (an R3 stream may take seconds).
   */
  warm(): void {
    if (this.#retainMs === 0 || this.#opening || !this.#o.available()) return;
    void this.#bucket().catch(() => {});
  }

  /**
   * Runs `call` on the bucket; any failure but a lost revision race is logged (once) and rethrown.
   * "No responders" is tried again until the call timeout: the stream's subjects reach the other
   * servers of a cluster a moment after the stream was made (nothing was stored; safe to repeat).
   */
  async run<T>(call: (bucket: OpenBucket) => Promise<T>): Promise<T> {
    try {
      if (!this.#o.available()) throw Object.assign(new Error('bus not connected'), { code: 'BUS_NOT_CONNECTED' });
      const bucket = await this.#bucket();
      const deadline = Date.now() + this.#callTimeoutMs;
      let result: T;
      for (;;) {
        try {
          result = await call(bucket);
          break;
        } catch (err) {
          if ((err as { code?: unknown } | null)?.code !== ErrorCode.NoResponders || Date.now() >= deadline) throw err;
          await new Promise((resolve) => setTimeout(resolve, NO_RESPONDERS_RETRY_MS));
        }
      }
      if (this.#failing) this.#o.log.info('ticket store available again', {});
      this.#failing = false;
      return result;
    } catch (err) {
      if (wrongRevision(err)) throw err;
      // A call that failed on an open bucket opens it again next time: it may be gone (memory
      // storage, after the servers restarted). An open still running is left to finish.
      if ((err as { code?: unknown } | null)?.code !== 'BUCKET_NOT_OPEN') this.#opening = null;
      if (!this.#failing) this.#o.log.warn('ticket store unavailable: ticket requests answer 503', { error: errorLabel(err) });
      this.#failing = true;
      throw err;
    }
  }

  /**
   * The bucket, waited for at most the call timeout: opening it again after a failure may take the
   * setup timeout (an R3 stream), which no ticket request should wait for; it goes on meanwhile.
   */
  #bucket(): Promise<OpenBucket> {
    const opening = (this.#opening ??= this.#open());
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = null;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('ticket bucket not open yet'), { code: 'BUCKET_NOT_OPEN' })), this.#callTimeoutMs);
      timer.unref();
    });
    return Promise.race([opening, late]).finally(() => clearTimeout(timer));
  }

  get #callTimeoutMs(): number {
    return this.#o.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  async #open(): Promise<OpenBucket> {
    const nc = await this.#o.connection();
    if (!nc) throw new Error('no NATS connection');
    const name = ticketBucketName(this.#o.prefix);
    const { admin, kv, js } = await openKvBucket(nc, name, { ttlMs: this.#retainMs, replicas: this.#o.replicas, storage: 'memory', callTimeoutMs: this.#callTimeoutMs, leaderReads: true });
    const { ttl } = await admin.status();
    if (ttl > 0 && ttl < this.#retainMs) {
      this.#o.log.warn('the ticket bucket has a shorter max age than a listener\'s tickets need: some expire early', { bucketTtlMs: ttl, neededMs: this.#retainMs });
    }
    return {
      kv,
      async spend(key, revision) {
        const h = headers();
        h.set('KV-Operation', 'DEL');
        const ack = await js.publish(`$KV.${name}.${key}`, Empty, { headers: h, msgID: `spent.${key}.${revision}`, expect: { lastSubjectSequence: revision } });
        return !ack.duplicate;
      },
    };
  }
}

interface StoredTicket {
  client: string;
  expiresAt: number;
  /**
   * A principal that is not a configured client (an app JWT's, the hook's, a panel user's) travels
   * whole: the node that redeems the ticket has no config entry to find its grants in, and the
   * minting node checked them before it issued the ticket (as a Wings token carries its own).
   * A configured client is stored by name only, so its grants come from the config in force.
   */
  principal?: { source: NonNullable<ApiClient['source']>; grants: ApiClient['grants']; expiresAt?: number };
}

const SOURCES: ReadonlySet<string> = new Set(['jwt', 'hook', 'panel']);

function decodePrincipal(p: unknown): StoredTicket['principal'] | undefined {
  const v = p as Partial<NonNullable<StoredTicket['principal']>> | null | undefined;
  if (!v || typeof v.source !== 'string' || !SOURCES.has(v.source) || !Array.isArray(v.grants)) return undefined;
  const strings = (a: unknown): a is string[] => Array.isArray(a) && a.every((x) => typeof x === 'string');
  const grants = (v.grants as unknown[]).filter((g): g is Grant => {
    const c = g as Partial<Grant> | null;
    return typeof c?.upstream === 'string' && strings(c.resources) && strings(c.permissions);
  });
  return { source: v.source, grants, ...(typeof v.expiresAt === 'number' ? { expiresAt: v.expiresAt } : {}) };
}

function decodeTicket(value: Uint8Array): StoredTicket | null {
  try {
    const v = JSON.parse(decoder.decode(value)) as Partial<StoredTicket> | null;
    if (typeof v?.client === 'string' && typeof v.expiresAt === 'number') {
      if (v.principal === undefined) return { client: v.client, expiresAt: v.expiresAt };
      const principal = decodePrincipal(v.principal);
      // A principal we cannot read is refused, never widened to a configured client of that name.
      return principal ? { client: v.client, expiresAt: v.expiresAt, principal } : null;
    }
  } catch {
    // not a ticket of ours: unknown
  }
  return null;
}

function storedTicket(client: ApiClient, expiresAt: number): StoredTicket {
  if (!client.source) return { client: client.name, expiresAt };
  const principal = { source: client.source, grants: client.grants, ...(client.expiresAt !== undefined ? { expiresAt: client.expiresAt } : {}) };
  return { client: client.name, expiresAt, principal };
}

export interface NatsTicketsOptions {
  bucket: TicketBucket;
  /** The listener's name: its tickets open only its path. */
  scope: string;
  policy: TicketPolicy;
  clock: Clock;
  /** The client a stored name stands for in the config in force (a removed one is refused at bind). */
  resolve(name: string): ApiClient;
}

/** One listener's tickets in the bucket. */
export class NatsTickets implements TicketService {
  readonly #o: NatsTicketsOptions;
  readonly #ttlMs: number;
  readonly #maxPerClient: number;
  /** The keys this node minted per client, oldest first, with their expiry. */
  readonly #minted = new Map<string, Map<string, number>>();

  constructor(o: NatsTicketsOptions) {
    this.#o = o;
    this.#ttlMs = o.policy.ttlSeconds * 1000;
    this.#maxPerClient = o.policy.maxPerClient ?? DEFAULT_MAX_PER_CLIENT;
    o.bucket.need(retentionMs(o.policy));
    o.bucket.warm();
  }

  #key(ticket: string): string {
    return createHash('sha256').update(this.#o.scope).update('\u0000').update(ticket).digest('base64url');
  }

  async issue(client: ApiClient): Promise<Issued> {
    const ticket = newTicket();
    const key = this.#key(ticket);
    const expiresAt = this.#o.clock.now() + this.#ttlMs;
    const value = encoder.encode(JSON.stringify(storedTicket(client, expiresAt)));
    try {
      await this.#o.bucket.run((b) => b.kv.create(key, value));
      // Past the cap, this client's oldest tickets go (deleted before the new one is handed out).
      const evicted = this.#remember(client.name, key, expiresAt);
      if (evicted.length > 0) await this.#o.bucket.run((b) => Promise.all(evicted.map((k) => b.kv.delete(k))));
    } catch {
      return { ok: false, reason: 'unavailable' };
    }
    return { ok: true, ticket };
  }

  async redeem(ticket: string | null): Promise<Redeemed> {
    // Semoxy tests `not ticket`: an empty `?ticket=` is as missing as no parameter.
    if (!ticket) return { ok: false, reason: 'missing' };
    const key = this.#key(ticket);
    try {
      const entry = await this.#o.bucket.run((b) => b.kv.get(key));
      const stored = entry && entry.operation === 'PUT' ? decodeTicket(entry.value) : null;
      if (!entry || !stored) return { ok: false, reason: 'invalid' };
      if (this.#o.clock.now() >= stored.expiresAt) {
        // Reported once, then forgotten (as Semoxy deletes it); a lost race changes nothing.
        await this.#o.bucket.run((b) => b.kv.delete(key, { previousSeq: entry.revision })).catch(() => {});
        return { ok: false, reason: 'expired' };
      }
      // The one delete JetStream accepts for this revision is the one use of the ticket.
      if (!this.#o.policy.reusable && !(await this.#o.bucket.run((b) => b.spend(key, entry.revision)))) return { ok: false, reason: 'invalid' };
      if (stored.principal) return { ok: true, client: { name: stored.client, ...stored.principal } };
      return { ok: true, client: this.#o.resolve(stored.client) };
    } catch (err) {
      return { ok: false, reason: wrongRevision(err) ? 'invalid' : 'unavailable' };
    }
  }

  /** Records a minted key; returns the keys past the cap (this client's oldest). Expired keys are dropped. */
  #remember(client: string, key: string, expiresAt: number): string[] {
    let own = this.#minted.get(client);
    if (!own) this.#minted.set(client, (own = new Map()));
    const now = this.#o.clock.now();
    for (const [k, at] of own) {
      if (at > now) break;
      own.delete(k);
    }
    own.set(key, expiresAt);
    const evicted: string[] = [];
    for (const k of own.keys()) {
      if (own.size <= this.#maxPerClient) break;
      own.delete(k);
      evicted.push(k);
    }
    return evicted;
  }
}
