/**
 * What every protocol simulator shares, so each adapter's simulator files hold only its protocol:
 * starting on a {@link WebHost} with the config's defaults applied, closing once, one socket with
 * its timer, and the timers of a simulated server. Simulators reach this through
 * src/simulator-kit.ts; sans-I/O adapter files never load it.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Clock, Timer } from './clock.ts';
import type { Simulator, SimulatorContext, SimulatorEndpoint } from './contracts.ts';
import type { ConnectionHooks, HostConnection } from './downstream/hosted-socket.ts';
import { WebHost } from './downstream/web-host.ts';

/** A simulator's start: its context, its config with the defaults applied, its listening host. */
export interface SimulatorStart<C> {
  readonly ctx: SimulatorContext<C>;
  readonly config: C;
  readonly web: WebHost;
  readonly url: string;
}

/**
 * Applies `schema`'s defaults to the context's config (the core hands a frozen, already-defaulted
 * config; a test may hand a partial one) and listens on `host:port` (0 picks a free port).
 */
export async function listenSimulator<S extends TSchema>(
  schema: S,
  ctx: SimulatorContext<Static<S>>,
  host: string,
  port: number,
  maxPayloadBytes = 1024 * 1024,
): Promise<SimulatorStart<Static<S>>> {
  const config = Value.Default(schema, structuredClone(ctx.config ?? {})) as Static<S>;
  const web = new WebHost({ maxPayloadBytes });
  const { url } = await web.listen(host, port);
  return { ctx, config, web, url };
}

/** A simulator on its own {@link WebHost}: the endpoint it offers, and a close that runs once. */
export abstract class HostedSimulator<C> implements Simulator {
  readonly endpoint: SimulatorEndpoint;
  protected readonly ctx: SimulatorContext<C>;
  protected readonly config: C;
  protected readonly web: WebHost;
  #closed: Promise<void> | null = null;

  protected constructor(start: SimulatorStart<C>, credentials: Readonly<Record<string, string>>) {
    this.ctx = start.ctx;
    this.config = start.config;
    this.web = start.web;
    this.endpoint = { url: start.url, credentials };
  }

  /** Cancels every timer, drops every socket and stops the server. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.shutdown();
      await this.web.close();
    })();
    return this.#closed;
  }

  /** Cancels the simulator's own timers and sockets; called once, before the server stops. */
  protected abstract shutdown(): void;
}

/** One client socket of a simulator: sends stop once it closed, and its one timer stops with it. */
export abstract class SimulatorSocket {
  protected readonly conn: HostConnection;
  #timer: Timer | null = null;
  #closed = false;

  constructor(conn: HostConnection) {
    this.conn = conn;
  }

  /** One text frame from the client. */
  abstract onMessage(text: string): void;

  /** A pong arrived (nothing to do unless the protocol keeps a keep-alive). */
  onPong(): void {}

  /**
   * The host's hooks for this socket while it is one of `open`: frames and pongs go to the socket;
   * on close it is disposed and leaves `open`.
   */
  hooks(open: { delete(socket: SimulatorSocket): unknown }): ConnectionHooks {
    return {
      onMessage: (text) => this.onMessage(text),
      onPong: () => this.onPong(),
      onClose: () => {
        this.dispose();
        open.delete(this);
      },
    };
  }

  /** True once the socket was closed, terminated or disposed. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Runs `tick` every `ms` until the socket is disposed (the socket's one timer). */
  protected every(clock: Clock, ms: number, tick: () => void): void {
    this.#timer = clock.setInterval(tick, ms);
  }

  /** Sends a text frame, unless the socket closed. */
  protected sendText(text: string): void {
    if (!this.#closed) this.conn.send(text);
  }

  close(code: number, reason: string): void {
    this.dispose();
    this.conn.close(code, reason);
  }

  /** Drops the connection without a close frame. */
  terminate(): void {
    this.dispose();
    this.conn.terminate();
  }

  /** Stops sending and cancels the timer; called when the socket closed. Idempotent. */
  dispose(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
  }
}

/** The timers of one simulated server: at most one pending transition, and the loops that run while it is up. */
export class ServerTimers {
  readonly #clock: Clock;
  #transition: Timer | null = null;
  #loops: Timer[] = [];

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Runs `then` in `ms` as the pending transition (cleared before `then` runs). */
  after(ms: number, then: () => void): void {
    this.#transition = this.#clock.setTimeout(() => {
      this.#transition = null;
      then();
    }, ms);
  }

  cancelTransition(): void {
    this.#transition?.cancel();
    this.#transition = null;
  }

  /** Runs `tick` every `ms` until {@link stopLoops}; 0 starts nothing. */
  loop(ms: number, tick: () => void): void {
    if (ms > 0) this.#loops.push(this.#clock.setInterval(tick, ms));
  }

  stopLoops(): void {
    for (const t of this.#loops) t.cancel();
    this.#loops = [];
  }

  /** Cancels every timer; the server is gone afterwards. Idempotent. */
  close(): void {
    this.cancelTransition();
    this.stopLoops();
  }
}

/** A clock time as the `HH:MM:SS` of a game server's log line. */
export function logStamp(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
