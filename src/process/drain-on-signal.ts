/**
 * SIGTERM/SIGINT drain a relay (see Relay.stop) and end its process within http.shutdownGraceMs.
 * Used by the single process and by each worker of `--workers N`.
 */
import type { Relay } from '../relay.ts';

/**
 * A signal this soon after the first one is the same Ctrl-C, not a second one: a terminal sends
 * SIGINT to its whole foreground process group, so under `npx bridge` (bin/bridge.mjs, which
 * forwards every signal to its child, as `kill <launcher pid>` needs) the relay gets the terminal's
 * signal and the launcher's copy of it a moment apart. Without this window that pair read as
 * "pressed twice" and skipped the drain.
 */
export const REPEAT_WINDOW_MS = 1000;

/**
 * Classifies each SIGTERM/SIGINT of a process: the `first`, an `echo` of it (within
 * {@link REPEAT_WINDOW_MS}), or a signal `again` (a user pressing Ctrl-C a second time).
 */
export function signalRepeats(now: () => number = Date.now): () => 'first' | 'echo' | 'again' {
  let first: number | null = null;
  return () => {
    const t = now();
    if (first === null) {
      first = t;
      return 'first';
    }
    return t - first < REPEAT_WINDOW_MS ? 'echo' : 'again';
  };
}

/** Of the grace, what is left for the process to exit after the relay stopped. */
export const EXIT_MARGIN_MS = 200;

/** The relay's share of a grace: a little less, so the process still exits inside it. */
export function relayGrace(graceMs: number): number {
  return graceMs - Math.min(EXIT_MARGIN_MS, Math.floor(graceMs / 10));
}

export interface DrainOptions {
  /**
   * A second signal during the drain (not an echo of the first: {@link REPEAT_WINDOW_MS}): `exit`
   * ends the process at once (a user pressing Ctrl-C twice); `ignore` lets the drain go on. A
   * worker ignores it: a terminal's Ctrl-C reaches the whole process group and the primary
   * forwards it as well, so every worker gets it twice, and the primary already bounds the
   * workers' exit (it SIGKILLs one still running at the deadline).
   */
  repeat: 'exit' | 'ignore';
}

export function drainOnSignal(relay: Relay, opts: DrainOptions): void {
  const proc = process;
  const repeats = signalRepeats();
  const onSignal = (signal: NodeJS.Signals) => {
    const seen = repeats();
    if (seen !== 'first') {
      if (seen === 'again' && opts.repeat === 'exit') proc.exit(130);
      return;
    }
    relay.log.info('signal received, draining', { signal });
    // The grace is the bound on the whole exit: the relay stops a little inside it (each of its
    // steps is abandoned at its deadline), and should anything still hang, this ends the process.
    const grace = relay.config.http.shutdownGraceMs;
    const hard = setTimeout(() => proc.exit(1), grace);
    hard.unref();
    relay.stop(relayGrace(grace)).then(
      () => proc.exit(0),
      (err) => {
        relay.log.error('drain failed', { err: err as Error });
        proc.exit(1);
      },
    );
  };
  proc.on('SIGTERM', onSignal);
  proc.on('SIGINT', onSignal);
}
