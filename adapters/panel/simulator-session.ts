/**
 * One socket of the Semoxy simulator, in the version its handshake chose.
 *
 * v1 (ticket era, `endpoints/server.py` with `requires_ticket`): registered at once; every client
 * frame is answered with the "use http endpoints" META_MESSAGE and the socket stays open.
 * v2: nothing is delivered before AUTHENTICATE; a bad session gets AUTH_ERROR and a close, anything
 * else first gets AUTH_ERROR "you are not authenticated" and a close; a frame that is not JSON or
 * lacks `action`/`data.sessionId` gets META_MESSAGE "malformed packet" and a close (Semoxy's bare
 * `ws.close()`, code 1000); intents gate CONSOLE_MESSAGE and STAT_UPDATE.
 * Both: the websockets library's keep-alive, a ping every 20 s and a close with 1011 when the
 * previous ping is still unanswered.
 */
import type { Clock, HostConnection, Timer } from '../../src/simulator-kit.ts';
import { decodeFrame, encodeFrame, intentAllows, type PanelPacket, type PanelVersion } from './codec.ts';
import { AuthenticateCheck, IntentCheck } from './schema.ts';
import { CLIENT_ACTIONS, MESSAGES, SERVER_ACTIONS, unsupportedAction, type IntentFamily } from './vocabulary.ts';

/** How a v2 session id stands with the simulated panel. */
export type SessionLookup = 'valid' | 'expired' | 'invalid';

export interface SimSessionDeps {
  readonly clock: Clock;
  readonly pingIntervalMs: number;
  lookup(sessionId: string): SessionLookup;
  /** Records every client frame (the simulator's `received`). */
  record(version: PanelVersion, raw: string, packet: PanelPacket | null): void;
  /** A pong arrived (the simulator counts them). */
  pong(): void;
}

export class SimSession {
  readonly version: PanelVersion;
  readonly #conn: HostConnection;
  readonly #deps: SimSessionDeps;
  readonly #intents = new Set<string>();
  #authed: boolean;
  #ping: Timer | null = null;
  #awaitingPong = false;
  #closed = false;

  constructor(conn: HostConnection, version: PanelVersion, deps: SimSessionDeps) {
    this.#conn = conn;
    this.version = version;
    this.#deps = deps;
    this.#authed = version === 'v1';
    if (deps.pingIntervalMs > 0) this.#ping = deps.clock.setInterval(() => this.#tick(), deps.pingIntervalMs);
  }

  /** True once the socket receives broadcasts (v1 at once, v2 after AUTH_SUCCESS). */
  get authenticated(): boolean {
    return this.#authed;
  }

  onMessage(text: string): void {
    if (this.#closed) return;
    const packet = decodeFrame(text);
    this.#deps.record(this.version, text, packet);
    if (this.version === 'v1') return this.#send(SERVER_ACTIONS.meta, { message: MESSAGES.useHttp });
    if (!packet) return this.#malformed();
    if (packet.action === CLIENT_ACTIONS.authenticate) {
      if (!AuthenticateCheck.Check(packet.data)) return this.#malformed();
      const found = this.#deps.lookup(packet.data.sessionId);
      if (found !== 'valid') return this.#authError(found === 'expired' ? MESSAGES.sessionExpired : MESSAGES.invalidSession);
      this.#authed = true;
      return this.#send(SERVER_ACTIONS.authSuccess, {});
    }
    if (!this.#authed) return this.#authError(MESSAGES.notAuthenticated);
    switch (packet.action) {
      case CLIENT_ACTIONS.enableIntent:
        if (!IntentCheck.Check(packet.data)) return this.#malformed();
        this.#intents.add(packet.data.intent);
        return this.#send(SERVER_ACTIONS.intentEnabled, { intent: packet.data.intent });
      case CLIENT_ACTIONS.disableIntent:
        if (!IntentCheck.Check(packet.data)) return this.#malformed();
        this.#intents.delete(packet.data.intent);
        return this.#send(SERVER_ACTIONS.intentDisabled, { intent: packet.data.intent });
      default:
        return this.#send(SERVER_ACTIONS.meta, { message: unsupportedAction(packet.action) });
    }
  }

  /**
   * Delivers an encoded packet if this socket receives broadcasts; `gate` names the intent family
   * and server a v2 socket must have enabled (v1 has no intents: every packet goes to every socket).
   */
  deliver(frame: string, gate?: { family: IntentFamily; id: string }): void {
    if (this.#closed || !this.#authed) return;
    if (gate && this.version === 'v2' && !intentAllows(this.#intents, gate.family, gate.id)) return;
    this.#conn.send(frame);
  }

  onPong(): void {
    this.#awaitingPong = false;
    this.#deps.pong();
  }

  close(code: number, reason: string): void {
    this.dispose();
    this.#conn.close(code, reason);
  }

  terminate(): void {
    this.dispose();
    this.#conn.terminate();
  }

  /** Cancels the ping; called on close. Idempotent. */
  dispose(): void {
    this.#closed = true;
    this.#ping?.cancel();
    this.#ping = null;
  }

  #tick(): void {
    if (this.#awaitingPong) return this.close(1011, 'keepalive ping timeout');
    this.#awaitingPong = true;
    this.#conn.ping();
  }

  #send(action: string, data: unknown): void {
    if (!this.#closed) this.#conn.send(encodeFrame({ action, data }));
  }

  #malformed(): void {
    this.#send(SERVER_ACTIONS.meta, { message: MESSAGES.malformed });
    this.close(1000, '');
  }

  #authError(message: string): void {
    this.#send(SERVER_ACTIONS.authError, { message });
    this.close(1000, '');
  }
}
