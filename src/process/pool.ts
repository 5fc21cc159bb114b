/**
 * The primary's side of `--workers N`, without processes: it forks N workers, hands each its
 * init when it says hello, restarts one that dies (with backoff), and on a stop forwards the signal
 * and bounds the wait for every worker's exit. A worker is a {@link WorkerHandle} (node:cluster's
 * Worker in src/process/primary.ts, a fake in the unit test); time is a Clock, so the restart delays
 * and the stop deadline are tested with a ManualClock.
 */
import type { Clock, Timer } from '../clock.ts';
import type { Log } from '../contracts.ts';
import { Backoff, type BackoffPolicy } from '../upstream/backoff.ts';
import { is, type ToWorker, type WorkerInit } from './messages.ts';

/** One worker process as the pool sees it. */
export interface WorkerHandle {
  readonly pid: number | undefined;
  /** Sends over IPC; false, never a throw, when the channel is already closed. */
  send(msg: ToWorker): boolean;
  kill(signal: NodeJS.Signals): void;
  onMessage(fn: (msg: unknown) => void): void;
  /** Called once, when the process has exited. */
  onExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** A live worker: its slot's index, its process, and whether its relay said it is ready. */
export interface PoolWorker {
  readonly index: number;
  readonly handle: WorkerHandle;
  readonly ready: boolean;
}

export interface RestartPolicy extends BackoffPolicy {
  /** A worker that stayed ready this long before it died is restarted from `initialMs` again. */
  resetMs: number;
}

/**
 * Restart delays of a worker that died: full jitter under a ceiling that doubles from 1 s to 30 s
 * while a worker keeps dying young, so a worker that cannot run (a bug on a code path every start
 * takes) costs a few forks a minute, not a fork loop; a worker that ran for 30 s starts over.
 */
export const RESTART_POLICY: RestartPolicy = { initialMs: 1000, maxMs: 30_000, multiplier: 2, resetMs: 30_000 };

export interface PoolOptions {
  count: number;
  fork(index: number): WorkerHandle;
  /** The init message of worker `index` (built each time: a restarted worker gets it too). */
  init(index: number): WorkerInit;
  clock: Clock;
  log: Log;
  random?: () => number;
  restart?: RestartPolicy;
  /** Every message the pool itself does not handle (scrapes, metrics answers). */
  onMessage?(worker: PoolWorker, msg: unknown): void;
  /** A worker's process exited (before the pool decides on a restart). */
  onExit?(worker: PoolWorker): void;
}

export interface StopResult {
  /** Every worker exited by itself, with code 0 or by the forwarded signal, before the deadline. */
  clean: boolean;
  /** Workers still running at the deadline, ended with SIGKILL. */
  killed: number;
}

class Slot implements PoolWorker {
  handle!: WorkerHandle;
  ready = false;
  readyAt: number | null = null;
  alive = false;
  restart: Timer | null = null;
  constructor(
    readonly index: number,
    readonly backoff: Backoff,
  ) {}
}

export class WorkerPool {
  readonly #o: PoolOptions;
  readonly #slots: Slot[] = [];
  #stopping: NodeJS.Signals | null = null;
  #started = false;
  #start: { resolve(): void; reject(err: Error): void } | null = null;
  #waiters: (() => void)[] = [];
  #unclean = 0;

  constructor(opts: PoolOptions) {
    this.#o = opts;
    const policy = opts.restart ?? RESTART_POLICY;
    for (let i = 1; i <= opts.count; i++) this.#slots.push(new Slot(i, new Backoff(policy, opts.random)));
  }

  /** The workers whose relay is up (the ones a scrape asks). */
  ready(): PoolWorker[] {
    return this.#slots.filter((s) => s.alive && s.ready);
  }

