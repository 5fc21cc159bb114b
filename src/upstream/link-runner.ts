/**
 * Runs one upstream link: owns its socket, drives the adapter's LinkHooks, and keeps the state
 * machine  idle → connecting → authenticating → ready → backoff → connecting …  ending in
 * `failed` (a terminal close: no more retries) or `closed` (stopped).
 * Every state change is published as an `upstream.state` event and shown in metrics.
 */
import WebSocket from 'ws';
import type { Clock, Timer } from '../clock.ts';
import { LinkFailure, type HttpCall, type HttpResult, type LinkHooks, type LinkIO, type LinkSpec, type Log, type Telemetry, type UpstreamRole } from '../contracts.ts';
import { makeEvent, type BridgeCommand, type CommandReply } from '../events.ts';
import { closeFrame } from '../errors.ts';
import type { Bus } from '../bus/bus.ts';
import type { Subjects } from '../subjects.ts';
import type { LinkState, Metrics } from '../metrics.ts';
import { Backoff, type BackoffPolicy } from './backoff.ts';

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
  random?: () => number;
  connectTimeoutMs: number;
  maxPayloadBytes: number;
}

export class LinkRunner {
  readonly spec: LinkSpec;
  readonly #o: LinkRunnerOptions;
  readonly #hooks: LinkHooks;
  readonly #backoff: Backoff;
  readonly #telemetry: Telemetry;
  #state: LinkState = 'idle';
  #reason = '';
  #ws: WebSocket | null = null;
  #retry: Timer | null = null;
  #stopping = false;
  /** Bumped per attempt so callbacks of an abandoned socket are ignored. */
  #generation = 0;

  constructor(o: LinkRunnerOptions) {
    this.#o = o;
    this.spec = o.spec;
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

  /** Failed attempts since the link was last ready. */
  get attempts(): number {
    return this.#backoff.attempt;
  }

  start(): void {
    if (this.#state === 'idle') void this.#attempt();
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
    try {
      this.#hooks.onInterest?.(interest);
    } catch (err) {
      this.#o.log.error('link interest hook threw', { err: err as Error });
    }
  }

  /** Closes the socket with 1001 and stops retrying. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#retry?.cancel();
    this.#hooks.dispose();
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 2000);
        ws.once('close', () => {
          clearTimeout(t);
          resolve();
        });
        if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
        else {
          const f = closeFrame('BRIDGE_ERR_SHUTDOWN');
          ws.close(f.code, f.reason);
        }
      });
    }
    this.#setState('closed', 'stopped');
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
        if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(text);
        else o.log.debug('send without an open socket dropped');
      },
      close: (code, detail) => {
        const f = closeFrame(code, detail);
        this.#ws?.close(f.code, f.reason);
      },
      publish: (type, data, id, hop) => this.#publish(type, data, id ?? o.spec.id, hop),
      interest: () => o.interest(),
      ready: () => {
        this.#backoff.reset();
        this.#setState('ready', 'authenticated');
      },
    };
  }

  #publish(type: string, data: unknown, id: string, hop = 0): void {
    const o = this.#o;
    const event = makeEvent({ upstream: o.upstream, node: o.node, receivedAt: o.clock.now(), hop }, type, id, data);
    o.bus.publish(o.subjects.event(o.upstream, type, id), event);
    o.metrics.eventsIn.inc({ protocol: o.protocol, upstream: o.upstream });
  }

  #setState(state: LinkState, reason: string): void {
    if (state === this.#state && reason === this.#reason) return;
    const o = this.#o;
    o.metrics.upstreamLinks.dec({ protocol: o.protocol, upstream: o.upstream, state: this.#state });
    o.metrics.upstreamLinks.inc({ protocol: o.protocol, upstream: o.upstream, state });
    this.#state = state;
    this.#reason = reason;
    o.log.info('upstream link state', { upstream: o.upstream, resource: o.spec.resource, id: o.spec.id, state, reason });
    this.#publish('upstream.state', { state, reason, resource: o.spec.resource, id: o.spec.id }, '_');
  }

  async #attempt(): Promise<void> {
    if (this.#stopping) return;
    const generation = ++this.#generation;
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
    const ws = new WebSocket(target.url, {
      headers: target.headers,
      handshakeTimeout: this.#o.connectTimeoutMs,
      maxPayload: this.#o.maxPayloadBytes,
      perMessageDeflate: false,
    });
    this.#ws = ws;
    let httpStatus: number | undefined;
    ws.on('unexpected-response', (req, res) => {
      httpStatus = res.statusCode;
      res.resume();
      req.destroy();
      ws.terminate();
    });
    ws.on('open', () => {
      if (generation !== this.#generation) return;
      this.#setState('authenticating', 'socket open');
      this.#hooks.onOpen();
    });
    ws.on('message', (data, isBinary) => {
      if (generation !== this.#generation) return;
      // binaryType is 'nodebuffer': every message is one Buffer.
      try {
        this.#hooks.onMessage((data as Buffer).toString('utf8'));
      } catch (err) {
        // Adapters promise not to throw; if one does, the link survives and it is counted.
        this.#telemetry.dropped('bad_frame');
        this.#o.log.error('link hook threw', { err: err as Error, binary: isBinary });
      }
    });
    ws.on('error', (err) => this.#o.log.debug('upstream socket error', { err }));
    ws.on('close', (code, reasonBuf) => {
      if (generation !== this.#generation || this.#stopping) return;
      this.#ws = null;
      const reason = httpStatus ? `upgrade refused with HTTP ${httpStatus}` : reasonBuf.toString('utf8');
      const info: { code: number; reason: string; httpStatus?: number } = { code: code, reason };
      if (httpStatus !== undefined) info.httpStatus = httpStatus;
      this.#afterFailure(this.#hooks.onClose(info));
    });
  }

  #afterFailure(verdict: { terminal: boolean; reason: string }): void {
    if (this.#stopping) return;
    if (verdict.terminal) {
      this.#setState('failed', verdict.reason);
      return;
    }
    const delay = this.#backoff.next();
    this.#o.metrics.upstreamReconnects.inc({ protocol: this.#o.protocol, upstream: this.#o.upstream });
    this.#setState('backoff', `${verdict.reason}; retry in ${delay} ms`);
    this.#retry = this.#o.clock.setTimeout(() => void this.#attempt(), delay);
  }
}
