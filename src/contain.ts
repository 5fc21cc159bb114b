/**
 * Containment: an error that escapes a handler (a request, an upgrade, a frame, a timer, or the
 * process's last resort) ends at most the one connection it belongs to. It is logged without
 * secrets and counted in `bridge_handler_errors_total{where}`; the relay goes on.
 */
import type { Log } from './contracts.ts';
import type { HandlerSite, Metrics } from './metrics.ts';

/** Reports one contained error; never throws. */
export type ErrorReport = (where: HandlerSite, err: unknown) => void;

/**
 * Long runs of token characters (each part of a JWT, API keys, tickets, session ids) in an error
 * message are cut out: a message may quote its input, and the input may be a credential. `/` and
 * `.` end a run, so file paths and host names in a message stay readable.
 */
const SECRET_LIKE = /[A-Za-z0-9+_=-]{24,}/g;

/** What of an error may be logged: its class, its code, and its message with credentials cut out. */
export function describeError(err: unknown): { name: string; code?: string; message: string } {
  if (!(err instanceof Error)) return { name: typeof err, message: '' };
  const code = (err as { code?: unknown }).code;
  return {
    name: err.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: err.message.slice(0, 300).replace(SECRET_LIKE, '[redacted]'),
  };
}

/** The relay's reporter: one error log line and one count per contained error. */
export function errorReporter(log: Log, metrics: Metrics): ErrorReport {
  return (where, err) => {
    try {
      metrics.handlerErrors.inc({ where });
      log.error('contained a handler error', { where, error: describeError(err) });
    } catch {
      // Reporting must not become the next escaping error.
    }
  };
}

/**
 * The last line: a rejection nobody awaited or an exception nobody caught is reported as
 * `process` and the relay keeps serving, instead of Node ending every dashboard's session with it.
 * (Each of these is a bug to fix where it came from; the counter makes them visible.)
 */
export function installProcessGuards(proc: Pick<NodeJS.EventEmitter, 'on'>, report: ErrorReport): void {
  proc.on('unhandledRejection', (reason: unknown) => report('process', reason));
  proc.on('uncaughtException', (err: unknown) => report('process', err));
}
