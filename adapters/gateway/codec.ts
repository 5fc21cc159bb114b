/**
 * The pure codec of the room gateway: text frame ⇄ {@link GatewayPacket} ⇄ canonical `room.*`
 * event, for both numberings. No I/O, no timers, no logging; nothing here throws whatever it is
 * fed. A frame or payload that does not fit is `null` and the caller counts it.
 *
 * Field names follow REAL-BEHAVIOUR.md where it is more specific than the document: outbound,
 * `participant_update` names the participant `id` and `message_create` carries `roomId` in both
 * profiles; the webhook field is the profile's own (`discordWebhookLink` seed, `discordWebhook`
 * later). Inbound, both spellings of each are read.
 */
import { LINK_STATE_TYPE, parseJson, type BridgeEvent, type EventEncoder } from '../../src/adapter-kit.ts';
import {
  FrameCheck,
  HelloCheck,
  JoinedDataCheck,
  JoinWireCheck,
  KickedDataCheck,
  KickWireCheck,
  MessageDataCheck,
  MessageWireCheck,
  ParticipantUpdatedDataCheck,
  ParticipantUpdateWireCheck,
  RoomUpdatedDataCheck,
  RoomUpdateWireCheck,
  WrappedHelloCheck,
  type MessageData,
  type ParticipantUpdatedData,
  type RoomUpdatedData,
} from './schema.ts';
import { LATEST_EVENTS, ROOM_TYPES, SEED_EVENTS, VARIANTS, WEBHOOK_FIELDS, type Profile, type Variant } from './vocabulary.ts';

/** One `{e, d}` packet. `d` is whatever JSON the frame carried (`{}` when it had none). */
export interface GatewayPacket {
  readonly e: number;
  readonly d: unknown;
}

/** A canonical event as the upstream link publishes it (the id is the link's room). */
export interface RoomEvent {
  readonly type: string;
  readonly data: unknown;
}

/** Why a frame was refused: not JSON at all, or JSON that is not an `{e: integer ≥ 0}` object. */
export type FrameRead = { ok: true; packet: GatewayPacket } | { ok: false; error: 'json' | 'shape' };

/** The heartbeat both sides send; constant, so it is never re-serialized. */
export const HEARTBEAT_FRAME = '{"e":1,"d":{}}';

/** Parses a text frame and says why it failed, for the session's 1007 / 1003 choice. */
export function readFrame(text: string): FrameRead {
  const value = parseJson(text);
  if (value === undefined) return { ok: false, error: 'json' };
  if (!FrameCheck.Check(value)) return { ok: false, error: 'shape' };
  // JSON allows -0, which is an integer ≥ 0; fold it so 0 compares and re-encodes as 0.
  const e = value.e === 0 ? 0 : value.e;
  return { ok: true, packet: { e, d: value.d === undefined ? {} : value.d } };
}

/** Parses a text frame; null for non-JSON or anything but an object with an integer `e` ≥ 0. */
export function decodeFrame(text: string): GatewayPacket | null {
  const read = readFrame(text);
  return read.ok ? read.packet : null;
}

/** Writes a packet as `{"e":N,"d":…}`; null when `e` is not an integer ≥ 0 or `d` is not serializable. */
export function encodeFrame(p: GatewayPacket): string | null {
  if (typeof p !== 'object' || p === null || !Number.isInteger(p.e) || p.e < 0) return null;
  try {
    const d = JSON.stringify(p.d === undefined ? {} : p.d);
    return d === undefined ? null : `{"e":${p.e === 0 ? 0 : p.e},"d":${d}}`;
  } catch {
    return null;
  }
}

/** True for the names of the later numbering: its profile (`anonroom-latest`) or variant (`latest`). */
export function isLatest(profileOrVariant: string): boolean {
  return profileOrVariant === VARIANTS.latest || profileOrVariant === 'anonroom-latest';
}

/** The encoding variant of a profile. */
export function variantFor(profile: Profile | string): Variant {
  return isLatest(profile) ? VARIANTS.latest : VARIANTS.seed;
}

