/**
 * A fake {@link Connector} whose sockets the test opens, feeds and closes by hand, and a scriptable
 * adapter role, so the link runner's state machine is tested without a socket or a real timer.
 */
import type { ConnectTarget, LinkHooks, LinkIO, LinkSpec, LinkVerdict, UpstreamRole } from '../../src/contracts.ts';
import type { ConnectOptions, Connector, UpstreamSocket, UpstreamSocketEvents } from '../../src/upstream/connector.ts';

type Listeners = { [E in keyof UpstreamSocketEvents]: UpstreamSocketEvents[E][] };

/** One fake socket. Its events are emitted by the test (`accept`, `deliver`, `peerClose`, `refuse`). */
export class FakeSocket implements UpstreamSocket {
  readonly target: ConnectTarget;
  readonly options: ConnectOptions;
  readonly sent: string[] = [];
  /** The close frame the runner asked for, if any. */
  closedWith: { code: number; reason: string } | null = null;
  terminated = false;
  #open = false;
  #ended = false;
  readonly #on: Listeners = { open: [], message: [], refused: [], close: [], error: [] };

  constructor(target: ConnectTarget, options: ConnectOptions) {
    this.target = target;
    this.options = options;
  }

  get ended(): boolean {
    return this.#ended;
  }

  on<E extends keyof UpstreamSocketEvents>(event: E, listener: UpstreamSocketEvents[E]): void {
    (this.#on[event] as UpstreamSocketEvents[E][]).push(listener);
  }

  send(text: string): void {
    if (this.#open && !this.#ended) this.sent.push(text);
  }

  /** Records the close frame; the peer answers (or not) through `peerClose`, as a real one would. */
  close(code: number, reason: string): void {
    this.closedWith ??= { code, reason };
  }

  terminate(): void {
    this.terminated = true;
    // A later turn, as the interface promises: never inside the runner's own call.
    queueMicrotask(() => this.#end(1006, ''));
  }

  // ---- the test's side -------------------------------------------------------------------------

  accept(): void {
    this.#open = true;
    for (const l of this.#on.open) l();
  }

  deliver(text: string): void {
    for (const l of this.#on.message) l(text);
  }

  refuse(httpStatus: number): void {
    for (const l of this.#on.refused) l(httpStatus);
    this.#end(1006, '');
  }

  peerClose(code: number, reason = ''): void {
    this.#end(code, reason);
  }

  #end(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#open = false;
    for (const l of this.#on.close) l(code, reason);
  }
}

export class FakeConnector implements Connector {
  readonly sockets: FakeSocket[] = [];

  connect(target: ConnectTarget, options: ConnectOptions): FakeSocket {
    const socket = new FakeSocket(target, options);
    this.sockets.push(socket);
    return socket;
  }

  /** The newest socket. */
  get last(): FakeSocket {
    const s = this.sockets.at(-1);
    if (!s) throw new Error('no socket was opened');
    return s;
  }
}

export interface FakeRole {
  role: UpstreamRole;
  /** The LinkIO the runner handed to the link. */
  io(): LinkIO;
  /** Hook calls in order: `prepare`, `open`, `message:<text>`, `close:<code> <reason>[ <http>]`, `dispose`. */
  readonly calls: string[];
}

export interface FakeRoleOptions {
  /** Calls `io.ready()` from `onOpen` (as Felix does). Default false. */
  readyOnOpen?: boolean;
  /** What `onClose` answers. Default: retry, with the code and reason as the reason. */
  verdict?(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict;
  /** Replaces `prepare`. */
  prepare?(): Promise<ConnectTarget>;
  onMessage?(text: string, io: LinkIO): void;
}

export const SPEC: LinkSpec = { resource: 'server', id: 's1' };

export function fakeRole(o: FakeRoleOptions = {}): FakeRole {
  const calls: string[] = [];
  let linkIo: LinkIO | undefined;
  const hooks = (io: LinkIO): LinkHooks => ({
    prepare: async () => {
      calls.push('prepare');
      return o.prepare ? o.prepare() : { url: 'ws://upstream.invalid/ws', headers: { authorization: 'k' } };
    },
    onOpen: () => {
      calls.push('open');
      if (o.readyOnOpen) io.ready();
    },
    onMessage: (text) => {
      calls.push(`message:${text}`);
      o.onMessage?.(text, io);
    },
    onClose: (info) => {
      calls.push(`close:${info.code} ${info.reason}${info.httpStatus ? ` ${info.httpStatus}` : ''}`);
      return o.verdict?.(info) ?? { terminal: false, reason: `closed ${info.code}` };
    },
    onCommand: () => ({ ok: true }),
    dispose: () => {
      calls.push('dispose');
    },
  });
  return {
    role: {
      links: () => [SPEC],
      link: (_spec, io) => {
        linkIo = io;
        return hooks(io);
      },
    },
    io: () => {
      if (!linkIo) throw new Error('no link was created');
      return linkIo;
    },
    calls,
  };
}
