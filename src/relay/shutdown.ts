/**
 * The relay's graceful stop, in the order a drain needs, bounded by one deadline: the sessions
 * and the links first (the leases released at once, so another node takes the links over while
 * this one still drains), then the bus, the port and the simulators.
 */
import type { Clock, Timer } from '../clock.ts';
import type { Bus } from '../bus/bus.ts';
import type { Coordinator } from '../cluster/coordinator.ts';
import type { Log, Simulator } from '../contracts.ts';
import type { DownstreamServer } from '../downstream/server.ts';
import type { ThrottledLog } from '../throttled-log.ts';
import type { Supervisor } from '../upstream/supervisor.ts';

export interface StopParts {
  clock: Clock;
  log: Log;
  server: DownstreamServer;
  supervisor: Supervisor;
  coordinator: Coordinator;
  bus: Bus;
  /** False for a start that failed on the port: it never started the bus, so its teardown leaves it alone. */
  busStarted(): boolean;
  simulators: ReadonlyMap<string, Simulator>;
  notes: ThrottledLog;
}

/** Of a stop's grace, the part kept for links, bus, port and simulators after the sessions' drain. */
const STOP_RESERVE_MS = 1000;
/** How long closing the bus may take once its drain was cut short at the deadline (a socket close). */
const BUS_CLOSE_MS = 250;

/**
 * Stops everything within `graceMs` on the relay's clock: the sessions get the grace less a
 * reserve for the steps after them, and any step still running at the deadline is abandoned
 * (logged). `logged` false for the teardown of a start that failed.
 */
export async function stopRelay(p: StopParts, graceMs: number, logged: boolean): Promise<void> {
  const deadline = p.clock.now() + graceMs;
  const step = (name: string, run: () => Promise<unknown>, until = deadline) => shutdownStep(p.clock, p.log, name, run, until);
  if (logged) p.log.info('relay draining', { sessions: p.server.sessionCount });
  // Before the links close: the other nodes then spread them among themselves as they go.
  void p.coordinator.leave();
  const sessionsMs = Math.max(0, graceMs - Math.min(STOP_RESERVE_MS, Math.floor(graceMs / 5)));
  await Promise.all([step('sessions', () => p.server.drain(sessionsMs)), step('links', () => p.supervisor.stop())]);
  await step('leases', () => p.coordinator.stop());
  if (p.busStarted() && !(await step('bus', () => p.bus.drain()))) {
    // A drain cut short (no server to flush to) would keep the client reconnecting forever.
    await step('bus close', () => p.bus.close(), p.clock.now() + BUS_CLOSE_MS);
  }
  await step('port', () => p.server.close());
  await step('simulators', () => Promise.all([...p.simulators.values()].map((s) => s.close())));
  p.notes.close();
  if (logged) p.log.info('relay stopped');
}

/**
 * Runs one shutdown step, waiting for it at most until `deadline` (relay clock). A step is
 * always started, even past the deadline: its synchronous part (terminating sockets, closing the
 * listener) is what makes the exit clean; only the waiting is cut short.
 */
async function shutdownStep(clock: Clock, log: Log, step: string, run: () => Promise<unknown>, deadline: number): Promise<boolean> {
  let work: Promise<unknown>;
  try {
    work = run();
  } catch (err) {
    work = Promise.reject(err);
  }
  const finished = work.then(
    () => true,
    (err: unknown) => {
      log.warn('shutdown step failed', { step, err: err as Error });
      return true;
    },
  );
  const left = deadline - clock.now();
  let timer: Timer | null = null;
  const late = left <= 0 ? Promise.resolve(false) : new Promise<boolean>((resolve) => (timer = clock.setTimeout(() => resolve(false), left)));
  const done = await Promise.race([finished, late]);
  (timer as Timer | null)?.cancel();
  if (!done) log.warn('shutdown step abandoned at the grace deadline', { step });
  return done;
}
