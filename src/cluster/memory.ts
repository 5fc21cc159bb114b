/**
 * The coordinator of a relay on the memory bus: one node, so every lease is granted at once and
 * never lost, and no other node's interest to add. The supervisor drives it exactly like the NATS
 * one, so both take the same paths.
 */
import type { Clock } from '../clock.ts';
import type { Coordinator, Interest, Lease, LeaseView, LinkOwnership } from './coordinator.ts';

class GrantedLease implements Lease {
  readonly #node: string;
  readonly #listeners: ((view: LeaseView) => void)[] = [];
  #ownership: LinkOwnership = 'owned';
  readonly #since: number;

  constructor(node: string, since: number) {
    this.#node = node;
    this.#since = since;
  }

  get since(): number | null {
    return this.#ownership === 'owned' ? this.#since : null;
  }

  get ownership(): LinkOwnership {
    return this.#ownership;
  }

  get owner(): string | null {
    return this.#ownership === 'owned' ? this.#node : null;
  }

  onChange(listener: (view: LeaseView) => void): void {
    this.#listeners.push(listener);
  }

  release(): Promise<void> {
    if (this.#ownership === 'owned') {
      this.#ownership = 'unowned';
      const view = { ownership: this.#ownership, owner: null, since: null };
      for (const l of this.#listeners) l(view);
    }
    return Promise.resolve();
  }
}

export class MemoryCoordinator implements Coordinator {
  readonly node: string;
  readonly #clock: Clock;
  readonly #leases = new Map<string, GrantedLease>();

  constructor(node: string, clock: Clock) {
    this.node = node;
    this.#clock = clock;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  lease(key: string): Lease {
    let lease = this.#leases.get(key);
    if (!lease) this.#leases.set(key, (lease = new GrantedLease(this.node, this.#clock.now())));
    return lease;
  }

  publishInterest(_upstream: string, _interest: Interest): void {}

  watchInterest(_upstream: string, _listener: (remote: Interest) => void): () => void {
    return () => {};
  }

  /** One node: nobody to tell. */
  leave(): Promise<void> {
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#leases.values()].map((l) => l.release()));
  }
}
