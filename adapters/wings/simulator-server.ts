/**
 * One simulated game server behind the Wings simulator: the power state machine, the console
 * ring buffer, and the console/stats loops that run while it is up. It knows nothing of sockets;
 * everything it has to say goes through the `emit` callback, which the simulator fans out to the
 * server's sessions. All time comes from the injected clock.
 */
import { ServerTimers, keepLast, logStamp, type Clock, type ServerState, type ServerStatsData } from '../../src/simulator-kit.ts';
import { LOG_LINES, SERVER_EVENTS } from './vocabulary.ts';
import { statsToWire } from './codec.ts';

export interface SimServerOptions {
  uuid: string;
  name: string;
  state: ServerState;
  memoryLimitBytes: number;
  consoleIntervalMs: number;
  statsIntervalMs: number;
  startupMs: number;
  stopMs: number;
}

/** Error texts Wings returns from a power action; shown verbatim only to `admin.websocket.errors`. */
export const POWER_ERRORS = {
  locked: 'another power action is currently being processed for this server, please try again later',
  running: 'server is already running',
  unknown: 'attempting to handle unknown power action',
} as const;

/** A fixed, plausible disk usage per server: Wings reports it even while offline. */
const DISK_BYTES = 1_283_457_024;

/** Filler for the automatic console, so a dashboard shows something that reads like a game. */
const CHATTER: readonly ((n: number) => string)[] = [
  (n) => `Player${n % 7} joined the game`,
  (n) => `Saving the game (autosave #${n})`,
  (n) => `Can't keep up! Is the server overloaded? Running ${2000 + (n % 900)}ms or ${40 + (n % 20)} ticks behind`,
  (n) => `<Player${(n + 3) % 7}> hello world #${n}`,
  (n) => `Player${(n + 5) % 7} left the game`,
];

export class SimServer {
  readonly uuid: string;
  readonly name: string;
  /** Set by `suspend`; the simulator refuses auths and closes sockets with 4409. */
  suspended = false;
  /** Tokens whose `iat` (ms) is before this are denylisted; 0 means none. */
  denyBefore = 0;

  readonly #opts: SimServerOptions;
  readonly #clock: Clock;
  readonly #emit: (event: string, args: readonly string[]) => void;
  readonly #log: string[] = [];
  readonly #timers: ServerTimers;
  #state: ServerState;
  /** True while a stop (or the stop half of a restart) runs: Wings holds its power lock then. */
  #locked = false;
  #upSince: number | null = null;
  #ticks = 0;
  #lines = 0;
  #rx = 0;
  #tx = 0;

  constructor(opts: SimServerOptions, clock: Clock, emit: (event: string, args: readonly string[]) => void) {
    this.#opts = opts;
    this.#clock = clock;
    this.#emit = emit;
    this.#timers = new ServerTimers(clock);
    this.uuid = opts.uuid;
    this.name = opts.name;
    this.#state = 'offline';
    // Entering the configured state quietly (nobody is connected yet) arms the same timers a
    // transition would, so a server configured as `starting` does come up.
    this.#enter(opts.state, false);
  }

  get state(): ServerState {
    return this.#state;
  }

