/** The Wings 1.12 socket cap: how many authenticated sockets each server has (per listener). */
import type { ResourceRef } from '../../src/adapter-kit.ts';

/** Authenticated sockets per server (Wings 1.12 allows 30). */
export class Sockets {
  readonly #authed = new Map<string, number>();
  count(server: ResourceRef): number {
    return this.#authed.get(`${server.upstream}\u0000${server.id}`) ?? 0;
  }
  add(server: ResourceRef, delta: 1 | -1): void {
    const key = `${server.upstream}\u0000${server.id}`;
    const n = (this.#authed.get(key) ?? 0) + delta;
    if (n > 0) this.#authed.set(key, n);
    else this.#authed.delete(key);
  }
}
