/**
 * Room gateway, upstream role: the relay as one participant's client of one room.
 *
 * Per attempt: connect `url?roomId=&participantId=` (the later profile also sends a cookie named
 * after the room holding the participant's secret). The server accepts every upgrade and closes
 * 1014 when the room or participant is unknown, so a 1014 ends the link for good. `hello` carries
 * the heartbeat interval and marks the link ready. Keep-alive is two-sided: every server `e:1`
 * (and the documented, never-sent `e:2`) is answered with `e:1` at once, and the link also sends
 * its own `e:1` every ¾ interval so a late or lost server heartbeat never costs the socket (the
 * server closes 4001 when no client `e:1` arrived since its previous tick). A server that stays
 * silent for 2½ intervals is presumed dead and the socket is dropped to the backoff loop.
 */
import { LinkFailure, handshakeDeadline, retryVerdict } from '../../src/adapter-kit.ts';
import type { CommandReply, ConnectTarget, LinkHooks, LinkIO, LinkSpec, LinkVerdict, Timer, UpstreamConfigOf, UpstreamContext, UpstreamRole } from '../../src/adapter-kit.ts';
import type { GatewayUpstreamOptions } from './index.ts';
import { HEARTBEAT_FRAME, helloInterval, isLatest, packetToEvent, readFrame, variantFor } from './codec.ts';
import { CLOSE_CODES, GATEWAY_PATH, ROOM_RESOURCE, ROOM_TYPES, SEED_EVENTS, SERVER_EVENT_IDS, participantCredential, type Profile } from './vocabulary.ts';

/** The upstream's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type GatewayUpstreamConfig = UpstreamConfigOf<typeof GatewayUpstreamOptions>;

/** One bridged room: which room, as which participant, and (later profile) that participant's secret. */
export type GatewayRoomConfig = GatewayUpstreamConfig['rooms'][number];

/** Own heartbeats go out at this fraction of the interval: always inside every server window. */
const OWN_BEAT_FRACTION = 0.75;
/** Server silence, in intervals, after which the socket is presumed dead. */
const SILENCE_INTERVALS = 2.5;

/** The states of one link; `ready` is reached by `hello`. */
type LinkState = 'idle' | 'awaiting-hello' | 'ready';

