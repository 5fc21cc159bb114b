/**
 * `bridge reload [--config FILE] [--pid-file FILE | --pid N]`: checks the structure of the config
 * file (secrets are the relay's to read: they may be readable only by its user), then sends SIGHUP
 * to the relay running with it, found through its pid file (src/process/pid-file.ts) unless
 * `--pid N` names it. The relay logs what it did (`config reloaded`, or `config reload refused` /
 * `invalid` with the keys or errors) and counts it in `bridge_config_reloads_total{result}`.
 */
import { ConfigError, loadConfigFile } from '../config/load.ts';
import { ADAPTERS } from '../registry.ts';
import type { Args } from './cli-args.ts';
import { defaultPidFile, readPidFile } from './pid-file.ts';

/** Ends the process with one line (main.ts's `fail`). */
export type Fail = (message: string, code: 1 | 2) => never;

export function reloadCommand(args: Args, fail: Fail): void {
  try {
    loadConfigFile(args.config, ADAPTERS, { secrets: 'shape' });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\nbridge: nothing was sent: the running relay keeps its config\n`);
    process.exit(1);
  }
  const file = args.pidFile ?? defaultPidFile(args.config);
  let pid: number;
  try {
    pid = args.pid ?? readPidFile(file);
  } catch (err) {
    fail((err as Error).message, 1);
  }
  const from = args.pid === undefined ? ` (from ${file})` : '';
  try {
    process.kill(pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') fail(`no process ${pid}${from}: the relay is not running${from ? ' (a stale pid file)' : ''}`, 1);
    if (code === 'EPERM') fail(`not allowed to signal process ${pid}${from}: run bridge reload as the relay's user`, 1);
    throw err;
  }
  process.stdout.write(`sent SIGHUP to the relay, process ${pid}${from}: its log says what changed ("config reloaded") or why nothing did ("config reload refused", "config reload invalid")\n`);
}