  /**
   * Forks every worker; resolves once each has said it is ready. A worker that exits before that
   * rejects it (a port in use, a bad config reaches every worker alike: no restart loop at start),
   * and so does a stop that begins first. Either way the caller then calls {@link stop}.
   */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#start = { resolve, reject };
      for (const slot of this.#slots) this.#fork(slot);
    });
  }

  /**
   * Forwards `signal` to every live worker, cancels pending restarts, and waits until every
   * worker has exited or `waitMs` has passed; then ends the rest with SIGKILL (whose exit follows
   * at once: the kernel does not wait for a process to agree). Idempotent in effect: a second call
   * forwards nothing more and waits for the same exits.
   */
  async stop(signal: NodeJS.Signals, waitMs: number): Promise<StopResult> {
    const first = this.#stopping === null;
    this.#stopping ??= signal;
    if (first) {
      this.#start?.reject(new Error(`stopped by ${signal} before every worker was ready`));
      this.#start = null;
      for (const slot of this.#slots) {
        slot.restart?.cancel();
        slot.restart = null;
        if (slot.alive) slot.handle.kill(signal);
      }
    }
    const gone = this.#gone();
    let timer: Timer | null = null;
    const late = new Promise<boolean>((resolve) => (timer = this.#o.clock.setTimeout(() => resolve(false), waitMs)));
    const inTime = await Promise.race([gone.then(() => true), late]);
    (timer as Timer | null)?.cancel();
    let killed = 0;
    if (!inTime) {
      for (const slot of this.#slots) {
        if (!slot.alive) continue;
        killed++;
        this.#o.log.warn('worker still running at the grace deadline: killing it', { worker: slot.index, pid: slot.handle.pid });
        slot.handle.kill('SIGKILL');
      }
      await gone;
    }
    return { clean: inTime && this.#unclean === 0, killed };
  }

  /** Sends `msg` to every live worker (started or starting); returns how many it reached. */
  broadcast(msg: ToWorker): number {
    let sent = 0;
    for (const slot of this.#slots) if (slot.alive && slot.handle.send(msg)) sent++;
    return sent;
  }

  /** Ends every live worker with SIGKILL at once (the primary's last resort before it exits). */
  killAll(): void {
    for (const slot of this.#slots) if (slot.alive) slot.handle.kill('SIGKILL');
  }

  #gone(): Promise<void> {
    if (this.#slots.every((s) => !s.alive)) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #fork(slot: Slot): void {
    slot.restart = null;
    if (this.#stopping) return;
    const handle = this.#o.fork(slot.index);
    slot.handle = handle;
    slot.alive = true;
    slot.ready = false;
    slot.readyAt = null;
    this.#o.log.info('worker started', { worker: slot.index, pid: handle.pid });
    handle.onMessage((msg) => this.#message(slot, handle, msg));
    handle.onExit((code, signal) => this.#exited(slot, handle, code, signal));
  }

  #message(slot: Slot, handle: WorkerHandle, msg: unknown): void {
    if (slot.handle !== handle) return;
    if (is.hello(msg)) {
      handle.send(this.#o.init(slot.index));
    } else if (is.ready(msg)) {
      slot.ready = true;
      slot.readyAt = this.#o.clock.now();
      this.#o.log.info('worker ready', { worker: slot.index, pid: handle.pid, workerNode: msg.node });
      if (!this.#started && this.#slots.every((s) => s.ready)) {
        this.#started = true;
        this.#start?.resolve();
        this.#start = null;
      }
    } else {
      this.#o.onMessage?.(slot, msg);
    }
  }

  #exited(slot: Slot, handle: WorkerHandle, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.handle !== handle || !slot.alive) return;
    slot.alive = false;
    this.#o.onExit?.(slot);
    const fields = { worker: slot.index, pid: handle.pid, code, signal };
    if (this.#stopping) {
      if (code !== 0 && signal !== this.#stopping) this.#unclean++;
      this.#o.log.info('worker exited', fields);
      if (this.#slots.every((s) => !s.alive)) for (const wake of this.#waiters.splice(0)) wake();
      return;
    }
    if (!this.#started) {
      this.#o.log.error('worker exited before it was ready', fields);
      this.#start?.reject(new Error(`worker ${slot.index} exited (${signal ?? `code ${code}`}) before it was ready`));
      this.#start = null;
      return;
    }
    if (slot.readyAt !== null && this.#o.clock.now() - slot.readyAt >= (this.#o.restart ?? RESTART_POLICY).resetMs) slot.backoff.reset();
    const delay = slot.backoff.next();
    this.#o.log.warn('worker exited unexpectedly: restarting it', { ...fields, restartInMs: delay });
    slot.restart = this.#o.clock.setTimeout(() => this.#fork(slot), delay);
  }
}
