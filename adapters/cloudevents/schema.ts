/**
 * TypeBox schemas of the CloudEvents dialect's wire: the client's `op` messages, the server's
 * replies, and the event itself. Each is compiled once at module load; the checks run on every
 * frame, so nothing is compiled per call.
 *
 * The `op` messages are closed (`additionalProperties: false`): this is our own dialect, and a
 * typo such as `"subjects"` is better answered with an error than ignored. The event schema stays
 * open, as CloudEvents allows extension attributes.
 */
import { BridgeEventSchema, Type, TypeCompiler, type Static } from '../../src/adapter-kit.ts';
import { CLIENT_OPS, SERVER_OPS } from './vocabulary.ts';

/** `{"op":"subscribe"|"unsubscribe","subject":"<upstream>.<resource>.<id>.<event…>"}` */
export const SubscriptionMessageSchema = Type.Object(
  {
    op: Type.Union([Type.Literal(CLIENT_OPS.subscribe), Type.Literal(CLIENT_OPS.unsubscribe)]),
    subject: Type.String(),
  },
  { additionalProperties: false },
);
export type SubscriptionMessage = Static<typeof SubscriptionMessageSchema>;

/** `{"op":"auth","key":"<client key>"}`: the key in the first frame instead of the upgrade's header. */
export const AuthMessageSchema = Type.Object(
  {
    op: Type.Literal(CLIENT_OPS.auth),
    key: Type.String(),
  },
  { additionalProperties: false },
);
export type AuthMessage = Static<typeof AuthMessageSchema>;

export const ClientMessageSchema = Type.Union([SubscriptionMessageSchema, AuthMessageSchema]);
export type ClientMessage = Static<typeof ClientMessageSchema>;

/** `{"op":"subscribed"|"unsubscribed","subject"}` */
const AckSchema = Type.Object(
  {
    op: Type.Union([Type.Literal(SERVER_OPS.subscribed), Type.Literal(SERVER_OPS.unsubscribed)]),
    subject: Type.String(),
  },
  { additionalProperties: false },
);

/** `{"op":"authenticated"}`: the answer to a good `auth` frame. */
const AuthenticatedSchema = Type.Object({ op: Type.Literal(SERVER_OPS.authenticated) }, { additionalProperties: false });

/** `{"op":"error","code":"BRIDGE_ERR_…","message","subject"?}` */
const ErrorReplySchema = Type.Object(
  {
    op: Type.Literal(SERVER_OPS.error),
    code: Type.String({ pattern: '^BRIDGE_ERR_[A-Z_]+$' }),
    message: Type.String(),
    subject: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const ServerReplySchema = Type.Union([AckSchema, AuthenticatedSchema, ErrorReplySchema]);
export type ServerReply = Static<typeof ServerReplySchema>;

/**
 * The wire event is the BridgeEvent itself (DESIGN §3): the core's schema, not a copy. Its `type`
 * and `data` are those of the core's event vocabulary (src/event-types.ts, listed in the README's
 * generated event table); the envelope check stays open to types it does not list, so a chain of
 * relays of different versions still carries every event.
 */
export const EventSchema = BridgeEventSchema;

/**
 * Compiled checks, built once at import. `Check` never throws, and rejects arrays where objects
 * are due and NaN/Infinity where numbers are.
 */
export const ClientMessageCheck = TypeCompiler.Compile(ClientMessageSchema);
export const ServerReplyCheck = TypeCompiler.Compile(ServerReplySchema);
export const EventCheck = TypeCompiler.Compile(EventSchema);
