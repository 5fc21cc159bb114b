/**
 * Config reload, the process side: SIGHUP (what `bridge reload` sends) makes a relay read its
 * config file again, as it did at start (secrets resolved, the command line's `--port` and
 * `--log-level`/`BRIDGE_LOG_LEVEL` on top, so they keep winning), and hand it to Relay.reload,
 * which applies it in place or refuses it (src/config/reload-plan.ts). A file that does not load
 * leaves everything as it is (`bridge_config_reloads_total{result="invalid"}`).
 *
 * Under `--workers` the primary reads and checks the file once and sends the result to every
 * worker (src/process/primary.ts); a worker ignores a SIGHUP of its own (a terminal's hangup reaches
 * the whole process group, and would otherwise end it: SIGHUP's default action).
 */
import type { ConfigIssue } from '../config/load.ts';
import { ConfigError } from '../config/load.ts';
import type { BridgeConfig } from '../config/schema.ts';
import { describeError } from '../contain.ts';
import type { Relay } from '../relay.ts';

/** Reads the config for a reload; throws ConfigError (or any error reading it). */
export type ConfigSource = () => BridgeConfig;

/** What a file that could not be loaded is reported as: a sentence, and the issues with their JSON paths. */
export interface LoadFailure {
  readonly error: string;
  readonly issues?: readonly ConfigIssue[];
}

/** The config from `source`, or why there is none (messages never quote a secret: see src/config/load.ts). */
export function loadForReload(source: ConfigSource): { config: BridgeConfig } | LoadFailure {
  try {
    return { config: source() };
  } catch (err) {
    if (err instanceof ConfigError) return { error: `${err.issues.length} configuration error(s) in the file`, issues: err.issues };
    return { error: `the config could not be read: ${describeError(err).message}` };
  }
}

/** One reload of `relay` from `source`; never rejects. */
export async function reloadFrom(relay: Relay, source: ConfigSource): Promise<void> {
  const loaded = loadForReload(source);
  if ('config' in loaded) await relay.reload(loaded.config);
  else relay.reloadFailed(loaded.error, loaded.issues);
}

/** Reloads `relay` from `source` on every SIGHUP (a single relay process). */
export function reloadOnSignal(relay: Relay, source: ConfigSource): void {
  process.on('SIGHUP', () => {
    relay.log.info('signal received, reloading the config', { signal: 'SIGHUP' });
    reloadFrom(relay, source).catch((err: unknown) => relay.report('process', err));
  });
}
