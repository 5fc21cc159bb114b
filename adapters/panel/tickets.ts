/**
 * Tickets of the Semoxy v1 handshake: `GET /account/ticket` trades an API key for a ticket, and
 * `WS /server/events?ticket=…` trades the ticket for a socket.
 *
 * Semoxy's own tickets lived 7200 s, were reusable and bound to IP + User-Agent. The relay's are
 * single-use and live 60 s by default (DESIGN §10: a ticket travels in a URL and ends up in access
 * logs); `reusable` and `ttlSeconds` restore the original behaviour. Only a SHA-256 digest of each
 * ticket is kept, so the store holds nothing a log or heap dump could replay. Time is the injected
 * clock's, so expiry is tested without sleeping. Memory is bounded: expired entries are swept as
 * new tickets are issued, and past `maxEntries` the oldest ticket is dropped.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiClient, Clock } from '../../src/adapter-kit.ts';

export interface TicketStoreOptions {
  ttlSeconds: number;
  reusable: boolean;
  /** Live tickets kept at most (oldest dropped first). */
  maxEntries?: number;
}

/** Why a ticket did not open a socket; each has its own Semoxy HTTP body. */
export type TicketRefusal = 'missing' | 'expired' | 'invalid';

export type Redeemed = { ok: true; client: ApiClient } | { ok: false; reason: TicketRefusal };

interface Entry {
  readonly client: ApiClient;
  readonly expiresAt: number;
}

const DEFAULT_MAX_ENTRIES = 100_000;
/**
 * How long an expired ticket is remembered, so that using it says "Ticket expired" rather than
 * "Invalid Ticket" (the difference tells a dashboard to fetch a new one rather than re-login).
 */
const EXPIRED_MEMORY_MS = 10 * 60_000;

function digest(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}

export class TicketStore {
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #reusable: boolean;
  readonly #max: number;
  /** Insertion order is expiry order (one TTL for all), which makes sweeping a walk from the front. */
  readonly #entries = new Map<string, Entry>();

  constructor(clock: Clock, options: TicketStoreOptions) {
    this.#clock = clock;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#reusable = options.reusable;
    this.#max = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  /** Tickets currently remembered (live or recently expired). */
  get size(): number {
    return this.#entries.size;
  }

  /** Issues a ticket for `client`: 32 random bytes, URL-safe. */
  issue(client: ApiClient): string {
    this.#sweep();
    const ticket = randomBytes(32).toString('base64url');
    this.#entries.set(digest(ticket), { client, expiresAt: this.#clock.now() + this.#ttlMs });
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as string);
    return ticket;
  }

  /**
   * Checks a ticket from a query string. A single-use ticket is consumed by its first successful
   * use; an expired one is forgotten when it is reported (as Semoxy deletes it).
   */
  redeem(ticket: string | null): Redeemed {
    // Semoxy tests `not ticket`: an empty `?ticket=` is as missing as no parameter.
    if (!ticket) return { ok: false, reason: 'missing' };
    const key = digest(ticket);
    const entry = this.#entries.get(key);
    if (!entry) return { ok: false, reason: 'invalid' };
    if (this.#clock.now() >= entry.expiresAt) {
      this.#entries.delete(key);
      return { ok: false, reason: 'expired' };
    }
    if (!this.#reusable) this.#entries.delete(key);
    return { ok: true, client: entry.client };
  }

  #sweep(): void {
    const horizon = this.#clock.now() - Math.min(this.#ttlMs, EXPIRED_MEMORY_MS);
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > horizon) break;
      this.#entries.delete(key);
    }
  }
}
