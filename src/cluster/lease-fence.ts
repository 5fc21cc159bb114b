/**
 * An owner's self-fence (F in lease-timing.ts): the deadline F after the send time of the last
 * renewal that succeeded, checked on its own timer, so never behind a pending KV call.
 */
import type { Clock, Timer } from '../clock.ts';

export interface OwnerFenceOptions {
  clock: Clock;
  /** F, read at every check. */
  fenceMs(): number;
  /** Whether the lease is owned: a check while it is not does nothing. */
  owned(): boolean;
  /** The deadline passed while owned: the link must be dropped now. */
  onPassed(): void;
}

export class OwnerFence {
  readonly #o: OwnerFenceOptions;
  /** Send time of the last renewal (or create) that succeeded. */
  #okAt = Number.NEGATIVE_INFINITY;
  #timer: Timer | null = null;

  constructor(o: OwnerFenceOptions) {
    this.#o = o;
  }

  /** When the owner must have dropped the link (clock time). */
  get deadline(): number {
    return this.#okAt + this.#o.fenceMs();
  }

  /** A renewal (or create) sent at `sentAt` succeeded: the deadline moves to F after it. */
  renewed(sentAt: number): void {
    this.#okAt = sentAt;
    this.#arm();
  }

  cancel(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  #arm(): void {
    this.#timer?.cancel();
    const left = this.deadline - this.#o.clock.now();
    this.#timer = this.#o.clock.setTimeout(() => this.#check(), Math.max(0, left));
  }

  #check(): void {
    this.#timer = null;
    if (!this.#o.owned()) return;
    if (this.#o.clock.now() - this.#okAt < this.#o.fenceMs()) return this.#arm();
    this.#o.onPassed();
  }
}
