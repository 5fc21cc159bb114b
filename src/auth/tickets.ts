/**
 * Tickets (the Semoxy v1 handshake: `GET /account/ticket` trades an API key for a ticket, and
 * `WS /server/events?ticket=…` trades the ticket for a socket) as a core service, so a listener
 * asks its context (`ctx.tickets(policy)`) and knows nothing of where tickets live: this memory
 * version on the memory bus, src/cluster/nats-tickets.ts on NATS (one ticket works on every node,
 * and a single-use ticket opens one socket in the whole cluster).
 *
 * Semoxy's own tickets lived 7200 s, were reusable and bound to IP + User-Agent. The relay's are
 * single-use and live 60 s by default (DESIGN §10: a ticket travels in a URL and ends up in access
 * logs); `reusable` and `ttlSeconds` restore the original behaviour. Only a SHA-256 digest of each
 * ticket is kept, so the store holds nothing a log or heap dump could replay. Time is the injected
 * clock's, so expiry is tested without sleeping. Memory is bounded: expired entries are swept as
 * new tickets are issued, and each client holds at most `maxPerClient` tickets; past it that
 * client's own oldest ticket goes. A global cap would let one client's minting evict every other
 * client's tickets; per client, the bound is (configured clients) × `maxPerClient`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { ApiClient } from '../contracts.ts';

export interface TicketPolicy {
  ttlSeconds: number;
  reusable: boolean;
  /** Tickets one client holds at most (its oldest dropped first); default 100. */
  maxPerClient?: number;
}

/**
 * Why a ticket did not open a socket: each has its own Semoxy HTTP body. `unavailable`: the
 * store could not be asked (NATS down); the ticket is neither accepted nor spent.
 */
export type TicketRefusal = 'missing' | 'expired' | 'invalid' | 'unavailable';

export type Issued = { ok: true; ticket: string } | { ok: false; reason: 'unavailable' };
export type Redeemed = { ok: true; client: ApiClient } | { ok: false; reason: TicketRefusal };

/** One listener's tickets. Never rejects: a store that cannot answer says `unavailable`. */
export interface TicketService {
  /** A new ticket for `client`: 32 random bytes, URL-safe. */
  issue(client: ApiClient): Promise<Issued>;
  /**
   * Checks a ticket from a query string. A single-use ticket is consumed by its first successful
   * use; an expired one is forgotten when it is reported (as Semoxy deletes it).
   */
  redeem(ticket: string | null): Promise<Redeemed>;
}

export const DEFAULT_MAX_PER_CLIENT = 100;
/**
 * How long an expired ticket is remembered at most, so that using it says "Ticket expired" rather
 * than "Invalid Ticket" (the difference tells a dashboard to fetch a new one rather than re-login).
 */
export const EXPIRED_MEMORY_MS = 10 * 60_000;

/** How long a ticket of `policy` is kept: its lifetime, then as long again (at most 10 min) as expired. */
export function retentionMs(policy: TicketPolicy): number {
  const ttlMs = policy.ttlSeconds * 1000;
  return ttlMs + Math.min(ttlMs, EXPIRED_MEMORY_MS);
}

export function newTicket(): string {
  return randomBytes(32).toString('base64url');
}

/** The SHA-256 digest a ticket is stored under (base64url: a valid NATS KV key token). */
export function ticketDigest(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}

interface Entry {
  readonly client: ApiClient;
  readonly expiresAt: number;
}

/** The tickets of one listener in this process (the memory bus: one node). */
export class MemoryTickets implements TicketService {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #retainMs: number;
  readonly #reusable: boolean;
  readonly #maxPerClient: number;
  /** Insertion order is expiry order (one TTL for all), which makes sweeping a walk from the front. */
  readonly #entries = new Map<string, Entry>();
  /** Each client's ticket digests, oldest first. */
  readonly #byClient = new Map<string, Set<string>>();

  constructor(clock: Clock, policy: TicketPolicy) {
    this.#clock = clock;
    this.#ttlMs = policy.ttlSeconds * 1000;
    this.#retainMs = retentionMs(policy);
    this.#reusable = policy.reusable;
    this.#maxPerClient = policy.maxPerClient ?? DEFAULT_MAX_PER_CLIENT;
  }

  /** Tickets currently remembered (live or recently expired). */
  get size(): number {
    return this.#entries.size;
  }

  issue(client: ApiClient): Promise<Issued> {
    this.#sweep();
    const ticket = newTicket();
    const key = ticketDigest(ticket);
    this.#entries.set(key, { client, expiresAt: this.#clock.now() + this.#ttlMs });
    let own = this.#byClient.get(client.name);
    if (!own) this.#byClient.set(client.name, (own = new Set()));
    own.add(key);
    while (own.size > this.#maxPerClient) this.#forget(own.values().next().value as string);
    return Promise.resolve({ ok: true, ticket });
  }

  redeem(ticket: string | null): Promise<Redeemed> {
    return Promise.resolve(this.#redeem(ticket));
  }

  #redeem(ticket: string | null): Redeemed {
    // Semoxy tests `not ticket`: an empty `?ticket=` is as missing as no parameter.
    if (!ticket) return { ok: false, reason: 'missing' };
    const key = ticketDigest(ticket);
    const entry = this.#entries.get(key);
    if (!entry) return { ok: false, reason: 'invalid' };
    if (this.#clock.now() >= entry.expiresAt) {
      this.#forget(key);
      return { ok: false, reason: 'expired' };
    }
    if (!this.#reusable) this.#forget(key);
    return { ok: true, client: entry.client };
  }

  #forget(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    const own = this.#byClient.get(entry.client.name);
    own?.delete(key);
    if (own?.size === 0) this.#byClient.delete(entry.client.name);
  }

  #sweep(): void {
    const horizon = this.#clock.now() + this.#ttlMs - this.#retainMs;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > horizon) break;
      this.#forget(key);
    }
  }
}