/** The hello a server sends at once: plain in the seed profile, double-wrapped in the later one. */
export function helloFrame(heartbeatIntervalMs: number, profileOrVariant: string): string {
  const hello = `{"e":0,"d":{"heartbeatInterval":${heartbeatIntervalMs}}}`;
  return isLatest(profileOrVariant) ? `{"e":0,"d":${hello}}` : hello;
}

/** The interval of a hello's `d`, in either shape (read leniently: a profile mix-up still connects). */
export function helloInterval(d: unknown): number | null {
  if (HelloCheck.Check(d)) return d.heartbeatInterval;
  if (WrappedHelloCheck.Check(d)) return d.d.heartbeatInterval;
  return null;
}

// ---- upstream direction: packet → canonical ----------------------------------------------------

/**
 * A server packet → canonical `{type, data}` in the given profile's numbering. null for the
 * control packets (hello, heartbeat, heartbeat_ack: the link handles them), ids the profile does
 * not define, and payloads that do not fit.
 */
export function packetToEvent(p: GatewayPacket, profile: string): RoomEvent | null {
  if (typeof p !== 'object' || p === null) return null;
  const latest = isLatest(profile);
  switch (p.e) {
    case SEED_EVENTS.messageCreate:
      return messageFromWire(p.d);
    case SEED_EVENTS.roomUpdate:
      return roomUpdateFromWire(p.d, latest);
    case SEED_EVENTS.participantUpdate:
      return participantUpdateFromWire(p.d);
  }
  if (latest) {
    if (p.e === LATEST_EVENTS.participantJoin) return joinFromWire(p.d);
    if (p.e === LATEST_EVENTS.roomClose) return { type: ROOM_TYPES.closed, data: {} };
  } else {
    if (p.e === SEED_EVENTS.participantKick) return kickFromWire(p.d);
    if (p.e === SEED_EVENTS.roomClose) return { type: ROOM_TYPES.closed, data: {} };
  }
  return null;
}

function messageFromWire(d: unknown): RoomEvent | null {
  if (!MessageWireCheck.Check(d)) return null;
  // No authorId (or null) is a system message; the canonical payload then has no authorId at all.
  const data: MessageData = typeof d.authorId === 'string' ? { authorId: d.authorId, content: d.content, sentAt: d.sentAt } : { content: d.content, sentAt: d.sentAt };
  return { type: ROOM_TYPES.message, data };
}

function roomUpdateFromWire(d: unknown, latest: boolean): RoomEvent | null {
  if (!RoomUpdateWireCheck.Check(d)) return null;
  const data: RoomUpdatedData = {};
  if (d.chatLocked !== undefined) data.chatLocked = d.chatLocked;
  if (d.roomLocked !== undefined) data.roomLocked = d.roomLocked;
  if (d.maxParticipants !== undefined) data.maxParticipants = d.maxParticipants;
  // Both spellings are read; when a body carries both, the profile's own name wins.
  const [own, other] = latest ? [d.discordWebhook, d.discordWebhookLink] : [d.discordWebhookLink, d.discordWebhook];
  const webhook = own !== undefined ? own : other;
  if (webhook !== undefined) data.discordWebhookLink = webhook;
  return { type: ROOM_TYPES.updated, data };
}

function kickFromWire(d: unknown): RoomEvent | null {
  if (!KickWireCheck.Check(d)) return null;
  const userId = d.userId ?? d.id;
  return userId === undefined ? null : { type: ROOM_TYPES.kicked, data: { userId } };
}

function participantUpdateFromWire(d: unknown): RoomEvent | null {
  if (!ParticipantUpdateWireCheck.Check(d)) return null;
  const userId = d.id ?? d.userId;
  if (userId === undefined) return null;
  // The later server's kick; read in either profile, so a misconfigured profile still sees kicks.
  if (d.kicked === true) return { type: ROOM_TYPES.kicked, data: { userId } };
  // Every changed field travels, known or not (a newer server's field must not vanish). Rest and
  // spread copy own data properties only, so a `__proto__` key in the JSON stays a plain key.
  const { id: _id, userId: _userId, kicked: _kicked, ...changed } = d;
  const data: ParticipantUpdatedData = { userId, ...changed };
  return { type: ROOM_TYPES.participantUpdated, data };
}