/** The gateway's WebSocket URL: http(s) becomes ws(s), so a site URL or a socket URL both work. */
export function socketUrl(url: string): string {
  return url.replace(/^http(s?):\/\//i, 'ws$1://');
}

class GatewayLink implements LinkHooks {
  readonly #io: LinkIO;
  readonly #base: string;
  readonly #room: GatewayRoomConfig;
  readonly #secret: string | undefined;
  readonly #profile: Profile;
  readonly #helloTimeoutMs: number;
  #state: LinkState = 'idle';
  #intervalMs = 0;
  #lastHeard = 0;
  /** Set when the server announced that this link's own participant was kicked (later profile). */
  #kicked = false;
  #helloTimer: Timer | null = null;
  #beatTimer: Timer | null = null;

  constructor(io: LinkIO, base: string, room: GatewayRoomConfig, secret: string | undefined, profile: Profile, helloTimeoutMs: number) {
    this.#io = io;
    this.#base = base;
    this.#room = room;
    this.#secret = secret;
    this.#profile = profile;
    this.#helloTimeoutMs = helloTimeoutMs;
  }

  async prepare(): Promise<ConnectTarget> {
    let url: URL;
    try {
      url = new URL(this.#base);
    } catch (err) {
      throw new LinkFailure(`invalid gateway url ${JSON.stringify(this.#base)}`, true, { cause: err });
    }
    url.searchParams.set('roomId', this.#room.roomId);
    url.searchParams.set('participantId', this.#room.participantId);
    this.#kicked = false;
    if (!isLatest(this.#profile)) return { url: url.toString() };
    if (this.#secret === undefined) throw new LinkFailure('the anonroom-latest profile needs the participant secret (rooms[].secret)', true);
    // Cookie names and values may not hold separators; room ids and secrets are URL-safe in practice.
    const cookie = `${encodeURIComponent(this.#room.roomId)}=${encodeURIComponent(this.#secret)}`;
    return { url: url.toString(), headers: { cookie } };
  }

  onOpen(): void {
    this.#state = 'awaiting-hello';
    this.#lastHeard = this.#io.clock.now();
    this.#helloTimer?.cancel();
    const expiry = { reason: 'hello_timeout', code: 'BRIDGE_ERR_UPSTREAM_TIMEOUT', detail: 'no hello in time' } as const;
    this.#helloTimer = handshakeDeadline(this.#io, this.#helloTimeoutMs, expiry, () => this.#state !== 'awaiting-hello');
  }

  onMessage(text: string): void {
    const read = readFrame(text);
    if (!read.ok) return this.#io.telemetry.dropped('bad_frame');
    const { e, d } = read.packet;
    this.#lastHeard = this.#io.clock.now();
    switch (e) {
      case SEED_EVENTS.hello:
        return this.#onHello(d);
      // The document says heartbeat_ack (2) asks for an immediate heartbeat; no server sends it, but it costs nothing.
      case SEED_EVENTS.heartbeat:
      case SEED_EVENTS.heartbeatAck:
        return this.#io.send(HEARTBEAT_FRAME);
    }
    const event = packetToEvent(read.packet, this.#profile);
    if (event === null) {
      return this.#io.telemetry.dropped(SERVER_EVENT_IDS[variantFor(this.#profile)].has(e) ? 'bad_frame' : 'unknown_event');
    }
    if (event.type === ROOM_TYPES.kicked && (event.data as { userId: string }).userId === this.#room.participantId) this.#kicked = true;
    this.#io.publish(event.type, event.data);
  }

  #onHello(d: unknown): void {
    const interval = helloInterval(d);
    if (interval === null) return this.#io.telemetry.dropped('bad_frame');
    this.#helloTimer?.cancel();
    this.#helloTimer = null;
    this.#intervalMs = interval;
    this.#beatTimer?.cancel();
    this.#beatTimer = this.#io.clock.setInterval(() => this.#tick(), Math.max(1, Math.floor(interval * OWN_BEAT_FRACTION)));
    // A strict server may count its first tick from the upgrade; one beat now covers that reading.
    this.#io.send(HEARTBEAT_FRAME);
    if (this.#state !== 'ready') {
      this.#state = 'ready';
      this.#io.ready();
    }
  }

  #tick(): void {
    if (this.#io.clock.now() - this.#lastHeard >= this.#intervalMs * SILENCE_INTERVALS) {
      this.#io.telemetry.heartbeatTimeout();
      this.#stopTimers();
      this.#io.close('BRIDGE_ERR_HEARTBEAT_TIMEOUT', 'no frame from the server in 2.5 heartbeat intervals');
      return;
    }
    this.#io.send(HEARTBEAT_FRAME);
  }

  onClose(info: { code: number; reason: string; httpStatus?: number }): LinkVerdict {
    this.#state = 'idle';
    this.#stopTimers();
    if (info.code === CLOSE_CODES.unknownRoom) {
      this.#io.telemetry.authFailed('unknown_room');
      // The rows travel in the link's state: the relay's own dashboards of the room get the same close.
      return { terminal: true, reason: 'unknown room or participant (1014)', code: 'BRIDGE_ERR_NOT_FOUND' };
    }
    // The later server closes a kicked participant's sockets with 4001; rejoining would be refused.
    if (this.#kicked) return { terminal: true, reason: `participant kicked (${info.code})`, code: 'BRIDGE_ERR_ROOM_SESSION_ENDED' };
    if (info.code === CLOSE_CODES.heartbeatTimeout) {
      this.#io.telemetry.heartbeatTimeout();
      return { terminal: false, reason: 'heartbeat timeout (4001)' };
    }
    return retryVerdict(info);
  }

  /** The gateway is receive-only: chat messages and room changes go through the site's HTTP API. */
  onCommand(): CommandReply {
    return { ok: false, code: 'BRIDGE_ERR_UNSUPPORTED_DATA', message: 'the room gateway takes no commands' };
  }

  dispose(): void {
    this.#state = 'idle';
    this.#stopTimers();
  }

  #stopTimers(): void {
    this.#helloTimer?.cancel();
    this.#beatTimer?.cancel();
    this.#helloTimer = null;
    this.#beatTimer = null;
  }
}

/** The upstream role: one link per configured room. */
export function createGatewayUpstream(ctx: UpstreamContext<GatewayUpstreamConfig>): UpstreamRole {
  const { config, simulator } = ctx;
  const base = socketUrl(config.url ?? (simulator ? `${simulator.url.replace(/\/$/, '')}${GATEWAY_PATH}` : ''));
  const rooms = new Map(config.rooms.map((r) => [r.roomId, r]));
  const specs: LinkSpec[] = config.rooms.map((r) => ({ resource: ROOM_RESOURCE, id: r.roomId }));
  return {
    links: () => specs,
    link(spec, io) {
      const room = rooms.get(spec.id) ?? { roomId: spec.id, participantId: '' };
      const secret = room.secret ?? simulator?.credentials[participantCredential(room.roomId, room.participantId)];
      return new GatewayLink(io, base, room, secret, config.profile, config.helloTimeoutMs);
    },
  };
}
