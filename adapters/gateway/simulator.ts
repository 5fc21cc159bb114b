/**
 * An anonroom site's `/gateway`: the demo upstream of the gateway protocol and the real upstream
 * of its end-to-end tests. It follows REAL-BEHAVIOUR.md: every upgrade is accepted and a bad
 * room, participant or (later profile) cookie is closed 1014; hello at once; server `e:1` every
 * interval; 4001 when the client missed a beat; room_close leaves sockets open; in the later
 * profile a kick is a `participant_update {kicked:true}` plus 4001 for the kicked one's sockets.
 *
 * Payloads are written here from the protocol text, not through the codec's event encoder, so the
 * end-to-end tests check the relay against an independent rendering of the wire.
 */
import { HostedSimulator, Type, keepLast, listenSimulator } from '../../src/simulator-kit.ts';
import type { ConnectionHooks, HostConnection, HttpRequest, SimulatorContext, SimulatorEndpoint, SimulatorFactory, SimulatorStart, Static, Timer } from '../../src/simulator-kit.ts';
import { encodeFrame, isLatest } from './codec.ts';
import { SimSocket, type ReceivedPacket } from './simulator-session.ts';
import { CLOSE_CODES, DEFAULT_HEARTBEAT_MS, GATEWAY_PATH, LATEST_EVENTS, PROFILES, SEED_EVENTS, WEBHOOK_FIELDS, participantCredential } from './vocabulary.ts';

const ParticipantOptions = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    /** The later profile's cookie value; default `<id>-secret`. */
    secret: Type.Optional(Type.String({ minLength: 1 })),
    name: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** The demo rooms; `relay` is the participant a demo upstream connects as. */
const DEMO_ROOMS = [
  { id: 'lobby', participants: [{ id: 'relay' }, { id: 'alice', name: 'Alice' }, { id: 'bob', name: 'Bob' }] },
  { id: 'games', participants: [{ id: 'relay' }, { id: 'carol', name: 'Carol' }] },
];

/** Config options of the gateway simulator (besides `name`, `protocol`, `host`, `port`). */
export const GatewaySimulatorOptions = Type.Object(
  {
    profile: Type.Union(PROFILES.map((p) => Type.Literal(p)), { default: 'seed', description: 'Which anonroom version to behave as.' }),
    heartbeatIntervalMs: Type.Integer({ minimum: 1, default: DEFAULT_HEARTBEAT_MS, description: 'The `heartbeatInterval` of hello, and the server heartbeat period.' }),
    messageIntervalMs: Type.Integer({ minimum: 0, default: 4000, description: 'Demo chatter period per room; 0 disables it.' }),
    rooms: Type.Array(
      Type.Object({ id: Type.String({ minLength: 1 }), participants: Type.Array(ParticipantOptions, { default: [] }) }, { additionalProperties: false }),
      { default: DEMO_ROOMS, description: 'Rooms and their participants.' },
    ),
  },
  { additionalProperties: false },
);
export type GatewaySimulatorConfig = Static<typeof GatewaySimulatorOptions>;

/** A participant's changeable properties, as `updateParticipant` takes them. */
export interface ParticipantPatch {
  banned?: boolean;
  color?: boolean | string;
  admin?: boolean;
  online?: boolean;
  muted?: boolean;
  name?: string;
  /** Any other field a newer server sends. */
  [field: string]: unknown;
}

/** A room's changeable properties, named canonically (the webhook is written per profile). */
export interface RoomPatch {
  maxParticipants?: number;
  chatLocked?: boolean;
  roomLocked?: boolean;
  discordWebhookLink?: string | null;
}

interface Participant {
  id: string;
  secret: string;
  name?: string;
}

interface Room {
  readonly id: string;
  readonly participants: Map<string, Participant>;
  readonly sockets: Set<SimSocket>;
  closed: boolean;
  chatter: number;
}

/** Lines of the demo chatter; every fifth message is a system message (no author). */
const CHATTER: readonly string[] = ['hi all', 'anyone up for a round?', 'brb', 'that was close', 'gg'];

