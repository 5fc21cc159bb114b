/**
 * The NATS bus's first connection. The nats client reconnects forever once it has been connected,
 * but its first `connect()` fails at once when no server answers; a relay that exited then would
 * turn a NATS maintenance window into a crash loop. So the first connection is retried here, with
 * growing delays on the injected clock, and every failure is kept (without credentials) for
 * /readyz until one attempt succeeds.
 * One of the src/bus/nats*.ts files: the only files that import the `nats` package.
 */
import { connect } from 'nats';
import type { ConnectionOptions, NatsConnection } from 'nats';
import type { Clock, Timer } from '../clock.ts';

/** Delay before the second attempt; doubled per failure up to {@link MAX_RETRY_MS}. */
export const FIRST_RETRY_MS = 250;
/** A NATS server that comes back is found within this long. */
export const MAX_RETRY_MS = 5000;

/**
 * The text of a connection error fit for logs and /readyz: its code and cause, with any URL's
 * user info and every configured secret removed.
 */
export function describeConnectError(err: unknown, secrets: readonly string[]): string {
  const e = err as { code?: unknown; message?: unknown; chainedError?: { message?: unknown } } | null;
  const parts: string[] = [];
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'string' && !message.includes(e.code)) parts.push(e.code);
  parts.push(message);
  if (typeof e?.chainedError?.message === 'string') parts.push(e.chainedError.message);
  let text = parts.join(': ').replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
  for (const s of secrets) if (s) text = text.split(s).join('***');
  return text;
}

export interface FirstConnectOptions {
  /** Passed to the nats client's `connect()` (servers, name, credentials). */
  connection: ConnectionOptions;
  clock: Clock;
  /** Told of every failed attempt, with {@link describeConnectError}'s text. */
  onAttemptFailed(reason: string): void;
}

/** Retries `connect()` until it succeeds or {@link cancel} is called. */
export class FirstConnect {
  readonly #o: FirstConnectOptions;
  readonly #secrets: string[];
  #cancelled = false;
  #timer: Timer | null = null;
  #wake: (() => void) | null = null;

  constructor(o: FirstConnectOptions) {
    this.#o = o;
    const { token, user, pass } = o.connection;
    this.#secrets = [token, user, pass].filter((s): s is string => typeof s === 'string' && s.length > 0);
  }

  /** Resolves with the connection, or with undefined once cancelled (a late connection is closed). */
  async run(): Promise<NatsConnection | undefined> {
    let delay = FIRST_RETRY_MS;
    while (!this.#cancelled) {
      try {
        const nc = await connect({ ...this.#o.connection, maxReconnectAttempts: -1 });
        if (!this.#cancelled) return nc;
        await nc.close().catch(() => {});
        return undefined;
      } catch (err) {
        if (this.#cancelled) return undefined;
        this.#o.onAttemptFailed(describeConnectError(err, this.#secrets));
      }
      await this.sleep(delay);
      delay = Math.min(MAX_RETRY_MS, delay * 2);
    }
    return undefined;
  }

  /** Waits `ms` on the clock; cut short by {@link cancel}. Also used between stream set-up tries. */
  sleep(ms: number): Promise<void> {
    if (this.#cancelled) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      this.#timer = this.#o.clock.setTimeout(resolve, ms);
    });
  }

  /** Stops retrying; a pending {@link run} resolves undefined. Idempotent. */
  cancel(): void {
    this.#cancelled = true;
    this.#timer?.cancel();
    this.#wake?.();
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }
}
