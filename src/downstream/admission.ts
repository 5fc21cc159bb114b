/**
 * Admission control of the one port: what the web host asks before it spends a WebSocket on an
 * upgrade, and what every listener reports when a credential fails (nats-server's
 * `max_connections`, Centrifugo's connection limits). One instance per relay.
 */
import { isIPv6 } from 'node:net';
import type { Clock } from '../clock.ts';
import type { CloseErrorCode } from '../errors.ts';
import type { BucketSpec } from '../rate-limit.ts';
import { plainAddress } from './edge.ts';

export interface AdmissionControl {
  /**
   * An upgrade from `address` is about to be accepted. null: admitted, and the caller calls
   * {@link released} once when that socket closes. Otherwise the row it is refused with.
   */
  admit(address: string): CloseErrorCode | null;
  /** A socket admitted for `address` closed. */
  released(address: string): void;
  /** A credential presented from `address` failed (any listener; HTTP endpoint or socket). */
  authFailed(address: string): void;
  /** Whether `address` failed authentication too often lately (the endpoints answer 429). */
  blocked(address: string): boolean;
  /**
   * How long until `address` may try again after a refusal with `code` (for Retry-After);
   * undefined when it cannot be known. Optional: implementations without time may omit it.
   */
  retryAfterMs?(address: string, code: CloseErrorCode): number | undefined;
}

/** Admits everything (unit tests of parts that do not test admission). */
export const OPEN_ADMISSION: AdmissionControl = {
  admit: () => null,
  released() {},
  authFailed() {},
  blocked: () => false,
};

/** The `limits` keys admission enforces. */
export interface AdmissionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly connectRatePerAddress: BucketSpec;
  readonly authFailuresPerAddress: BucketSpec;
}

/** The config key (under `limits`) of each refusal: the `limit` label of bridge_limit_hits_total. */
export const LIMIT_KEYS: Partial<Record<string, keyof AdmissionLimits>> = {
  BRIDGE_ERR_CAPACITY: 'maxConnections',
  BRIDGE_ERR_ADDRESS_LIMIT: 'maxConnectionsPerAddress',
  BRIDGE_ERR_RATE_LIMITED: 'connectRatePerAddress',
  BRIDGE_ERR_AUTH_FAILURES: 'authFailuresPerAddress',
};

/**
 * Addresses remembered at most. Entries with open sockets are bounded by `maxConnections`; this
 * caps the others (recent connects and failures), so a spray of source addresses cannot grow the
 * table: past it the least recently seen address without a socket is forgotten first.
 */
export const MAX_TRACKED_ADDRESSES = 50_000;

/**
 * The key an address is counted under: IPv4 as is (`::ffff:` mapping removed); IPv6 by its /64,
 * the block one subscriber gets, which a client can otherwise walk through one address per connect.
 */
export function addressKey(address: string): string {
  const plain = plainAddress(address);
  if (!isIPv6(plain)) return plain;
  const bare = plain.split('%')[0]!;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** A token bucket as two numbers (no clock or spec per instance: an address holds two). */
class Bucket {
  tokens: number;
  at: number;

  constructor(spec: BucketSpec, now: number) {
    this.tokens = spec.burst;
    this.at = now;
  }

  #refill(spec: BucketSpec, now: number): void {
    // A reload may have made the bucket smaller than what it holds.
    if (this.tokens > spec.burst) this.tokens = spec.burst;
    const gained = Math.floor((now - this.at) / spec.refillMs);
    if (gained <= 0) return;
    this.tokens = Math.min(spec.burst, this.tokens + gained);
    this.at = this.tokens === spec.burst ? now : this.at + gained * spec.refillMs;
  }

  take(spec: BucketSpec, now: number): boolean {
    this.#refill(spec, now);
    if (this.tokens === 0) return false;
    if (this.tokens === spec.burst) this.at = now;
    this.tokens -= 1;
    return true;
  }

  empty(spec: BucketSpec, now: number): boolean {
    this.#refill(spec, now);
    return this.tokens === 0;
  }

  /** Milliseconds until the next token. */
  wait(spec: BucketSpec, now: number): number {
    this.#refill(spec, now);
    return this.tokens > 0 ? 0 : this.at + spec.refillMs - now;
  }
}

interface Entry {
  open: number;
  readonly connects: Bucket;
  readonly failures: Bucket;
  /** Last time a token was taken: once both buckets are full again the entry holds nothing. */
  touched: number;
}

/** How often idle entries are looked for (at most; only when an address is seen). */
const SWEEP_EVERY_MS = 1000;

/**
 * Per-address counts and token buckets (on the injected clock) behind {@link AdmissionControl}.
 * Memory is bounded: an address with no socket whose buckets have refilled is forgotten (nothing
 * is lost: a fresh entry is the same), and at most `maxTracked` addresses are kept.
 */
