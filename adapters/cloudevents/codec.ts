/**
 * The pure codec of the CloudEvents dialect. No I/O, no timers, no logging, and no function here
 * throws, whatever it is fed: a frame that does not fit is `null`, and the caller answers or
 * counts it.
 *
 * Frames, client → server: `{"op":"subscribe"|"unsubscribe","subject"}`, and `{"op":"auth","key"}`
 * (the client key in the first frame, for clients that cannot set a header on the upgrade).
 * Frames, server → client: the replies `{"op":"subscribed"|"unsubscribed","subject"}`,
 * `{"op":"authenticated"}` and `{"op":"error","code","message","subject"?}`, and events, each a BridgeEvent as-is (CloudEvents
 * 1.0 structured JSON). An event has no `op` and a reply has no `specversion`, so one look at the
 * parsed object tells them apart.
 */
import { parseJson, type BridgeEvent, type EventEncoder } from '../../src/adapter-kit.ts';
import { ClientMessageCheck, EventCheck, ServerReplyCheck, type ClientMessage, type ServerReply } from './schema.ts';
import { CLIENT_OPS, SERVER_OPS, type ReplyError } from './vocabulary.ts';

export type { AuthMessage, ClientMessage, ServerReply, SubscriptionMessage } from './schema.ts';

/** What the relay (as a client of another relay or a producer) can receive. */
export type InboundFrame = { kind: 'reply'; reply: ServerReply } | { kind: 'event'; event: BridgeEvent };

/** A fresh `{op, subject}` or `{op, key}`: the parsed object is never handed out, so callers own what they get. */
function clientFrom(value: unknown): ClientMessage | null {
  if (!ClientMessageCheck.Check(value)) return null;
  return value.op === CLIENT_OPS.auth ? { op: value.op, key: value.key } : { op: value.op, subject: value.subject };
}

function replyFrom(value: unknown): ServerReply | null {
  if (!ServerReplyCheck.Check(value)) return null;
  if (value.op === SERVER_OPS.authenticated) return { op: value.op };
  if (value.op !== SERVER_OPS.error) return { op: value.op, subject: value.subject };
  return value.subject === undefined
    ? { op: value.op, code: value.code, message: value.message }
    : { op: value.op, code: value.code, message: value.message, subject: value.subject };
}

/** A client frame → `{op, subject}` or `{op, key}`; null when it is not JSON or not exactly that shape. The subject is checked separately (subject.ts). */
export function decodeClient(text: string): ClientMessage | null {
  return clientFrom(parseJson(text));
}

/** A client message → the client frame, keys in a fixed order. */
export function encodeClient(message: ClientMessage): string {
  if (message.op === CLIENT_OPS.auth) return `{"op":${JSON.stringify(message.op)},"key":${JSON.stringify(message.key)}}`;
  return `{"op":${JSON.stringify(message.op)},"subject":${JSON.stringify(message.subject)}}`;
}

/** A server frame that is a reply → the reply; null otherwise (events included). */
export function decodeServerMessage(text: string): ServerReply | null {
  return replyFrom(parseJson(text));
}

/** A reply → the server frame, keys in a fixed order (`subject` last, left out when absent). */
export function encodeServerMessage(reply: ServerReply): string {
  const head = `{"op":${JSON.stringify(reply.op)}`;
  if (reply.op === SERVER_OPS.authenticated) return `${head}}`;
  if (reply.op !== SERVER_OPS.error) return `${head},"subject":${JSON.stringify(reply.subject)}}`;
  const tail = reply.subject === undefined ? '' : `,"subject":${JSON.stringify(reply.subject)}`;
  return `${head},"code":${JSON.stringify(reply.code)},"message":${JSON.stringify(reply.message)}${tail}}`;
}

/** An error reply frame. `subject` is echoed only when given (a frame that was not JSON has none). */
export function errorFrame(code: ReplyError, message: string, subject?: string): string {
  return encodeServerMessage(subject === undefined ? { op: SERVER_OPS.error, code, message } : { op: SERVER_OPS.error, code, message, subject });
}

/** A server frame that is an event → the BridgeEvent, checked against the event schema; null otherwise. */
export function decodeEvent(text: string): BridgeEvent | null {
  const value = parseJson(text);
  return EventCheck.Check(value) ? (value as BridgeEvent) : null;
}

/** One server frame → a reply or an event, parsing the JSON once; null for anything else. */
export function decodeInbound(text: string): InboundFrame | null {
  const value = parseJson(text);
  if (EventCheck.Check(value)) return { kind: 'event', event: value as BridgeEvent };
  const reply = replyFrom(value);
  return reply === null ? null : { kind: 'reply', reply };
}

/**
 * The EventEncoder of the dialect: the BridgeEvent itself, for every type. `variant` is ignored,
 * so the hub encodes each event once and every CloudEvents session shares the bytes. null only
 * for data JSON cannot carry (a BigInt, a cycle), which the hub counts as unmapped.
 */
export const encodeEvent: EventEncoder = function encodeCloudEvent(event) {
  try {
    const text = JSON.stringify(event);
    return typeof text === 'string' ? text : null;
  } catch {
    return null;
  }
};
