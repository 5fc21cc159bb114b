/**
 * The neutral event (BridgeEvent, a CloudEvents 1.0 event in structured JSON mode) and the neutral
 * command (BridgeCommand). Adapters turn wire packets into these and back; nothing else crosses the bus.
 */
import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { EVENT_TYPES } from './event-types.ts';

export const BridgeEventSchema = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Type.String({ minLength: 1 }),
  source: Type.String({ pattern: '^bridge://' }),
  type: Type.String({ pattern: '^[a-z]+(\\.[a-z]+)+$' }),
  subject: Type.String({ minLength: 1 }),
  time: Type.String(),
  datacontenttype: Type.Literal('application/json'),
  data: Type.Unknown(),
  bridgenode: Type.String(),
  bridgehop: Type.Integer({ minimum: 0 }),
});

/** A BridgeEvent. `D` is the canonical payload of its type (DESIGN §3). */
export interface BridgeEvent<D = unknown> extends Omit<Static<typeof BridgeEventSchema>, 'data'> {
  data: D;
}

export const COMMAND_TYPES = ['server.power', 'server.command', 'server.logs.request', 'server.stats.request'] as const;
export type CommandType = (typeof COMMAND_TYPES)[number];

export interface BridgeCommand<D = unknown> {
  type: CommandType;
  upstream: string;
  resource: string;
  id: string;
  data: D;
}

export const BridgeCommandSchema = Type.Object({
  type: Type.Union(COMMAND_TYPES.map((t) => Type.Literal(t))),
  upstream: Type.String({ minLength: 1 }),
  resource: Type.String({ minLength: 1 }),
  id: Type.String({ minLength: 1 }),
  data: Type.Unknown(),
});

/** The answer to a command: it reached the upstream, or why not (a BRIDGE_ERR_* code). */
export type CommandReply = { ok: true; data?: unknown } | { ok: false; code: string; message: string };

export interface EventOrigin {
  upstream: string;
  node: string;
  /** Milliseconds since the epoch; defaults to now. */
  receivedAt?: number;
  hop?: number;
}

/** Builds a BridgeEvent. `id` is the resource id the event is about (server uuid, guild id, room id, `_`). */
export function makeEvent<D>(origin: EventOrigin, type: string, id: string, data: D): BridgeEvent<D> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: `bridge://${origin.upstream}`,
    type,
    subject: id,
    time: new Date(origin.receivedAt ?? Date.now()).toISOString(),
    datacontenttype: 'application/json',
    data,
    bridgenode: origin.node,
    bridgehop: origin.hop ?? 0,
  };
}

/** The upstream name of an event (`source` without its `bridge://` scheme). */
export function eventUpstream(event: BridgeEvent): string {
  return event.source.slice('bridge://'.length);
}

/** The canonical type of a link's state, published by the relay itself (see UpstreamStateData). */
export const LINK_STATE_TYPE = EVENT_TYPES.upstreamState;

export const POWER_ACTIONS = ['start', 'stop', 'restart', 'kill'] as const;
export type PowerAction = (typeof POWER_ACTIONS)[number];
