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
import { SimulatorSocket, type Clock, type HostConnection } from '../../src/simulator-kit.ts';
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

export class SimSession extends SimulatorSocket {
  readonly version: PanelVersion;
  readonly #deps: SimSessionDeps;
  readonly #intents = new Set<string>();
  #authed: boolean;
  #awaitingPong = false;

  constructor(conn: HostConnection, version: PanelVersion, deps: SimSessionDeps) {
    super(conn);
    this.version = version;
    this.#deps = deps;
    this.#authed = version === 'v1';
    if (deps.pingIntervalMs > 0) this.every(deps.clock, deps.pingIntervalMs, () => this.#tick());
  }

  /** True once the socket receives broadcasts (v1 at once, v2 after AUTH_SUCCESS). */
  get authenticated(): boolean {
    return this.#authed;
  }

  onMessage(text: string): void {
    if (this.closed) return;
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
      case CLIENT_ACTIONS.disableIntent:
        return this.#intent(packet.action === CLIENT_ACTIONS.enableIntent, packet.data);
      default:
        return this.#send(SERVER_ACTIONS.meta, { message: unsupportedAction(packet.action) });
    }
  }

  /**
   * Delivers an encoded packet if this socket receives broadcasts; `gate` names the intent family
   * and server a v2 socket must have enabled (v1 has no intents: every packet goes to every socket).
   */
  deliver(frame: string, gate?: { family: IntentFamily; id: string }): void {
    if (this.closed || !this.#authed) return;
    if (gate && this.version === 'v2' && !intentAllows(this.#intents, gate.family, gate.id)) return;
    this.conn.send(frame);
  }

  override onPong(): void {
    this.#awaitingPong = false;
    this.#deps.pong();
  }

  /** ENABLE_INTENT or DISABLE_INTENT: acknowledged whether or not the set changed. */
  #intent(enable: boolean, data: unknown): void {
    if (!IntentCheck.Check(data)) return this.#malformed();
    const { intent } = data;
    if (enable) this.#intents.add(intent);
    else this.#intents.delete(intent);
    this.#send(enable ? SERVER_ACTIONS.intentEnabled : SERVER_ACTIONS.intentDisabled, { intent });
  }

  #tick(): void {
    if (this.#awaitingPong) return this.close(1011, 'keepalive ping timeout');
    this.#awaitingPong = true;
    this.conn.ping();
  }

  #send(action: string, data: unknown): void {
    this.sendText(encodeFrame({ action, data }));
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
