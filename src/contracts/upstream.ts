/**
 * The upstream role: the relay as a client of a real server. One {@link LinkHooks} state machine
 * per link, driven by the core's link runner through {@link LinkIO}.
 */
import type { Clock } from '../clock.ts';
import type { BridgeCommand, CommandReply } from '../events.ts';
import type { CloseErrorCode } from '../errors.ts';
import type { PassThrough } from '../auth/types.ts';
import type { HttpCall, HttpResult } from './http.ts';
import type { Log, Telemetry } from './shared.ts';
import type { SimulatorEndpoint } from './simulator.ts';

/** One socket the relay holds for one upstream resource (one Wings server, one room, one bot). */
export interface LinkSpec {
  /** Resource family: `server`, `room`, `bot`, … (the subject's resource token). */
  readonly resource: string;
  /** The resource id (server uuid, room id, …). */
  readonly id: string;
}

/** Where and how to open the socket. */
export interface ConnectTarget {
  url: string;
  headers?: Record<string, string>;
}

/** How the supervisor should react to a closed socket or a failed attempt. */
export interface LinkVerdict {
  /** True: stop retrying (the link state becomes `failed`). */
  terminal: boolean;
  reason: string;
  /**
   * For a terminal verdict: the row of the error table that says why in words every dialect can
   * use (e.g. `BRIDGE_ERR_SUSPENDED` for a Wings 4409). It travels in the link's `upstream.state`
   * event, so each listener tells its dashboards in its own words (a Wings listener closes with
   * that row's code). Absent: the dialects use their generic answer for a link gone for good.
   */
  code?: CloseErrorCode;
}

/** Thrown (rejected) from {@link LinkHooks.prepare} to fail an attempt without opening a socket. */
export class LinkFailure extends Error {
  readonly terminal: boolean;
  constructor(reason: string, terminal = false, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'LinkFailure';
    this.terminal = terminal;
  }
}

/** What a link may do. Valid from `link()` until `dispose()`. */
export interface LinkIO {
  readonly spec: LinkSpec;
  readonly clock: Clock;
  readonly log: Log;
  readonly telemetry: Telemetry;
  /** Performs an HTTP call through the core. Rejects only on network errors or timeouts. */
  http(call: HttpCall): Promise<HttpResult>;
  /** Sends a text frame on the open socket; dropped (and logged) when no socket is open. */
  send(text: string): void;
  /**
   * Closes the current socket with a row of the error table. The link does not wait for the peer:
   * right after the calling handler returns, `onClose` is asked (with the code and reason sent)
   * whether to retry, and nothing more of that socket reaches the hooks; the socket is terminated
   * after a short grace. Ignored when no socket is open or connecting.
   */
  close(code: CloseErrorCode, detail?: string): void;
  /**
   * Publishes an event of `type` about `id` (default: the link's own id) from this upstream.
   * `hop` is the event's hop count (default 0); a relay republishing another relay's event passes
   * the incoming `bridgehop + 1`, so a loop of chained relays ends at the hop limit.
   */
  publish(type: string, data: unknown, id?: string, hop?: number): void;
  /**
   * Marks the link authenticated and live (state `ready`). The reconnect backoff starts over once
   * the link has stayed ready for `limits.backoffResetMs`. Ignored without an open socket.
   */
  ready(): void;
  /** What downstream sessions currently want from this upstream: resource family → ids. */
  interest(): ReadonlyMap<string, ReadonlySet<string>>;
}

/** The adapter's state machine for one link. The supervisor calls these in this order per attempt:
 *  `prepare` → (socket opens) `onOpen` → `onMessage`* → `onClose`, then backs off and repeats,
 *  unless `onClose` (or a rejected `prepare`) says terminal. `onCommand` may come at any time. */
export interface LinkHooks {
  /** Resolves where to connect (may fetch a token through `io.http`). Rejects with LinkFailure. */
  prepare(): Promise<ConnectTarget>;
  /** The socket is open. Send the auth frame here. */
  onOpen(): void;
  /** One text frame from the upstream. Never throws. */
  onMessage(text: string): void;
  /** The socket closed (`httpStatus` set when the upgrade itself was refused). */
  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict;
  /** A command for this resource, already permission-checked downstream. */
  onCommand(command: BridgeCommand): CommandReply | Promise<CommandReply>;
  /** The link is being removed: cancel timers. Idempotent. */
  dispose(): void;
  /** Downstream interest in this upstream changed (see SessionIO.declareInterest); optional. */
  onInterest?(interest: ReadonlyMap<string, ReadonlySet<string>>): void;
}

export interface UpstreamContext<C> {
  /** The upstream's validated, frozen config with secrets resolved. */
  readonly config: C;
  readonly node: string;
  readonly clock: Clock;
  readonly log: Log;
  /** Set when the config names a built-in simulator. */
  readonly simulator?: SimulatorEndpoint;
}

export interface UpstreamRole {
  /** The links to hold, fixed for the life of the role. */
  links(): readonly LinkSpec[];
  /**
   * Resources this upstream serves besides its links, for listeners to find (e.g. the servers
   * of a Semoxy panel, all carried by one socket). Commands for them go to the upstream's only link.
   */
  resources?(): readonly LinkSpec[];
  /** Creates the state machine of one link. */
  link(spec: LinkSpec, io: LinkIO): LinkHooks;
  /** How to check a dashboard's own credential with this upstream (config `auth.panel`), if it can. */
  readonly passThrough?: PassThrough;
}
