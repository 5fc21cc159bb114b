/**
 * Answers of the principal sources that ask someone (the connect hook, the panel), cached on the
 * injected clock. Keys are SHA-256 digests of the credential and what else the answer depends on,
 * so the cache holds nothing a heap dump could replay. Concurrent lookups of one key share one
 * call: a user who opens twenty tabs at once costs the panel one request. Bounded: past
 * `maxEntries` the oldest entry goes (entries are kept in insertion order).
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.ts';

/** The digest a cache (or a log line) may keep instead of a credential. */
export function credentialDigest(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\u0000');
  return h.digest('base64url');
}

interface Entry<V> {
  readonly value: V;
  readonly until: number;
}

export class AnswerCache<V> {
  readonly #clock: Clock;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry<V>>();
  readonly #inFlight = new Map<string, Promise<V>>();

  constructor(clock: Clock, maxEntries: number) {
    this.#clock = clock;
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached answer for `key` while it is fresh; else runs `ask` once (however many callers wait
   * meanwhile) and keeps its answer for `ttlMs(answer)` ms (0: not kept). Rejects only as `ask` does.
   */
  async get(key: string, ask: () => Promise<V>, ttlMs: (answer: V) => number): Promise<V> {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      if (this.#clock.now() < hit.until) return hit.value;
      this.#entries.delete(key);
    }
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) return pending;
    const call = ask().then((value) => {
      const ttl = ttlMs(value);
      if (ttl > 0) this.#put(key, value, this.#clock.now() + ttl);
      return value;
    });
    this.#inFlight.set(key, call);
    try {
      return await call;
    } finally {
      this.#inFlight.delete(key);
    }
  }

  #put(key: string, value: V, until: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, until });
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  clear(): void {
    this.#entries.clear();
  }
}
