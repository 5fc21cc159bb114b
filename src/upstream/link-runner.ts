/**
 * Runs one upstream link: owns its socket, drives the adapter's LinkHooks, and keeps the state
 * machine  idle → connecting → authenticating → ready → backoff → connecting …  ending in
 * `failed` (a terminal close: no more retries) or `closed` (stopped). In a cluster the link runs
 * only while this node holds its lease: `fence()` drops it (`standby`/`unowned`) and `start()`
 * takes it up again.
 * Every state change is shown in metrics, and published as an `upstream.state` event under the
 * link's own id (so each link has its own retained last state), with the `owner` (this node),
 * except `standby`/`unowned`: only a link's owner speaks for it on the bus. A terminal verdict's
 * error row travels in the event's `code`, for listeners to tell their dashboards.
 *
 * The socket comes from an injected {@link Connector} and every timer from the injected clock, so
 * the whole state machine runs in unit tests with a fake connector and a ManualClock.
 */
import type { Clock, Timer } from '../clock.ts';
import { LinkFailure, type HttpCall, type HttpResult, type LinkHooks, type LinkIO, type LinkSpec, type LinkVerdict, type Log, type Telemetry, type UpstreamRole } from '../contracts.ts';
import type { UpstreamStateData } from '../event-types.ts';
import { LINK_STATE_TYPE, makeEvent, type BridgeCommand, type CommandReply } from '../events.ts';
import { closeFrame } from '../errors.ts';
import type { Bus } from '../bus/bus.ts';
import type { Subjects } from '../subjects.ts';
import type { LinkState, Metrics } from '../metrics.ts';
import { Backoff, type BackoffPolicy } from './backoff.ts';
import { closeWithin, type Connector, type UpstreamSocket } from './connector.ts';
import { wsConnector } from './ws-connector.ts';

export interface LinkRunnerOptions {
  upstream: string;
  protocol: string;
  node: string;
  spec: LinkSpec;
  role: UpstreamRole;
  bus: Bus;
  subjects: Subjects;
  metrics: Metrics;
  clock: Clock;
  log: Log;
  http(call: HttpCall): Promise<HttpResult>;
  interest(): ReadonlyMap<string, ReadonlySet<string>>;
  backoff: BackoffPolicy;
  /**
   * How long a link must stay `ready` before its backoff starts again from the first delay. An
   * upstream that accepts and drops every socket (or answers auth and then closes) thus still
   * sees growing delays; 0 resets on `ready` itself.
   */
  backoffResetMs: number;
  random?: () => number;
  connectTimeoutMs: number;
  maxPayloadBytes: number;
  /** Opens the sockets; default: real ones through `ws`. */
  connector?: Connector;
}

/**
 * How long a socket the adapter closed may take to finish the close handshake before it is
 * terminated. The link has already moved on (its state, the retry); this only lets a live peer
 * see the close frame, while a stalled one costs at most this long instead of ws's 30 s.
 */
export const CLOSE_GRACE_MS = 1000;
/** How long `stop()` waits for the upstream to answer the 1001 close before terminating. */
export const STOP_GRACE_MS = 2000;

type SocketInfo = { code: number; reason: string; httpStatus?: number };

export class LinkRunner {
  readonly spec: LinkSpec;
  readonly #o: LinkRunnerOptions;
  readonly #connector: Connector;
  readonly #hooks: LinkHooks;
  readonly #backoff: Backoff;
  readonly #telemetry: Telemetry;
  #state: LinkState = 'idle';
  #reason = '';
  /** The current attempt's socket; null while preparing, in backoff, and once given up on. */
  #socket: UpstreamSocket | null = null;
  /** Whether `#socket` is open (sends and `ready` are accepted only then). */
  #open = false;
  #retry: Timer | null = null;
  /** Resets the backoff once the link has stayed ready for `backoffResetMs`. */
  #steady: Timer | null = null;
  /** Sockets given up on that are finishing their close handshake within CLOSE_GRACE_MS. */
  readonly #closing = new Set<UpstreamSocket>();
  #stopping = false;
  #stopped: Promise<void> | null = null;
  /** Bumped per attempt and whenever a socket is given up on, so its callbacks are ignored. */
  #generation = 0;
  #frameAt = 0; // when the frame being handled arrived (performance.now()); 0 outside one

  constructor(o: LinkRunnerOptions) {
    this.#o = o;
    this.spec = o.spec;
    this.#connector = o.connector ?? wsConnector;
    this.#backoff = new Backoff(o.backoff, o.random);
    this.#telemetry = o.metrics.telemetry(o.protocol, 'upstream');
    o.metrics.upstreamLinks.inc({ protocol: o.protocol, upstream: o.upstream, state: 'idle' });
    this.#hooks = o.role.link(o.spec, this.#io());
  }

  get state(): LinkState {
    return this.#state;
  }

  get reason(): string {
    return this.#reason;
  }

  /** Failed attempts since the backoff was last reset (the link stayed ready long enough). */
  get attempts(): number {
    return this.#backoff.attempt;
  }