function joinFromWire(d: unknown): RoomEvent | null {
  if (!JoinWireCheck.Check(d)) return null;
  // Rest/spread copy own data properties only, so a `__proto__` key in the JSON stays a plain key.
  const { id, userId, ...rest } = d as { id?: string; userId?: string } & Record<string, unknown>;
  const who = id ?? userId;
  return who === undefined ? null : { type: ROOM_TYPES.joined, data: { userId: who, ...rest } };
}

// ---- downstream direction: canonical → packet ------------------------------------------------

/** Canonical event → the packet a dashboard of `variant` gets; null = this numbering cannot express it. */
export function eventToPacket(event: BridgeEvent, variant: string): GatewayPacket | null {
  if (typeof event !== 'object' || event === null) return null;
  const latest = isLatest(variant);
  const data: unknown = event.data;
  switch (event.type) {
    case ROOM_TYPES.message: {
      if (!MessageDataCheck.Check(data)) return null;
      const d: Record<string, unknown> = { content: data.content };
      if (data.authorId !== undefined) d.authorId = data.authorId;
      if (typeof event.subject === 'string') d.roomId = event.subject;
      d.sentAt = data.sentAt;
      return { e: SEED_EVENTS.messageCreate, d };
    }
    case ROOM_TYPES.updated: {
      if (!RoomUpdatedDataCheck.Check(data)) return null;
      const d: Record<string, unknown> = {};
      if (data.maxParticipants !== undefined) d.maxParticipants = data.maxParticipants;
      if (data.chatLocked !== undefined) d.chatLocked = data.chatLocked;
      if (data.roomLocked !== undefined) d.roomLocked = data.roomLocked;
      if (data.discordWebhookLink !== undefined) d[latest ? WEBHOOK_FIELDS.latest : WEBHOOK_FIELDS.seed] = data.discordWebhookLink;
      return { e: SEED_EVENTS.roomUpdate, d };
    }
    case ROOM_TYPES.kicked:
      if (!KickedDataCheck.Check(data)) return null;
      return latest
        ? { e: LATEST_EVENTS.participantUpdate, d: { id: data.userId, online: false, kicked: true } }
        : { e: SEED_EVENTS.participantKick, d: { userId: data.userId } };
    case ROOM_TYPES.participantUpdated: {
      if (!ParticipantUpdatedDataCheck.Check(data)) return null;
      // Every field of the event goes out; a stray `id` (or `kicked`) must not override the update's own meaning.
      const { userId, id: _stray, kicked: _kicked, ...changed } = data as ParticipantUpdatedData & { id?: unknown; kicked?: unknown };
      return { e: SEED_EVENTS.participantUpdate, d: { id: userId, ...changed } };
    }
    case ROOM_TYPES.joined: {
      // The seed numbering has no join event: unmapped (the hub counts it).
      if (!latest || !JoinedDataCheck.Check(data)) return null;
      // A stray `id` in the open payload must not override the participant's own.
      const { userId, id: _stray, ...rest } = data as { userId: string; id?: unknown } & Record<string, unknown>;
      return { e: LATEST_EVENTS.participantJoin, d: { id: userId, ...rest } };
    }
    case ROOM_TYPES.closed:
      return { e: latest ? LATEST_EVENTS.roomClose : SEED_EVENTS.roomClose, d: {} };
    default:
      return null;
  }
}

/** The EventEncoder of the gateway dialect: `encodeFrame(eventToPacket(event, variant))`, or null (unmapped). */
export const encode: EventEncoder = function encodeGateway(event, variant) {
  // A room link's state has no packet: anonroom says "this room is gone for you" by closing the
  // socket (1014, 4001), which the session does; the empty frame hands the state to it.
  if (event?.type === LINK_STATE_TYPE) return '';
  const packet = eventToPacket(event, variant);
  return packet === null ? null : encodeFrame(packet);
};
