/**
 * The last line of the self-fence: timers cannot fence a process whose event loop is stalled (a
 * long GC pause, a runaway handler, swap), and a stalled owner would keep its upstream socket past
 * its lease. So a worker thread, which keeps running while the main loop does not, watches one
 * number in shared memory: the monotonic time by which the main thread must have dropped the
 * links it owns (its earliest fence deadline plus a grace, see lease-timing.ts), or 0 while it
 * owns none. Once that time has passed, the worker ends the process with SIGKILL: a dead process
 * holds no socket, since the kernel closes them.
 *
 * The main thread keeps the number current (on every change of ownership, and every few hundred
 * milliseconds as renewals move the deadlines on); a stalled main thread therefore leaves a
 * deadline behind that the worker acts on. Used only with the NATS coordinator.
 */
import { Worker } from 'node:worker_threads';

/** Monotonic milliseconds, the same clock in every thread of the process. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

// Plain JavaScript, evaluated in the worker without the TypeScript loader. It writes its one line
// with writeSync: the worker's process.stderr goes through the (stalled) main thread.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const slot = new BigInt64Array(workerData.buffer);
setInterval(() => {
  const deadline = Atomics.load(slot, 0);
  if (deadline === 0n) return;
  const now = process.hrtime.bigint() / 1000000n;
  if (now <= deadline) return;
  try {
    writeSync(2, JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: 'event loop stalled past a lease fence deadline: killing the process so that its upstream sockets close', node: workerData.node, lateMs: Number(now - deadline) }) + '\\n');
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}, workerData.checkMs);
`;

export interface Watchdog {
  /** Monotonic ms (see {@link monotonicMs}) after which the process is killed; 0 disarms. */
  arm(deadlineMs: number): void;
  /** Ends the worker. Idempotent. */
  stop(): Promise<void>;
}

export function startWatchdog(o: { checkMs: number; node: string }): Watchdog {
  const buffer = new SharedArrayBuffer(8);
  const slot = new BigInt64Array(buffer);
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { buffer, checkMs: o.checkMs, node: o.node },
    // Not the parent's --import tsx: the worker is plain JavaScript and must start fast.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  // The process must be able to exit while the watchdog runs.
  worker.unref();
  worker.on('error', () => {});
  let stopped: Promise<void> | null = null;
  return {
    arm(deadlineMs: number): void {
      Atomics.store(slot, 0, BigInt(Math.max(0, Math.ceil(deadlineMs))));
    },
    stop(): Promise<void> {
      Atomics.store(slot, 0, 0n);
      stopped ??= worker.terminate().then(() => {});
      return stopped;
    },
  };
}
