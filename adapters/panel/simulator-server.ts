/**
 * One simulated Minecraft server behind the Semoxy simulator: its `onlineStatus` machine, its
 * console output and the console/stats loops that run while it is online. It knows nothing of
 * sockets or wire versions; what it has to say goes through {@link SimServerHooks}, and the
 * simulator writes the packets. All time comes from the injected clock.
 *
 * Semoxy's own order is kept: a start is status 1; the server goes to 2 when its "Done" line is
 * read (the status change is broadcast before that line); a stop is 3, then 0 when the process ends.
 */
import { ServerTimers, keepLast, logStamp, type Clock } from '../../src/simulator-kit.ts';

export interface SimServerOptions {
  id: string;
  name: string;
  onlineStatus: number;
  port: number;
  consoleIntervalMs: number;
  statsIntervalMs: number;
  /** Time in status 1 before the "Done" line; 0 stays starting until told otherwise. */
  startupMs: number;
  /** Time in status 3 before status 0; 0 stays stopping until told otherwise. */
  stopMs: number;
  /** Extra fields of the server object (from `addServer`). */
  extra?: Record<string, unknown>;
}

/** What a server reports; the simulator turns each into packets per socket version. */
export interface SimServerHooks {
  status(id: string, onlineStatus: number): void;
  console(id: string, line: string): void;
  stats(id: string, ramKb: number, cpuPercent: number): void;
}

/** Semoxy keeps the whole output of a run for `consoleOut`; the simulator keeps the tail. */
const OUTPUT_LINES = 150;

const CHATTER: readonly ((n: number) => string)[] = [
  (n) => `Player${n % 5} joined the game`,
  (n) => `<Player${(n + 2) % 5}> hi #${n}`,
  (n) => `Saving chunks for level 'ServerLevel[world]'/minecraft:overworld (autosave ${n})`,
  (n) => `Player${(n + 3) % 5} left the game`,
];

export class SimServer {
  readonly id: string;
  readonly #opts: SimServerOptions;
  readonly #clock: Clock;
  readonly #hooks: SimServerHooks;
  readonly #output: string[] = [];
  readonly #timers: ServerTimers;
  #status: number;
  #ticks = 0;

  constructor(opts: SimServerOptions, clock: Clock, hooks: SimServerHooks) {
    this.#opts = opts;
    this.#clock = clock;
    this.#hooks = hooks;
    this.#timers = new ServerTimers(clock);
    this.id = opts.id;
    this.#status = 0;
    // Entering the configured status quietly arms the timers a real transition would.
    this.#enter(opts.onlineStatus, false);
  }

  get onlineStatus(): number {
    return this.#status;
  }

  /** Jumps to `status` (0–3) and announces it; 1 and 3 then finish on their timers. */
  setOnline(status: number): void {
    this.#timers.cancelTransition();
    this.#enter(status, true);
  }

  /** A line of console output: kept for `consoleOut` and broadcast. */
  console(line: string): void {
    keepLast(this.#output, line, OUTPUT_LINES);
    this.#hooks.console(this.id, line);
  }

  /** The server object as Semoxy's `MinecraftServer.json()` writes it. */
  json(): Record<string, unknown> {
    const { id, name, port } = this.#opts;
    return {
      id,
      name,
      displayName: name,
      allocatedRAM: 2,
      dataDir: `servers/${name.toLowerCase()}`,
      jarFile: 'server.jar',
      onlineStatus: this.#status,
      software: { server: 'paper', majorVersion: '1.16', minorVersion: '1.16.5', minecraftVersion: '1.16.5' },
      port,
      addons: [],
      javaVersion: 'default',
      supports: { mods: false, plugins: true },
      consoleOut: [...this.#output],
      description: null,
      ...this.#opts.extra,
    };
  }

  /** Cancels every timer; the server is gone afterwards. Idempotent. */
  close(): void {
    this.#timers.close();
  }

  #enter(status: number, announce: boolean): void {
    this.#status = status;
    this.#timers.stopLoops();
    if (status === 1) {
      // A start clears the output (Semoxy resets `output` and tells clients `consoleOut: []`).
      this.#output.length = 0;
      if (announce) this.#hooks.status(this.id, 1);
      if (this.#opts.startupMs > 0) this.#timers.after(this.#opts.startupMs, () => this.#done());
      return;
    }
    if (announce) this.#hooks.status(this.id, status);
    if (status === 2) this.#startLoops();
    if (status === 3 && this.#opts.stopMs > 0) this.#timers.after(this.#opts.stopMs, () => this.#enter(0, true));
  }

  /** The "Done" line: Semoxy matches it while starting, sets status 2, then broadcasts the line. */
  #done(): void {
    this.#enter(2, true);
    this.console(`[${logStamp(this.#clock.now())} INFO]: Done (${(this.#opts.startupMs / 1000).toFixed(3)}s)! For help, type "help"`);
  }

  #startLoops(): void {
    const { consoleIntervalMs, statsIntervalMs } = this.#opts;
    this.#timers.loop(consoleIntervalMs, () => {
      this.#ticks += 1;
      this.console(`[${logStamp(this.#clock.now())} INFO]: ${CHATTER[this.#ticks % CHATTER.length]!(this.#ticks)}`);
    });
    this.#timers.loop(statsIntervalMs, () => {
      this.#ticks += 1;
      // Plausible figures: ~1 GB resident (kB, as Semoxy reports rss / 1000), a few % of the machine.
      this.#hooks.stats(this.id, 950_000 + ((this.#ticks * 7919) % 200_000), Math.round((2 + ((this.#ticks * 37) % 1500) / 100) * 100) / 100);
    });
  }
}
