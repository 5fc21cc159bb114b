/**
 * The contracts between the core and a protocol adapter.
 *
 * Adapters are sans-I/O: the core owns every socket, timer and HTTP call. An adapter's roles are
 * state machines the core drives through hooks (a frame arrived, the socket opened or closed, an
 * event is to be delivered), and they act only through the narrow slices handed to them
 * ({@link LinkIO}, {@link SessionIO}, the contexts). Timers come from the injected {@link Clock}.
 * None of these interfaces mention `ws`, `nats`, `undici` or `prom-client`.
 */
import type { TSchema } from '@sinclair/typebox';
import type { AnyListenerConfig, AnySimulatorConfig, AnyUpstreamConfig } from './adapter-configs.ts';
import type { EventEncoder, ListenerContext, ListenerRole } from './contracts/listener.ts';
import type { Simulator, SimulatorContext } from './contracts/simulator.ts';
import type { UpstreamContext, UpstreamRole } from './contracts/upstream.ts';

export type { AuthRefusal, AuthSource, CredentialContext, PassThrough, PassThroughAnswer, PrincipalResolver, Resolution } from './auth/types.ts';
export type { ApiClient, ClientDirectory, DropReason, Grant, Log, Telemetry } from './contracts/shared.ts';
export type { HttpCall, HttpRequest, HttpResponse, HttpResult, HttpRoute } from './contracts/http.ts';
export type { ConnectTarget, LinkHooks, LinkIO, LinkSpec, LinkVerdict, UpstreamContext, UpstreamRole } from './contracts/upstream.ts';
export { LinkFailure } from './contracts/upstream.ts';
export type { InterestDeclaration, SessionHooks, SessionIO } from './contracts/session.ts';
export type { EventEncoder, ListenerContext, ListenerRole, ResourceRef, TokenPolicy, UpgradeRequest, UpgradeVerdict } from './contracts/listener.ts';
export type { Simulator, SimulatorContext, SimulatorEndpoint } from './contracts/simulator.ts';

/** One protocol: its config specs, both roles and its simulator. Listed in src/registry.ts. */
export interface ProtocolAdapter {
  /** Config value of `protocol` / `dialect`. */
  readonly protocol: string;
  /** TypeBox schema of the protocol's own upstream options (besides `name`, `protocol`, `simulator`). */
  readonly upstreamOptions: TSchema;
  /** TypeBox schema of the protocol's own listener options (besides `name`, `dialect`, `path`, `upstreams`). */
  readonly listenerOptions: TSchema;
  /** TypeBox schema of the simulator's own options (besides `name`, `protocol`, `host`, `port`). */
  readonly simulatorOptions: TSchema;
  /** Default WebSocket path of a listener of this dialect. */
  readonly defaultPath: string;
  /**
   * The HTTP paths a listener of this dialect serves besides its WebSocket path (token and ticket
   * endpoints), each with the JSON path (under the listener) of the option that sets it, so that
   * `bridge check` can refuse two things on one path. `config` has its defaults applied.
   */
  listenerRoutes?(config: Record<string, unknown>): { path: string; option: string }[];
  /** Extra config checks the schema cannot express; returns `[jsonPath, message]` pairs. */
  check?(kind: 'upstream' | 'listener', config: Record<string, unknown>): [string, string][];
  readonly encode: EventEncoder;
  createUpstream(ctx: UpstreamContext<AnyUpstreamConfig>): UpstreamRole;
  createListener(ctx: ListenerContext<AnyListenerConfig>): ListenerRole;
  startSimulator(ctx: SimulatorContext<AnySimulatorConfig>, host: string, port: number): Promise<Simulator>;
}
