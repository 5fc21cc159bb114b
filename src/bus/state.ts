/** A bus's connection state and the listeners told of each change. */
import type { BusState } from './bus.ts';

export class BusStateCell {
  #value: BusState = 'connecting';
  readonly #listeners: ((state: BusState) => void)[] = [];
  readonly #onError: (err: unknown) => void;

  /** `onError` receives whatever a listener throws; a listener never breaks the bus. */
  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  get value(): BusState {
    return this.#value;
  }

  /** True once the bus is draining or closed: nothing new may start. */
  get ending(): boolean {
    return this.#value === 'draining' || this.#value === 'closed';
  }

  set(state: BusState): void {
    if (this.#value === state) return;
    this.#value = state;
    for (const listener of this.#listeners) {
      try {
        listener(state);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  listen(listener: (state: BusState) => void): void {
    this.#listeners.push(listener);
  }
}
