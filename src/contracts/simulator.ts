/**
 * A protocol's simulator: a real server for tests and demos, and what it offers the upstreams
 * configured with `simulator: <name>`.
 */
import type { Clock } from '../clock.ts';
import type { Log } from './shared.ts';

/** What a running simulator offers an upstream configured with `simulator: <name>`. */
export interface SimulatorEndpoint {
  /** Base URL (http://host:port) of the simulator. */
  readonly url: string;
  /** Credentials the simulator accepts (e.g. `apiKey`). */
  readonly credentials: Readonly<Record<string, string>>;
}

export interface Simulator {
  readonly endpoint: SimulatorEndpoint;
  close(): Promise<void>;
}

export interface SimulatorContext<C> {
  readonly config: C;
  readonly clock: Clock;
  readonly log: Log;
}
