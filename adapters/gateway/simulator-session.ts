/**
 * One socket of the room gateway simulator: the hello, the server heartbeat every interval, and
 * the close with 4001 when no client `e:1` arrived since the previous tick. The socket's own
 * timer starts with the connection, as the real server's per-socket interval does.
 */
import { SimulatorSocket, type Clock, type HostConnection } from '../../src/simulator-kit.ts';
import { HEARTBEAT_FRAME, helloFrame, readFrame } from './codec.ts';
import { CLIENT_EVENTS, CLOSE_CODES, type Profile } from './vocabulary.ts';

/** One frame a client sent, as recorded by the simulator. */
export interface ReceivedPacket {
  roomId: string;
  participantId: string;
  e: number;
  d: unknown;
}

/** What a socket needs from the simulator that owns it. */
export interface SimSocketDeps {
  readonly clock: Clock;
  readonly profile: Profile;
  readonly heartbeatIntervalMs: number;
  /** Records every packet a client sent (the simulator's `received`). */
  record(packet: ReceivedPacket): void;
  /** Counts a frame that is not a packet. */
  badFrame(): void;
}

export class SimSocket extends SimulatorSocket {
  readonly roomId: string;
  readonly participantId: string;
  readonly #deps: SimSocketDeps;
  /** Starts true: the first tick only opens the exchange (the client had nothing to answer yet). */
  #alive = true;

  constructor(conn: HostConnection, roomId: string, participantId: string, deps: SimSocketDeps) {
    super(conn);
    this.roomId = roomId;
    this.participantId = participantId;
    this.#deps = deps;
    conn.send(helloFrame(deps.heartbeatIntervalMs, deps.profile));
    this.every(deps.clock, deps.heartbeatIntervalMs, () => this.#tick());
  }

  /**
   * One text frame from the client. The real server crashes on non-JSON; the simulator counts it
   * and carries on, so one bad test frame cannot take a whole test run down.
   */
  onMessage(text: string): void {
    if (this.closed) return;
    const read = readFrame(text);
    if (!read.ok) return this.#deps.badFrame();
    const { e, d } = read.packet;
    this.#deps.record({ roomId: this.roomId, participantId: this.participantId, e, d });
    if (e === CLIENT_EVENTS.heartbeat) this.#alive = true;
  }

  #tick(): void {
    if (this.closed) return;
    if (!this.#alive) return this.close(CLOSE_CODES.heartbeatTimeout, 'heartbeat timeout');
    this.#alive = false;
    this.send(HEARTBEAT_FRAME);
  }

  send(text: string): void {
    this.sendText(text);
  }

  /** Closes once: after a close or a terminate, nothing more goes out. */
  override close(code: number, reason: string): void {
    if (!this.closed) super.close(code, reason);
  }
}