  /** Starts connecting: the first time, or again after a fence. */
  start(): void {
    if (this.#stopping) return;
    if (this.#state === 'idle' || this.#state === 'standby' || this.#state === 'unowned') void this.#attempt();
  }

  /**
   * This node no longer holds the link's lease: the socket is terminated at once (no close
   * handshake: the deadline is the lease's, not the peer's), nothing is retried, and the state
   * becomes `state`. The adapter hears `onClose` (1006, `lease lost`) so its per-socket timers
   * end. Also sets the state of a link that was never started. While stopping it only
   * terminates the socket still in its close handshake.
   */
  fence(state: 'standby' | 'unowned', reason: string): void {
    // Also while stopping: the socket still finishing its close handshake goes at once.
    for (const closing of this.#closing) closing.terminate();
    this.#closing.clear();
    if (this.#stopping) return;
    this.#generation++;
    this.#retry?.cancel();
    this.#retry = null;
    this.#steady?.cancel();
    this.#steady = null;
    const socket = this.#socket;
    this.#socket = null;
    this.#open = false;
    if (socket) {
      socket.terminate();
      this.#guard('close', () => this.#hooks.onClose({ code: 1006, reason: 'lease lost' }));
    }
    this.#backoff.reset();
    this.#setState(state, reason);
  }

  /** Applies a command if the link is ready. Never rejects. */
  async command(cmd: BridgeCommand): Promise<CommandReply> {
    if (this.#state !== 'ready') {
      return { ok: false, code: 'BRIDGE_ERR_UPSTREAM_UNAVAILABLE', message: `upstream link is ${this.#state}` };
    }
    try {
      return await this.#hooks.onCommand(cmd);
    } catch (err) {
      this.#o.log.error('link command failed', { err: err as Error });
      return { ok: false, code: 'BRIDGE_ERR_INTERNAL', message: 'command failed' };
    }
  }

  /** Tells the adapter that downstream interest changed. */
  interestChanged(interest: ReadonlyMap<string, ReadonlySet<string>>): void {
    if (this.#stopping) return;
    this.#guard('interest', () => this.#hooks.onInterest?.(interest));
  }

  /**
   * Closes the socket with 1001 and stops retrying; resolves once the upstream answered the close
   * or STOP_GRACE_MS passed on the clock (then the socket is terminated). Idempotent.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    // A link this node does not run is not its to report on the bus.
    const running = this.#state !== 'idle' && this.#state !== 'standby' && this.#state !== 'unowned';
    this.#stopping = true;
    this.#generation++;
    this.#retry?.cancel();
    this.#steady?.cancel();
    this.#guard('dispose', () => this.#hooks.dispose());
    for (const socket of this.#closing) socket.terminate();
    this.#closing.clear();
    const socket = this.#socket;
    this.#socket = null;
    this.#open = false;
    // Among the closing sockets, so that a fence during the handshake terminates it too.
    if (socket) await closeWithin(socket, closeFrame('BRIDGE_ERR_SHUTDOWN'), STOP_GRACE_MS, this.#o.clock, this.#closing);
    this.#setState('closed', 'stopped', { publish: running });
  }

  #io(): LinkIO {
    const o = this.#o;
    return {
      spec: o.spec,
      clock: o.clock,
      log: o.log,
      telemetry: this.#telemetry,
      http: (call) => o.http(call),
      send: (text) => {
        if (this.#socket && this.#open) this.#socket.send(text);
        else o.log.debug('send without an open socket dropped');
      },
      close: (code, detail) => this.#giveUp(closeFrame(code, detail)),
      publish: (type, data, id, hop) => this.#publish(type, data, id ?? o.spec.id, hop),
      interest: () => o.interest(),
      ready: () => this.#ready(),
    };
  }

  #ready(): void {
    // An adapter timer may outlive its socket: `ready` counts only for the open current one.
    if (!this.#socket || !this.#open || this.#state === 'ready') return;
    this.#setState('ready', 'authenticated');
    const ms = this.#o.backoffResetMs;
    if (ms <= 0) return this.#backoff.reset();
    const generation = this.#generation;
    this.#steady = this.#o.clock.setTimeout(() => {
      if (generation === this.#generation) this.#backoff.reset();
    }, ms);
  }

  /**
   * The adapter closed the link (a timeout, a refused credential). The link moves on at once: the
   * close frame is sent, the socket's callbacks are ignored from now on, and the adapter's
   * `onClose` decides the retry with the code and reason the relay closed with; the socket itself
   * is terminated after CLOSE_GRACE_MS unless the peer completes the handshake first.
   */
  #giveUp(frame: { code: number; reason: string }): void {
    const socket = this.#socket;
    if (!socket || this.#stopping) {
      this.#o.log.debug('close without a socket ignored', { upstream: this.#o.upstream, id: this.#o.spec.id });
      return;
    }
    this.#generation++;
    this.#socket = null;
    this.#open = false;
    void closeWithin(socket, frame, CLOSE_GRACE_MS, this.#o.clock, this.#closing);
    // After the adapter's current handler has returned, so `onClose` never runs inside it.
    queueMicrotask(() => this.#ended(frame));
  }

  #publish(type: string, data: unknown, id: string, hop = 0): void {
    const o = this.#o;
    const decoded = performance.now();
    const event = makeEvent({ upstream: o.upstream, node: o.node, receivedAt: o.clock.now(), hop }, type, id, data);
    o.metrics.fanout.note(event.id, this.#frameAt || decoded, decoded); // its fan-out is timed from receipt
    o.bus.publish(o.subjects.event(o.upstream, type, id), event);
    o.metrics.eventsIn.inc({ protocol: o.protocol, upstream: o.upstream });
  }

  #setState(state: LinkState, reason: string, extra: { code?: string | undefined; publish?: boolean } = {}): void {
    if (state === this.#state && reason === this.#reason) return;
    const o = this.#o;
    o.metrics.upstreamLinks.dec({ protocol: o.protocol, upstream: o.upstream, state: this.#state });
    o.metrics.upstreamLinks.inc({ protocol: o.protocol, upstream: o.upstream, state });
    this.#state = state;
    this.#reason = reason;
    // A link that runs runs on its owner, this node; a standby's owner is in the `link ownership` line.
    const held = state !== 'standby' && state !== 'unowned';
    o.log.info('upstream link state', { upstream: o.upstream, resource: o.spec.resource, id: o.spec.id, state, reason, ...(held ? { owner: o.node } : {}) });
    if (!(extra.publish ?? held)) return;
    const data: UpstreamStateData = { state, reason, resource: o.spec.resource, id: o.spec.id, owner: o.node };
    if (extra.code !== undefined) data.code = extra.code;
    this.#publish(LINK_STATE_TYPE, data, o.spec.id);
  }

  async #attempt(): Promise<void> {
    if (this.#stopping) return;
    const generation = ++this.#generation;
    this.#retry = null;
    this.#setState('connecting', this.#backoff.attempt === 0 ? 'connecting' : `attempt ${this.#backoff.attempt + 1}`);
    let target;
    try {
      target = await this.#hooks.prepare();
    } catch (err) {
      if (generation !== this.#generation || this.#stopping) return;
      const failure = err instanceof LinkFailure ? err : new LinkFailure(`prepare failed: ${(err as Error).message}`);
      return this.#afterFailure({ terminal: failure.terminal, reason: failure.message });
    }
    if (generation !== this.#generation || this.#stopping) return;
    const socket = this.#connector.connect(target, {
      handshakeTimeoutMs: this.#o.connectTimeoutMs,
      maxPayloadBytes: this.#o.maxPayloadBytes,
    });
    this.#socket = socket;
    this.#open = false;
    const current = (): boolean => generation === this.#generation && !this.#stopping;
    let httpStatus: number | undefined;
    socket.on('refused', (status) => {
      httpStatus = status;
    });
    socket.on('open', () => {
      if (!current()) return;
      this.#open = true;
      this.#setState('authenticating', 'socket open');
      this.#guard('open', () => this.#hooks.onOpen());
    });
    socket.on('message', (text) => {
      if (!current()) return;
      this.#frameAt = performance.now();
      this.#guard('message', () => this.#hooks.onMessage(text));
      this.#frameAt = 0;
    });
    socket.on('error', (err) => this.#o.log.debug('upstream socket error', { err }));
    socket.on('close', (code, reason) => {
      if (!current()) return;
      this.#socket = null;
      this.#open = false;
      const info: SocketInfo = { code, reason: httpStatus ? `upgrade refused with HTTP ${httpStatus}` : reason };
      if (httpStatus !== undefined) info.httpStatus = httpStatus;
      this.#ended(info);
    });
  }

  /** The attempt's socket is gone (closed by the peer, or given up on): ask the adapter, go on. */
  #ended(info: SocketInfo): void {
    if (this.#stopping) return;
    this.#steady?.cancel();
    this.#steady = null;
    let verdict: LinkVerdict = { terminal: false, reason: 'internal error' };
    this.#guard('close', () => {
      verdict = this.#hooks.onClose(info);
    });
    this.#afterFailure(verdict);
  }

  #afterFailure(verdict: LinkVerdict): void {
    if (this.#stopping) return;
    if (verdict.terminal) {
      this.#setState('failed', verdict.reason, { code: verdict.code });
      return;
    }
    const delay = this.#backoff.next();
    this.#o.metrics.upstreamReconnects.inc({ protocol: this.#o.protocol, upstream: this.#o.upstream });
    this.#setState('backoff', `${verdict.reason}; retry in ${delay} ms`);
    this.#retry = this.#o.clock.setTimeout(() => void this.#attempt(), delay);
  }

  /** Runs an adapter hook. Adapters promise not to throw; if one does, the link survives and it is counted. */
  #guard(hook: 'open' | 'message' | 'close' | 'interest' | 'dispose', fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.metrics.handlerErrors.inc({ where: 'link' });
      if (hook === 'message') this.#telemetry.dropped('bad_frame');
      this.#o.log.error('link hook threw', { hook, upstream: this.#o.upstream, err: err as Error });
    }
  }
}
