/**
 * One socket of the Felix simulator: its listen lists, its liveness for the ping sweep, and the
 * handling of client frames as FelixBot's `ws` server does it (REAL-BEHAVIOUR.md): non-JSON,
 * missing/falsy or unknown codes are ignored without a reply; `20001` is answered at once;
 * `20002` replaces both lists, and only when both are arrays.
 */
import { SimulatorSocket, type HostConnection } from '../../src/simulator-kit.ts';
import { decodeFrame } from './codec.ts';
import { CLIENT_CODES, RESOURCES } from './vocabulary.ts';

/** What a socket needs from the simulator that owns it. */
export interface SimSocketDeps {
  /** The `10001` frame for a heartbeat received now; null while the simulator is stalled. */
  ackFrame(): string | null;
  /** Records a decoded client frame (the simulator's `received`). */
  record(socket: number, code: number, data: unknown): void;
}

/** A socket's listen lists, as a test reads them. */
export interface ListenLists {
  readonly users: readonly string[];
  readonly guilds: readonly string[];
}

export class FelixSimSocket extends SimulatorSocket {
  /** Sequence number of the socket within its simulator, for `received` and `listening()`. */
  readonly id: number;
  readonly #deps: SimSocketDeps;
  #users: ReadonlySet<string> = new Set();
  #guilds: ReadonlySet<string> = new Set();
  /** Felix's `isAlive`: set on connect and by each pong, cleared by each ping. */
  #alive = true;

  constructor(id: number, conn: HostConnection, deps: SimSocketDeps) {
    super(conn);
    this.id = id;
    this.#deps = deps;
  }

  /** The ids this socket listens to. */
  lists(): ListenLists {
    return { users: [...this.#users], guilds: [...this.#guilds] };
  }

  /** Whether updates about `id` of `resource` (`guild` or `user`) go to this socket. */
  listensTo(resource: string, id: string): boolean {
    return (resource === RESOURCES.guild ? this.#guilds : resource === RESOURCES.user ? this.#users : null)?.has(id) ?? false;
  }

  /** Handles one text frame from the client. */
  onMessage(text: string): void {
    if (this.closed) return;
    const packet = decodeFrame(text);
    if (!packet) return;
    this.#deps.record(this.id, packet.code, packet.data);
    switch (packet.code) {
      case CLIENT_CODES.heartbeat: {
        const ack = this.#deps.ackFrame();
        if (ack !== null) this.send(ack);
        return;
      }
      case CLIENT_CODES.listenersUpdate: {
        const data = packet.data as { users?: unknown; guilds?: unknown } | null | undefined;
        if (!Array.isArray(data?.users) || !Array.isArray(data.guilds)) return;
        // Felix stores the arrays as sent and matches ids with `includes`: only strings can ever match.
        this.#users = new Set(data.users.filter((v): v is string => typeof v === 'string'));
        this.#guilds = new Set(data.guilds.filter((v): v is string => typeof v === 'string'));
        return;
      }
      default:
        return;
    }
  }

  override onPong(): void {
    this.#alive = true;
  }

  /**
   * One sweep of Felix's 30 s loop: a socket that did not pong since the previous sweep is
   * terminated (returns false); the others are pinged and must pong before the next one.
   */
  sweep(): boolean {
    if (this.closed) return false;
    if (!this.#alive) {
      this.terminate();
      return false;
    }
    this.#alive = false;
    this.conn.ping();
    return true;
  }

  send(frame: string): void {
    this.sendText(frame);
  }
}
