/**
 * Room gateway, downstream role: the relay is the anonroom gateway to dashboards.
 *
 * `GET <path>?roomId=&participantId=` (default /gateway). There is no key or token in this
 * protocol: the room id *is* the credential, as on the real site, so the relay's only gate is that
 * the room is bridged by one of this listener's upstreams. Like the real server it accepts every
 * upgrade and then closes **1014** when a parameter is missing or the room is unknown (the relay
 * keeps no participant roster, so any non-empty participant id is taken as given).
 *
 * On open: `hello {heartbeatInterval}` at once (double-wrapped for `anonroom-latest`
 * dashboards), then a server `e:1` every interval; a session from which no `e:1` arrived since
 * the previous tick is closed **4001**. A client `e:1` at any time counts as alive, `e:2` gets no
 * answer. (Besides, the core pings every socket each `limits.pingIntervalMs`, as for every dialect.) Unlike the real server, bad input never crashes anything: non-JSON closes **1007**, JSON
 * that is not a packet or carries an `e` a client may not send closes **1003**, each counted.
 *
 * A room whose link failed for good is gone for its dashboards as it is for the relay: when the
 * upstream said the room is unknown (1014) they are closed 1014, when it kicked the relay's
 * participant (4001) they are closed 4001; a dashboard opening the room later is closed the same
 * way right after its hello.
 */
import { LINK_STATE_TYPE, closingRow } from '../../src/adapter-kit.ts';
import type { GatewayListenerOptions } from './index.ts';
import type { BridgeEvent, CloseErrorCode, ListenerConfigOf, ListenerContext, ListenerRole, ResourceRef, SessionHooks, SessionIO, Timer, UpgradeRequest, UpgradeVerdict, UpstreamStateData } from '../../src/adapter-kit.ts';
import { HEARTBEAT_FRAME, helloFrame, isLatest, readFrame, variantFor } from './codec.ts';
import { CLIENT_EVENTS, ROOM_RESOURCE, ROOM_TYPES, type Profile, type Variant } from './vocabulary.ts';

/** The listener's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type GatewayListenerConfig = ListenerConfigOf<typeof GatewayListenerOptions>;

type Ctx = ListenerContext<GatewayListenerConfig>;

/** What `authorize` found, handed to `open`: the bridged room, or why the session must be closed. */
type Admission = { room: ResourceRef; participantId: string } | { refusal: 'missing_params' | 'unknown_room' };

class GatewaySession implements SessionHooks {
  readonly variant: Variant;
  readonly #io: SessionIO;
  readonly #ctx: Ctx;
  readonly #participantId: string;
  /** True until a tick finds no client heartbeat since the tick before. Starts true: the first
   *  tick only starts the exchange, as the client has had no server `e:1` to answer yet. */
  #alive = true;
  #timer: Timer | null = null;
  #closed = false;

  constructor(io: SessionIO, ctx: Ctx, room: ResourceRef, participantId: string) {
    this.#io = io;
    this.#ctx = ctx;
    this.#participantId = participantId;
    this.variant = variantFor(ctx.config.profile);
    // Subscribe before the hello, so nothing published after the client sees it is missed.
    io.subscribe(ctx.subjects.resourceEvents(room.upstream, ROOM_RESOURCE, room.id));
    const link = room.link ? ctx.subjects.event(room.upstream, LINK_STATE_TYPE, room.link.id) : null;
    if (link) io.subscribe(link);
    io.send(helloFrame(ctx.config.heartbeatIntervalMs, this.variant));
    this.#timer = ctx.clock.setInterval(() => this.#tick(), ctx.config.heartbeatIntervalMs);
    if (link) void this.#checkLink(link);
  }

  /** A dashboard opening a room whose link already failed for good is closed as that link was. */
  async #checkLink(subject: string): Promise<void> {
    const state = await this.#io.last(subject).catch(() => undefined);
    if (state && !this.#closed) this.#linkState(state);
  }

