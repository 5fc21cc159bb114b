/**
 * Felix, upstream role: the relay as the one client of a FelixBot websocket.
 *
 * One link per upstream (`bot/_`). Connect with the raw token in `Authorization` (not Bearer);
 * Felix refuses a bad token with HTTP 403 before the upgrade, which is counted and retried with
 * backoff (a rotated token may come back). There is no auth handshake, so the link is ready as
 * soon as the socket opens. Then: `20002 {users, guilds}` with the configured ids plus whatever the
 * dashboards listen to, again whenever that union changes; `20001` every heartbeat interval; each
 * `10001`/`10002`/`10003` becomes one canonical event.
 */
import type { BridgeCommand, CommandReply, ConnectTarget, LinkHooks, LinkIO, LinkSpec, LinkVerdict, Timer } from '../../src/adapter-kit.ts';
import type { FelixUpstreamOptions } from './index.ts';
import type { UpstreamConfigOf, UpstreamContext, UpstreamRole } from '../../src/adapter-kit.ts';
import { HEARTBEAT_FRAME, decodeFrame, isServerCode, listenersFrame, packetToEvent } from './codec.ts';
import { BOT_ID, RESOURCES } from './vocabulary.ts';

/** The upstream's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type FelixUpstreamConfig = UpstreamConfigOf<typeof FelixUpstreamOptions>;

/** Where and with what a link connects, resolved once from the config or the simulator. */
interface Target {
  readonly url: string;
  readonly token: string;
  readonly userAgent: string;
}

const BOT_LINK: LinkSpec = Object.freeze({ resource: RESOURCES.bot, id: BOT_ID });

/** A stable key of a listen list, so an unchanged union is not sent twice. */
function listKey(users: ReadonlySet<string>, guilds: ReadonlySet<string>): string {
  return JSON.stringify([[...users].sort(), [...guilds].sort()]);
}

class FelixLink implements LinkHooks {
  readonly #io: LinkIO;
  readonly #target: Target;
  readonly #config: FelixUpstreamConfig;
  #open = false;
  #heartbeat: Timer | null = null;
  /** Clock time of the last frame from Felix: it answers every 20001, so silence means a dead socket. */
  #lastInbound = 0;
  /** The listen list last sent on the current socket; null before the first one. */
  #sentKey: string | null = null;

  constructor(io: LinkIO, target: Target, config: FelixUpstreamConfig) {
    this.#io = io;
    this.#target = target;
    this.#config = config;
  }

  async prepare(): Promise<ConnectTarget> {
    return { url: this.#target.url, headers: { authorization: this.#target.token, 'user-agent': this.#target.userAgent } };
  }

  onOpen(): void {
    this.#open = true;
    this.#sentKey = null;
    this.#lastInbound = this.#io.clock.now();
    this.#sendListeners(this.#io.interest());
    this.#heartbeat?.cancel();
    this.#heartbeat = this.#io.clock.setInterval(() => this.#beat(), this.#config.heartbeatIntervalMs);
    // Felix has no auth handshake: an open socket is an accepted token.
    this.#io.ready();
  }

  #beat(): void {
    const { ackTimeoutMs } = this.#config;
    if (ackTimeoutMs > 0 && this.#io.clock.now() - this.#lastInbound >= ackTimeoutMs) {
      this.#stopHeartbeat();
      this.#io.telemetry.heartbeatTimeout();
      this.#io.close('BRIDGE_ERR_HEARTBEAT_TIMEOUT', `no frame from felix in ${ackTimeoutMs} ms`);
      return;
    }
    this.#io.send(HEARTBEAT_FRAME);
  }

  onMessage(text: string): void {
    this.#lastInbound = this.#io.clock.now();
    const packet = decodeFrame(text);
    if (!packet) return this.#io.telemetry.dropped('bad_frame');
    const event = packetToEvent(packet);
    if (event) return this.#io.publish(event.type, event.data, event.id);
    // A known code whose data does not fit is a broken frame; any other code is one we do not know.
    this.#io.telemetry.dropped(isServerCode(packet.code) ? 'bad_frame' : 'unknown_event');
  }

  onInterest(interest: ReadonlyMap<string, ReadonlySet<string>>): void {
    if (this.#open) this.#sendListeners(interest);
  }

  /** Sends `20002` with configured ∪ wanted ids, unless this socket already has exactly that list. */
  #sendListeners(interest: ReadonlyMap<string, ReadonlySet<string>>): void {
    const users = new Set([...this.#config.users, ...(interest.get(RESOURCES.user) ?? [])]);
    const guilds = new Set([...this.#config.guilds, ...(interest.get(RESOURCES.guild) ?? [])]);
    const key = listKey(users, guilds);
    if (key === this.#sentKey) return;
    this.#sentKey = key;
    this.#io.send(listenersFrame(users, guilds));
  }

  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict {
    this.#open = false;
    this.#stopHeartbeat();
    if (info.httpStatus === 403) {
      // Felix's answer to a missing or wrong token; not terminal, since the token may be fixed upstream.
      this.#io.telemetry.authFailed('forbidden');
      return { terminal: false, reason: 'token refused (HTTP 403)' };
    }
    if (info.httpStatus !== undefined) return { terminal: false, reason: `upgrade refused (HTTP ${info.httpStatus})` };
    return { terminal: false, reason: `closed ${info.code} ${info.reason}`.trim() };
  }

  onCommand(command: BridgeCommand): CommandReply {
    return { ok: false, code: 'BRIDGE_ERR_UNSUPPORTED_DATA', message: `felix takes no commands (${command.type})` };
  }

  dispose(): void {
    this.#open = false;
    this.#stopHeartbeat();
  }

  #stopHeartbeat(): void {
    this.#heartbeat?.cancel();
    this.#heartbeat = null;
  }
}

/** The ws:// form of a configured or simulator URL (a simulator hands out its http:// base). */
function socketUrl(url: string): string {
  return url.replace(/^http(s?):\/\//i, 'ws$1://');
}

/** Creates the upstream role: one link, to the configured URL or to the named simulator. */
export function createFelixUpstream(ctx: UpstreamContext<FelixUpstreamConfig>): UpstreamRole {
  const { config, simulator } = ctx;
  const target: Target = {
    url: socketUrl(config.url ?? simulator?.url ?? ''),
    token: config.token ?? simulator?.credentials.token ?? '',
    userAgent: config.userAgent,
  };
  return {
    links: () => [BOT_LINK],
    link: (_spec, io) => new FelixLink(io, target, config),
  };
}