export class AddressAdmission implements AdmissionControl {
  #limits: AdmissionLimits;
  readonly #clock: Clock;
  readonly #maxTracked: number;
  /** Least recently touched first (an entry is re-inserted when touched). */
  readonly #entries = new Map<string, Entry>();
  /** After this long untouched, an entry's buckets are full again. */
  #forgetAfterMs = 0;
  #open = 0;
  #sweptAt: number;

  constructor(limits: AdmissionLimits, clock: Clock, opts: { maxTracked?: number } = {}) {
    this.#limits = limits;
    this.#clock = clock;
    this.#maxTracked = opts.maxTracked ?? MAX_TRACKED_ADDRESSES;
    this.setLimits(limits);
    this.#sweptAt = clock.now();
  }

  /**
   * Puts new limits in force (a config reload): every later admission and failure uses them. The
   * counts and buckets of each address stay; a bucket larger than its new burst is cut down to it.
   */
  setLimits(limits: AdmissionLimits): void {
    this.#limits = limits;
    const full = (b: BucketSpec) => b.burst * b.refillMs;
    this.#forgetAfterMs = Math.max(full(limits.connectRatePerAddress), full(limits.authFailuresPerAddress));
  }

  /** Sockets admitted and not yet released. */
  get open(): number {
    return this.#open;
  }

  /** Addresses currently remembered. */
  get tracked(): number {
    return this.#entries.size;
  }

  admit(address: string): CloseErrorCode | null {
    const limits = this.#limits;
    if (this.#open >= limits.maxConnections) return 'BRIDGE_ERR_CAPACITY';
    const now = this.#clock.now();
    const entry = this.#touch(addressKey(address), now);
    if (entry.failures.empty(limits.authFailuresPerAddress, now)) return 'BRIDGE_ERR_AUTH_FAILURES';
    if (entry.open >= limits.maxConnectionsPerAddress) return 'BRIDGE_ERR_ADDRESS_LIMIT';
    if (!entry.connects.take(limits.connectRatePerAddress, now)) return 'BRIDGE_ERR_RATE_LIMITED';
    entry.open += 1;
    this.#open += 1;
    return null;
  }

  released(address: string): void {
    const entry = this.#entries.get(addressKey(address));
    if (!entry || entry.open === 0) return;
    entry.open -= 1;
    this.#open -= 1;
    // Re-inserted: the idle clock of an address starts when its last socket closes.
    this.#touch(addressKey(address), this.#clock.now());
  }

  authFailed(address: string): void {
    const now = this.#clock.now();
    this.#touch(addressKey(address), now).failures.take(this.#limits.authFailuresPerAddress, now);
  }

  blocked(address: string): boolean {
    const entry = this.#entries.get(addressKey(address));
    return entry !== undefined && entry.failures.empty(this.#limits.authFailuresPerAddress, this.#clock.now());
  }

  retryAfterMs(address: string, code: CloseErrorCode): number | undefined {
    const entry = this.#entries.get(addressKey(address));
    if (!entry) return undefined;
    const now = this.#clock.now();
    if (code === 'BRIDGE_ERR_AUTH_FAILURES') return entry.failures.wait(this.#limits.authFailuresPerAddress, now);
    if (code === 'BRIDGE_ERR_RATE_LIMITED') return entry.connects.wait(this.#limits.connectRatePerAddress, now);
    return undefined;
  }

  /** The entry of `key`, created if needed, moved to the most recently touched end. */
  #touch(key: string, now: number): Entry {
    let entry = this.#entries.get(key);
    if (entry) this.#entries.delete(key);
    else {
      if (now - this.#sweptAt >= SWEEP_EVERY_MS || this.#entries.size >= this.#maxTracked) this.#sweep(now);
      entry = { open: 0, connects: new Bucket(this.#limits.connectRatePerAddress, now), failures: new Bucket(this.#limits.authFailuresPerAddress, now), touched: now };
    }
    entry.touched = now;
    this.#entries.set(key, entry);
    return entry;
  }

  /** Forgets idle entries; at the cap, also the least recently touched ones without a socket. */
  #sweep(now: number): void {
    this.#sweptAt = now;
    for (const [key, entry] of this.#entries) {
      if (now - entry.touched < this.#forgetAfterMs) break;
      if (entry.open === 0) this.#entries.delete(key);
    }
    if (this.#entries.size < this.#maxTracked) return;
    for (const [key, entry] of this.#entries) {
      if (entry.open === 0) this.#entries.delete(key);
      if (this.#entries.size < this.#maxTracked) return;
    }
  }
}
