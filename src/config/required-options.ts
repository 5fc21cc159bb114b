/**
 * The check most upstreams share in `ProtocolAdapter.check`: the options that say where to connect
 * and with what credential may be left out only when a simulator supplies them.
 */
import type { ProtocolAdapter } from '../contracts.ts';

/** The issue row of a missing option. */
const MISSING = 'required unless `simulator` is set';

/**
 * `[path, message]` issues for each of `keys` absent from `config`, in the order given; none when
 * `config.simulator` is set.
 */
export function requiredUnlessSimulator(config: Record<string, unknown>, keys: readonly string[]): [string, string][] {
  if (config.simulator !== undefined) return [];
  return keys.filter((key) => config[key] === undefined).map((key) => [`/${key}`, MISSING]);
}

/**
 * A whole `ProtocolAdapter.check` for an adapter that checks nothing else: an upstream needs each
 * of `keys` unless it names a simulator; a listener is not checked.
 */
export function upstreamRequires(...keys: string[]): NonNullable<ProtocolAdapter['check']> {
  return (kind, config) => (kind === 'upstream' ? requiredUnlessSimulator(config, keys) : []);
}
