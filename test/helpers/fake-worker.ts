/**
 * A worker process as the pool sees it (src/process/pool.ts), without a process: records what the
 * primary sends and which signals it gets; the test makes it speak and exit.
 */
import type { Log } from '../../src/contracts.ts';
import type { ToPrimary, ToWorker } from '../../src/process/messages.ts';
import type { WorkerHandle } from '../../src/process/pool.ts';

let nextPid = 1000;

export class FakeWorker implements WorkerHandle {
  readonly pid = nextPid++;
  readonly sent: ToWorker[] = [];
  readonly signals: NodeJS.Signals[] = [];
  connected = true;
  /** Called with every message the primary sends (e.g. to answer a collection). */
  onSend: ((msg: ToWorker) => void) | null = null;
  /** Called with every signal (e.g. to exit on SIGTERM). */
  onKill: ((signal: NodeJS.Signals) => void) | null = null;
  #message: ((msg: unknown) => void) | null = null;
  #exit: ((code: number | null, signal: NodeJS.Signals | null) => void) | null = null;

  send(msg: ToWorker): boolean {
    if (!this.connected) return false;
    this.sent.push(msg);
    this.onSend?.(msg);
    return true;
  }

  kill(signal: NodeJS.Signals): void {
    this.signals.push(signal);
    this.onKill?.(signal);
  }

  onMessage(fn: (msg: unknown) => void): void {
    this.#message = fn;
  }

  onExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void {
    this.#exit = fn;
  }

  /** The worker sends `msg` to the primary. */
  say(msg: ToPrimary | Record<string, unknown>): void {
    this.#message?.(msg);
  }

  /** Hello, then ready: what a worker whose relay started says. */
  boot(node = `n-w${this.pid}`): void {
    this.say({ type: 'bridge:hello' });
    this.say({ type: 'bridge:ready', node, url: 'http://127.0.0.1:1' });
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.connected = false;
    const fn = this.#exit;
    this.#exit = null;
    fn?.(code, signal);
  }
}

/** A Log that keeps every line, for assertions on what was logged. */
export function memoryLog(): Log & { lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push({ level, msg, ...(fields ? { fields } : {}) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