export class GatewaySimulator extends HostedSimulator<GatewaySimulatorConfig> {
  /** Base URL; the gateway is at `<url>/gateway`. Credentials: `<room>/<participant>` → secret. */
  declare readonly endpoint: SimulatorEndpoint;
  /** The last RECORD_LIMIT packets any client sent, in arrival order. */
  readonly received: ReceivedPacket[] = [];
  /** Frames that were not packets (the real server would have crashed on them). */
  badFrames = 0;
  readonly profile: GatewaySimulatorConfig['profile'];

  readonly #rooms = new Map<string, Room>();
  readonly #credentials: Record<string, string>;
  #chatter: Timer | null = null;

  private constructor(start: SimulatorStart<GatewaySimulatorConfig>) {
    const credentials: Record<string, string> = {};
    super(start, credentials);
    this.#credentials = credentials;
    const { ctx, config } = start;
    this.profile = config.profile;
    for (const r of config.rooms) {
      const room: Room = { id: r.id, participants: new Map(), sockets: new Set(), closed: false, chatter: 0 };
      this.#rooms.set(r.id, room);
      for (const p of r.participants) this.#addParticipant(room, p);
    }
    if (config.messageIntervalMs > 0) this.#chatter = ctx.clock.setInterval(() => this.#chat(), config.messageIntervalMs);
  }

  /** Starts listening on `host:port` (0 picks a free port). Missing options take their defaults. */
  static async start(ctx: SimulatorContext<GatewaySimulatorConfig>, host: string, port: number): Promise<GatewaySimulator> {
    const start = await listenSimulator(GatewaySimulatorOptions, ctx, host, port);
    const { config, web, url } = start;
    const sim = new GatewaySimulator(start);
    web.endpoint({
      path: GATEWAY_PATH,
      // The real gateway upgrades first and judges after: refusals are close frames, not HTTP.
      authorize: () => ({ accept: true }),
      open: (conn, req) => sim.#open(conn, req),
    });
    ctx.log.info('gateway simulator listening', { url, profile: config.profile, rooms: config.rooms.length });
    return sim;
  }

  protected shutdown(): void {
    this.#chatter?.cancel();
    for (const room of this.#rooms.values()) for (const s of room.sockets) s.dispose();
  }

  // ---- test controls ------------------------------------------------------------------------

  /** Broadcasts `message_create`; no `authorId` makes it a system message. */
  message(roomId: string, content: string, authorId?: string): void {
    const d = authorId === undefined ? { content, roomId, sentAt: this.ctx.clock.now() } : { content, authorId, roomId, sentAt: this.ctx.clock.now() };
    this.#broadcast(this.#room(roomId), SEED_EVENTS.messageCreate, d);
  }

  /** Broadcasts `room_update` with the update body; the webhook field is named as this profile names it. */
  updateRoom(roomId: string, patch: RoomPatch): void {
    const { discordWebhookLink, ...rest } = patch;
    const d: Record<string, unknown> = { ...rest };
    if (discordWebhookLink !== undefined) d[isLatest(this.profile) ? WEBHOOK_FIELDS.latest : WEBHOOK_FIELDS.seed] = discordWebhookLink;
    this.#broadcast(this.#room(roomId), SEED_EVENTS.roomUpdate, d);
  }

  /**
   * Kicks a participant: it leaves the roster (a rejoin is refused 1014). Seed: `participant_kick
   * {userId}`. Later: `participant_update {id, online:false, kicked:true}`, then 4001 for its sockets.
   */
  kick(roomId: string, userId: string): void {
    const room = this.#room(roomId);
    room.participants.delete(userId);
    if (!isLatest(this.profile)) return this.#broadcast(room, SEED_EVENTS.participantKick, { userId });
    this.#broadcast(room, LATEST_EVENTS.participantUpdate, { id: userId, online: false, kicked: true });
    for (const s of room.sockets) if (s.participantId === userId) s.close(CLOSE_CODES.heartbeatTimeout, 'kicked');
  }

  /** Broadcasts `participant_update {id, …changed}`. */
  updateParticipant(roomId: string, userId: string, patch: ParticipantPatch): void {
    this.#broadcast(this.#room(roomId), SEED_EVENTS.participantUpdate, { id: userId, ...patch });
  }

  /** Adds a participant; the later profile announces it as `participant_join`, the seed one has no such event. */
  join(roomId: string, participant: { id: string; secret?: string; name?: string }): void {
    const room = this.#room(roomId);
    const added = this.#addParticipant(room, participant);
    if (!isLatest(this.profile)) return;
    this.#broadcast(room, LATEST_EVENTS.participantJoin, added.name === undefined ? { id: added.id } : { id: added.id, name: added.name });
  }

  /** Broadcasts `room_close {}`; the sockets stay open (as on the real site), new ones are refused 1014. */
  closeRoom(roomId: string): void {
    const room = this.#room(roomId);
    room.closed = true;
    this.#broadcast(room, isLatest(this.profile) ? LATEST_EVENTS.roomClose : SEED_EVENTS.roomClose, {});
  }

  /** Closes every socket of a room with `code` (e.g. 4001 or 1014 to test the relay's reaction). */
  disconnect(roomId: string, code: number, reason = ''): void {
    for (const s of this.#room(roomId).sockets) s.close(code, reason);
  }

  /** Terminates every socket without a close frame (a site crash, for reconnect tests). */
  dropAll(): void {
    for (const room of this.#rooms.values()) for (const s of room.sockets) s.terminate();
  }

  /** Open sockets of a room. */
  connectionCount(roomId: string): number {
    return this.#rooms.get(roomId)?.sockets.size ?? 0;
  }

  /** The secret of a participant (the later profile's cookie value), or undefined. */
  secretOf(roomId: string, participantId: string): string | undefined {
    return this.#rooms.get(roomId)?.participants.get(participantId)?.secret;
  }

  // ---- internals ----------------------------------------------------------------------------

  #room(roomId: string): Room {
    const room = this.#rooms.get(roomId);
    if (!room) throw new Error(`gateway simulator: unknown room ${roomId}`);
    return room;
  }

  #addParticipant(room: Room, p: { id: string; secret?: string; name?: string }): Participant {
    const participant: Participant = { id: p.id, secret: p.secret ?? `${p.id}-secret` };
    if (p.name !== undefined) participant.name = p.name;
    room.participants.set(p.id, participant);
    this.#credentials[participantCredential(room.id, p.id)] = participant.secret;
    return participant;
  }

  #broadcast(room: Room, e: number, d: unknown): void {
    const frame = encodeFrame({ e, d });
    if (frame !== null) for (const s of room.sockets) s.send(frame);
  }