  /**
   * Applies a power action as Wings' `HandlePowerAction` does. Returns the real error text when
   * Wings would answer with a `daemon error`, or null.
   */
  power(action: string): string | null {
    // `kill` bypasses the power lock in Wings; everything else waits for it (here: is refused).
    if (action !== 'kill' && this.#locked) return POWER_ERRORS.locked;
    switch (action) {
      case 'start':
        if (this.#state !== 'offline') return POWER_ERRORS.running;
        this.#beginStart();
        return null;
      case 'stop':
        if (this.#state !== 'offline' && this.#state !== 'stopping') this.#beginStop(false);
        return null;
      case 'restart':
        if (this.#state === 'offline') this.#beginStart();
        else this.#beginStop(true);
        return null;
      case 'kill':
        this.#cancelTransition();
        this.#enter('offline', true);
        return null;
      default:
        return POWER_ERRORS.unknown;
    }
  }

  /** Test control: jumps to `state`; `starting`/`stopping` then finish on the usual timers. */
  setState(state: ServerState): void {
    this.#cancelTransition();
    this.#enter(state, true);
  }

  /** Records a console line and broadcasts it. */
  console(line: string): void {
    // A ring of exactly what `send logs` can return keeps memory bounded on long demo runs.
    keepLast(this.#log, line, LOG_LINES);
    this.#emit(SERVER_EVENTS.consoleOutput, [line]);
  }

  /** The last 150 console lines, oldest first; none while offline (Wings reads no log then). */
  logs(): readonly string[] {
    return this.#state === 'offline' ? [] : [...this.#log];
  }

  /** Current resource usage; zeros but `diskBytes` while offline. */
  stats(): ServerStatsData {
    if (this.#state === 'offline' || this.#upSince === null) {
      return {
        memoryBytes: 0,
        memoryLimitBytes: 0,
        cpuAbsolute: 0,
        network: { rxBytes: 0, txBytes: 0 },
        uptimeMs: 0,
        diskBytes: DISK_BYTES,
        state: this.#state,
      };
    }
    const n = this.#ticks;
    const mib = 1024 * 1024;
    return {
      memoryBytes: Math.min(this.#opts.memoryLimitBytes, 320 * mib + ((n * 37) % 200) * mib),
      memoryLimitBytes: this.#opts.memoryLimitBytes,
      cpuAbsolute: Math.round((4 + ((n * 13) % 40) + 0.125 * (n % 8)) * 1000) / 1000,
      network: { rxBytes: this.#rx, txBytes: this.#tx },
      uptimeMs: this.#clock.now() - this.#upSince,
      diskBytes: DISK_BYTES,
      state: this.#state,
    };
  }

  /** Cancels every timer; the server is dead afterwards. Idempotent. */
  close(): void {
    this.#cancelTransition();
    this.#timers.stopLoops();
  }

  #beginStart(): void {
    this.#enter('starting', true);
  }

  #beginStop(thenStart: boolean): void {
    this.#cancelTransition();
    this.#locked = true;
    this.#enter('stopping', true, thenStart);
  }

  #cancelTransition(): void {
    this.#timers.cancelTransition();
    this.#locked = false;
  }

  #enter(state: ServerState, announce: boolean, restartAfterStop = false): void {
    const changed = state !== this.#state;
    this.#state = state;
    // Wings publishes `status` only when the state really changed.
    if (announce && changed) this.#emit(SERVER_EVENTS.status, [state]);
    const stamp = logStamp(this.#clock.now());
    switch (state) {
      case 'starting':
        this.#upSince ??= this.#clock.now();
        if (announce) this.console('[Pterodactyl Daemon]: Updating process configuration files...');
        this.#timers.after(this.#opts.startupMs, () => this.#enter('running', true));
        break;
      case 'running':
        this.#upSince ??= this.#clock.now();
        if (announce) this.console(`[${stamp} INFO]: Done (${(this.#opts.startupMs / 1000).toFixed(3)}s)! For help, type "help"`);
        this.#startLoops();
        break;
      case 'stopping':
        this.#timers.stopLoops();
        if (announce) this.console(`[${stamp} INFO]: Stopping server`);
        this.#timers.after(this.#opts.stopMs, () => {
          this.#locked = false;
          this.#enter('offline', true);
          if (restartAfterStop) this.#beginStart();
        });
        break;
      case 'offline':
        this.#timers.stopLoops();
        this.#upSince = null;
        this.#rx = 0;
        this.#tx = 0;
        // Wings resets usage on offline and publishes it once, so panels drop to zero at once.
        if (announce && changed) this.#emit(SERVER_EVENTS.stats, [statsToWire(this.stats())]);
        break;
    }
  }

  #startLoops(): void {
    this.#timers.stopLoops();
    const { consoleIntervalMs, statsIntervalMs } = this.#opts;
    this.#timers.loop(consoleIntervalMs, () => {
      this.#lines += 1;
      const text = CHATTER[this.#lines % CHATTER.length]!(this.#lines);
      this.console(`[${logStamp(this.#clock.now())} INFO]: ${text}`);
    });
    this.#timers.loop(statsIntervalMs, () => {
      this.#ticks += 1;
      this.#rx += 1200 + ((this.#ticks * 97) % 800);
      this.#tx += 2400 + ((this.#ticks * 61) % 1600);
      this.#emit(SERVER_EVENTS.stats, [statsToWire(this.stats())]);
    });
  }
}
