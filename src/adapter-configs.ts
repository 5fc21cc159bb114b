/**
 * The config types adapters receive, derived from the TypeBox schemas they register (issue 13):
 * `UpstreamConfigOf<typeof Schema>` and its listener and simulator kin, and the
 * `TypedProtocolAdapter` an adapter is declared as, so a config type cannot drift from its schema.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { ListenerContext, ListenerRole, ProtocolAdapter, Simulator, SimulatorContext, UpstreamContext, UpstreamRole } from './contracts.ts';

/** A secret as the config file may give it by reference; the loader replaces it with its value. */
type SecretRef = { env: string } | { file: string };

/** A config type with every secret reference resolved to its string, as adapters receive it. */
export type Resolved<T> = T extends SecretRef
  ? never
  : T extends readonly (infer E)[]
    ? Resolved<E>[]
    : T extends object
      ? { [K in keyof T]: Resolved<T[K]> }
      : T;

/**
 * The shared upstream keys an adapter may read besides its protocol's own options (`protocol` it
 * knows already). A type, not an interface, so that it meets an index signature.
 */
type UpstreamKeys = {
  name: string;
  simulator?: string;
};

/**
 * The config an adapter whose upstream options schema is `S` receives: the schema's options
 * (defaults applied, secrets resolved) plus the shared keys. Derived from the schema, so the two
 * cannot drift.
 */
export type UpstreamConfigOf<S extends TSchema> = UpstreamKeys & Resolved<Static<S>>;

/** Any upstream's config, as the supervisor holds it before the adapter reads it. */
export type AnyUpstreamConfig = UpstreamKeys & { [option: string]: unknown };

/**
 * The shared listener keys an adapter may read besides its dialect's own options (`dialect` it
 * knows already). A type, so that it meets an index signature.
 */
type ListenerKeys = {
  name: string;
  path: string;
  upstreams: string[];
};

/** The config a listener whose options schema is `S` receives, derived like {@link UpstreamConfigOf}. */
export type ListenerConfigOf<S extends TSchema> = ListenerKeys & Resolved<Static<S>>;

/** Any listener's config, as the relay holds it before the adapter reads it. */
export type AnyListenerConfig = ListenerKeys & { [option: string]: unknown };

/** The options a simulator whose schema is `S` receives (the shared `name`, `host`, `port` are the relay's). */
export type SimulatorConfigOf<S extends TSchema> = Resolved<Static<S>>;

/** Any simulator's config, as the relay holds it before the adapter reads it. */
export type AnySimulatorConfig = { [option: string]: unknown };

/**
 * A protocol adapter as it is declared: its upstream role takes the config its own options schema
 * describes (`UpstreamConfigOf<U>`), its listener role the one `L` describes and its simulator the
 * one `S` describes, so each config type is checked against its schema. It is a
 * `ProtocolAdapter` for the registry: the loader validated the configs by those schemas.
 */
export interface TypedProtocolAdapter<U extends TSchema, L extends TSchema, S extends TSchema>
  extends Omit<ProtocolAdapter, 'upstreamOptions' | 'createUpstream' | 'listenerOptions' | 'createListener' | 'simulatorOptions' | 'startSimulator'> {
  readonly upstreamOptions: U;
  readonly listenerOptions: L;
  readonly simulatorOptions: S;
  createUpstream(ctx: UpstreamContext<UpstreamConfigOf<U>>): UpstreamRole;
  createListener(ctx: ListenerContext<ListenerConfigOf<L>>): ListenerRole;
  startSimulator(ctx: SimulatorContext<SimulatorConfigOf<S>>, host: string, port: number): Promise<Simulator>;
}
