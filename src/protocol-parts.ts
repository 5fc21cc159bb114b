/**
 * A protocol adapter is declared in two parts, so that its sans-I/O part never loads a server:
 * `adapters/<p>/index.ts` declares the roles ({@link ProtocolRoles}: config specs, encoder,
 * upstream and listener, through the adapter kit), and `adapters/<p>/simulator.ts` declares the
 * simulator ({@link SimulatorFactory}: its options and its start, through the simulator kit). The
 * registry joins each pair into the `ProtocolAdapter` the relay uses.
 */
import type { TSchema } from '@sinclair/typebox';
import type { TypedProtocolAdapter } from './adapter-configs.ts';
import type { ProtocolAdapter } from './contracts.ts';

type SimulatorKeys = 'simulatorOptions' | 'startSimulator';

/** An adapter without its simulator: what `adapters/<p>/index.ts` exports. */
export type ProtocolRoles<U extends TSchema, L extends TSchema> = Omit<TypedProtocolAdapter<U, L, TSchema>, SimulatorKeys>;

/** A protocol's simulator: its options schema and its start. What `adapters/<p>/simulator.ts` exports. */
export type SimulatorFactory<S extends TSchema> = Pick<TypedProtocolAdapter<TSchema, TSchema, S>, SimulatorKeys>;

/** The registry's join of an adapter's two parts. */
export function withSimulator(roles: ProtocolRoles<TSchema, TSchema>, simulator: SimulatorFactory<TSchema>): ProtocolAdapter {
  return { ...roles, simulatorOptions: simulator.simulatorOptions, startSimulator: (ctx, host, port) => simulator.startSimulator(ctx, host, port) };
}
