/**
 * A session's inbound state: the frames waiting for the adapter, and its rate budgets. Made when
 * the session first spends a budget and given back once it holds nothing a fresh one would not,
 * so an idle session carries none of it (issue 5: memory per idle connection is a benchmark target).
 */
import { spend, type BucketSpec } from '../rate-limit.ts';

/** The budgets a session spends, one GCRA time each (see `spend`; 0 is a full bucket). */
export type Budget = 'frames' | 'commands' | 'reads' | 'interest';

export class Inbound {
  /** A frame's asynchronous work is running. */
  busy = false;
  /** Frames waiting behind it (null when none). */
  queue: string[] | null = null;
  frames = 0;
  commands = 0;
  reads = 0;
  interest = 0;
  authFailures = 0;
  /** Bits of the rate limits this session has hit and logged (each is logged once per session). */
  limitsLogged = 0;

  /** Spends one of `budget` at `now` (on the listener's rate clock); false, and nothing spent, when it is empty. */
  spend(budget: Budget, spec: BucketSpec, now: number): boolean {
    const tat = spend(this[budget], now, spec);
    if (tat < 0) return false;
    this[budget] = tat;
    return true;
  }

  /** The next waiting frame, if any. */
  next(): string | undefined {
    const queue = this.queue;
    if (queue === null) return undefined;
    const text = queue.shift();
    if (queue.length === 0) this.queue = null;
    return text;
  }

  /** No frame at work or waiting, and every budget full again (`authFailures` and `limitsLogged` aside). */
  idle(now: number): boolean {
    return !this.busy && this.queue === null && this.frames <= now && this.commands <= now && this.reads <= now && this.interest <= now;
  }
}
