/**
 * The one core module an adapter's sans-I/O files import (simulator files import
 * src/simulator-kit.ts, which re-exports this one). It names every piece of the core an adapter
 * may use: the contracts, the neutral event and its vocabulary (event types, data schemas),
 * errors, subjects, a safe JSON parse, time, JWTs and TypeBox. It does no I/O and loads nothing of
 * src/downstream/: the host simulators serve on comes through src/simulator-kit.ts, which only
 * simulator files import. Adapters never import `ws`, `nats`, `undici`, `prom-client` or a logger.
 */
export type {
  ApiClient,
  AuthRefusal,
  ClientDirectory,
  CredentialContext,
  PassThrough,
  PassThroughAnswer,
  PrincipalResolver,
  Resolution,
  ConnectTarget,
  DropReason,
  EventEncoder,
  Grant,
  HttpCall,
  HttpRequest,
  HttpResponse,
  HttpResult,
  HttpRoute,
  InterestDeclaration,
  LinkHooks,
  LinkIO,
  LinkSpec,
  LinkVerdict,
  ListenerContext,
  ListenerRole,
  Log,
  ProtocolAdapter,
  ResourceRef,
  SessionHooks,
  SessionIO,
  Simulator,
  SimulatorContext,
  SimulatorEndpoint,
  Telemetry,
  TokenPolicy,
  UpgradeRequest,
  UpgradeVerdict,
  UpstreamContext,
  UpstreamRole,
} from './contracts.ts';
export type { ListenerConfigOf, SimulatorConfigOf, TypedProtocolAdapter, UpstreamConfigOf } from './adapter-configs.ts';
export type { ProtocolRoles } from './protocol-parts.ts';
export { LinkFailure } from './contracts.ts';
export type { Issued, Redeemed, TicketPolicy, TicketRefusal, TicketService } from './auth/tickets.ts';
export type { Clock, Timer } from './clock.ts';
export {
  makeEvent,
  eventUpstream,
  LINK_STATE_TYPE,
  BridgeEventSchema,
  POWER_ACTIONS,
  type BridgeCommand,
  type BridgeEvent,
  type CommandReply,
  type CommandType,
  type PowerAction,
} from './events.ts';
export {
  EVENT_TYPES,
  SERVER_STATES,
  TRANSFER_STATUSES,
  ServerStateSchema,
  ServerStatsDataSchema,
  ServerBackupCompletedDataSchema,
  ServerPatchDataSchema,
  ServerAddedDataSchema,
  ServerAddonAddedDataSchema,
  ServerAddonRemovedDataSchema,
  ServerConsoleDataSchema,
  MessageDataSchema,
  BotHealthDataSchema,
  GuildUpdatedDataSchema,
  UserUpdatedDataSchema,
  RoomMessageDataSchema,
  RoomUpdatedDataSchema,
  RoomParticipantJoinedDataSchema,
  RoomParticipantKickedDataSchema,
  RoomParticipantUpdatedDataSchema,
  UpstreamStateDataSchema,
  PARTICIPANT_FIELDS,
  type EventType,
  type BotHealthData,
  type GuildUpdatedData,
  type UserUpdatedData,
  type RoomMessageData,
  type RoomUpdatedData,
  type RoomParticipantKickedData,
  type RoomParticipantUpdatedData,
  type ServerBackupCompletedData,
  type ServerConsoleData,
  type ServerState,
  type ServerStatsData,
  type ServerStatusData,
  type UpstreamStateData,
} from './event-types.ts';
export { BridgeError, ERRORS, closeFrame, closingRow, type BridgeErrorCode, type CloseErrorCode } from './errors.ts';
export { escapeToken, unescapeToken, eventSubject, subjectMatches, type Subjects } from './subjects.ts';
export { parseJson } from './json.ts';
export { signJwt, verifyJwt, peekJwt, type JwtClaims, type JwtCheck } from './auth/jwt.ts';
export { hasPermission } from './auth/permissions.ts';
export { RECEIVE_GATES, mayReceive } from './auth/receive-gates.ts';
export { bearerKey } from './auth/clients.ts';
export { TokenBucket, type BucketSpec } from './rate-limit.ts';
export { keepLast, RECORD_LIMIT } from './records.ts';
export { Secret as SecretSchema } from './config/schema.ts';
export { Type, type Static, type TSchema } from '@sinclair/typebox';
export { Value } from '@sinclair/typebox/value';
export { TypeCompiler } from '@sinclair/typebox/compiler';
export { handshakeDeadline, retryVerdict, type DeadlineExpiry } from './upstream/link-helpers.ts';
export { requiredUnlessSimulator, upstreamRequires } from './config/required-options.ts';