  #linkState(event: BridgeEvent): void {
    const data = event.data as Partial<UpstreamStateData> | null;
    if (data?.state !== 'failed') return;
    // The link's own row (1014 unknown room, 4001 kicked); 1014 when it names none.
    this.#close(closingRow(data.code, 'BRIDGE_ERR_NOT_FOUND'), data.reason);
  }

  onMessage(text: string): void {
    if (this.#closed) return;
    const read = readFrame(text);
    if (!read.ok) {
      this.#ctx.telemetry.dropped('bad_frame');
      if (read.error === 'json') return this.#close('BRIDGE_ERR_BAD_FRAME', 'not JSON');
      return this.#close('BRIDGE_ERR_UNSUPPORTED_DATA', 'not an {e, d} packet');
    }
    switch (read.packet.e) {
      case CLIENT_EVENTS.heartbeat:
        this.#alive = true;
        return;
      case CLIENT_EVENTS.heartbeatAck:
        return;
      default:
        this.#ctx.telemetry.dropped('unknown_event');
        return this.#close('BRIDGE_ERR_UNSUPPORTED_DATA', `event ${read.packet.e} is not sent by clients`);
    }
  }

  #tick(): void {
    if (this.#closed) return;
    if (!this.#alive) {
      this.#ctx.telemetry.heartbeatTimeout();
      return this.#close('BRIDGE_ERR_ROOM_SESSION_ENDED', 'heartbeat timeout');
    }
    this.#alive = false;
    this.#io.send(HEARTBEAT_FRAME);
  }

  onEvent(event: BridgeEvent, frame: Buffer): void {
    if (this.#closed) return;
    if (event.type === LINK_STATE_TYPE) return this.#linkState(event);
    this.#io.send(frame);
    // The later server closes a kicked participant's own sockets with 4001, after the broadcast.
    if (event.type === ROOM_TYPES.kicked && isLatest(this.variant) && (event.data as { userId?: unknown })?.userId === this.#participantId) {
      this.#stop();
      this.#io.close('BRIDGE_ERR_ROOM_SESSION_ENDED', 'participant kicked');
    }
  }

  onClose(): void {
    this.#stop();
  }

  #close(code: CloseErrorCode, detail?: string): void {
    this.#stop();
    this.#io.close(code, detail);
  }

  #stop(): void {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
  }
}

/** The hooks of a session that was closed 1014 on open: it ignores whatever still arrives. */
function refusedSession(variant: Variant): SessionHooks {
  return { variant, onMessage() {}, onEvent() {}, onClose() {} };
}

/** Finds the bridged room a dashboard asks for; query parameters as the real gateway reads them. */
function admit(ctx: Ctx, req: UpgradeRequest): Admission {
  const roomId = req.query.get('roomId') ?? '';
  const participantId = req.query.get('participantId') ?? '';
  if (roomId === '' || participantId === '') return { refusal: 'missing_params' };
  // Several upstreams could bridge the same room id; the first listed serves it.
  const room = ctx.resources().find((r) => r.resource === ROOM_RESOURCE && r.id === roomId);
  return room ? { room, participantId } : { refusal: 'unknown_room' };
}

/** The listener role: no HTTP routes; every upgrade accepted, bad ones closed 1014 right after. */
export function createGatewayListener(ctx: Ctx): ListenerRole {
  const variant = variantFor(ctx.config.profile);
  return {
    routes: [],
    authorize(req: UpgradeRequest): UpgradeVerdict {
      // No credential follows the upgrade (the room is the credential): no auth deadline.
      return { accept: true, state: admit(ctx, req), authenticated: true };
    },
    open(io, _req, state) {
      const admission = state as Admission;
      if ('refusal' in admission) {
        // A room id is what a stranger would guess: admission control hears of each miss.
        io.authFailed(admission.refusal);
        io.close('BRIDGE_ERR_NOT_FOUND', admission.refusal === 'unknown_room' ? 'room not bridged' : 'roomId and participantId are required');
        return refusedSession(variant);
      }
      return new GatewaySession(io, ctx, admission.room, admission.participantId);
    },
  };
}