  #open(conn: HostConnection, req: HttpRequest): ConnectionHooks {
    const roomId = req.query.get('roomId') ?? '';
    const participantId = req.query.get('participantId') ?? '';
    const room = this.#rooms.get(roomId);
    const participant = room?.participants.get(participantId);
    const cookieOk = !isLatest(this.profile) || (participant !== undefined && cookie(req.headers.cookie, roomId) === participant.secret);
    if (!room || room.closed || !participant || !cookieOk) {
      conn.close(CLOSE_CODES.unknownRoom, 'invalid room or participant');
      return { onMessage() {}, onClose() {} };
    }
    const socket = new SimSocket(conn, roomId, participantId, {
      clock: this.ctx.clock,
      profile: this.profile,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      record: (packet) => keepLast(this.received, packet),
      badFrame: () => void (this.badFrames += 1),
    });
    room.sockets.add(socket);
    return socket.hooks(room.sockets);
  }

  /** One chatter line per open room: participants other than `relay` take turns; every fifth is a system message. */
  #chat(): void {
    for (const room of this.#rooms.values()) {
      if (room.closed) continue;
      const n = room.chatter++;
      const speakers = [...room.participants.keys()].filter((id) => id !== 'relay');
      if (n % 5 === 4 || speakers.length === 0) this.message(room.id, `Room ${room.id} has been up for ${n + 1} rounds`);
      else this.message(room.id, CHATTER[n % CHATTER.length]!, speakers[n % speakers.length]);
    }
  }
}

/** The value of cookie `name` in a Cookie header; names and values are percent-decoded. */
function cookie(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    if (safeDecode(pair.slice(0, eq).trim()) === name) return safeDecode(pair.slice(eq + 1).trim());
  }
  return undefined;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The simulator half of the gateway adapter (src/registry.ts joins it to the roles in index.ts). */
export const gatewaySimulator: SimulatorFactory<typeof GatewaySimulatorOptions> = {
  simulatorOptions: GatewaySimulatorOptions,
  startSimulator: (ctx, host, port) => GatewaySimulator.start(ctx, host, port),
};
