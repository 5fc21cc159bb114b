/**
 * What this node knows of one lease (owned, standby or unowned; the owner and since when), and
 * the listeners told of every change, synchronously in the turn it is decided (see
 * {@link Lease.onChange}). A listener that throws is logged; the others are told all the same.
 * It also keeps when this node last became the owner.
 */
import type { Clock } from '../clock.ts';
import type { Log } from '../contracts.ts';
import type { Lease, LeaseView } from './coordinator.ts';

export const UNOWNED: LeaseView = { ownership: 'unowned', owner: null, since: null };

export class LeaseViewCell {
  readonly #key: string;
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #listeners: Parameters<Lease['onChange']>[0][] = [];
  #view: LeaseView = UNOWNED;
  /** Clock time at which this node last became the owner. */
  #ownedAt = 0;

  constructor(key: string, log: Log, clock: Clock) {
    this.#key = key;
    this.#log = log;
    this.#clock = clock;
  }

  get value(): LeaseView {
    return this.#view;
  }

  get owned(): boolean {
    return this.#view.ownership === 'owned';
  }

  /** How long this node has owned the link (clock ms); 0 when it does not. */
  get heldMs(): number {
    return this.owned ? this.#clock.now() - this.#ownedAt : 0;
  }

  listen(listener: (view: LeaseView) => void): void {
    this.#listeners.push(listener);
  }

  /** Puts `view` in force and tells the listeners; nothing when it says what the current one does. */
  set(view: LeaseView): void {
    const old = this.#view;
    if (old.ownership === view.ownership && old.owner === view.owner && old.since === view.since) return;
    if (view.ownership === 'owned' && old.ownership !== 'owned') this.#ownedAt = this.#clock.now();
    this.#view = view;
    for (const listener of this.#listeners) {
      try {
        listener(view);
      } catch (err) {
        this.#log.error('lease listener threw', { lease: this.#key, err: err as Error });
      }
    }
  }
}
