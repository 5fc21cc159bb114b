/**
 * Tickets of the Semoxy v1 handshake: `GET /account/ticket` trades an API key for a ticket, and
 * `WS /server/events?ticket=…` trades the ticket for a socket.
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
import type { ApiClient, Clock } from '../../src/adapter-kit.ts';

export interface TicketStoreOptions {
  ttlSeconds: number;
  reusable: boolean;
  /** Tickets one client holds at most (its oldest dropped first); default 100. */
  maxPerClient?: number;
}

/** Why a ticket did not open a socket; each has its own Semoxy HTTP body. */
export type TicketRefusal = 'missing' | 'expired' | 'invalid';

export type Redeemed = { ok: true; client: ApiClient } | { ok: false; reason: TicketRefusal };

interface Entry {
  readonly client: ApiClient;
  readonly expiresAt: number;
}

const DEFAULT_MAX_PER_CLIENT = 100;
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
  readonly #maxPerClient: number;
  /** Insertion order is expiry order (one TTL for all), which makes sweeping a walk from the front. */
  readonly #entries = new Map<string, Entry>();
  /** Each client's ticket digests, oldest first. */
  readonly #byClient = new Map<string, Set<string>>();

  constructor(clock: Clock, options: TicketStoreOptions) {
    this.#clock = clock;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#reusable = options.reusable;
    this.#maxPerClient = options.maxPerClient ?? DEFAULT_MAX_PER_CLIENT;
  }

  /** Tickets currently remembered (live or recently expired). */
  get size(): number {
    return this.#entries.size;
  }

  /** Issues a ticket for `client`: 32 random bytes, URL-safe. */
  issue(client: ApiClient): string {
    this.#sweep();
    const ticket = randomBytes(32).toString('base64url');
    const key = digest(ticket);
    this.#entries.set(key, { client, expiresAt: this.#clock.now() + this.#ttlMs });
    let own = this.#byClient.get(client.name);
    if (!own) this.#byClient.set(client.name, (own = new Set()));
    own.add(key);
    while (own.size > this.#maxPerClient) this.#forget(own.values().next().value as string);
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
    const horizon = this.#clock.now() - Math.min(this.#ttlMs, EXPIRED_MEMORY_MS);
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > horizon) break;
      this.#forget(key);
    }
  }
}
