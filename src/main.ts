/**
 * CLI (every command, option and environment variable: src/process/cli-args.ts, `bridge --help`).
 *   bridge [--config FILE] [--port N] [--log-level L] [--workers N] [--pretty]   run the relay
 *   bridge check [--config FILE] [--no-secrets]                                  validate the config
 *   bridge reload [--config FILE] [--pid-file FILE | --pid N]                    reload a running relay
 *   bridge --version | --help
 * SIGTERM/SIGINT drain the relay (see Relay.stop) within http.shutdownGraceMs; a second signal
 * exits at once. SIGHUP reloads the config (src/process/reload-signal.ts); a running relay keeps
 * its process id in a pid file for `bridge reload` (src/process/pid-file.ts). An error nothing
 * caught is logged and counted, and the relay keeps serving. Logs are JSON lines on stderr, or
 * human lines on a terminal or with `--pretty` (src/log.ts).
 *
 * Failures an operator can expect (a bad command line, an invalid config, the port in use, a TLS
 * pair that cannot be read) end the process with one line on stderr saying how to fix them, and
 * nothing started; anything else is printed with its stack.
 *
 * `--workers N` (or `node.workers`; the flag wins) past 1 runs N relay processes on the one port
 * (src/process/primary.ts), each a cluster node on the NATS bus; with the memory bus it is refused
 * before anything starts (exit 2).
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { BridgeConfig } from './config/schema.ts';
import type { Log } from './contracts.ts';
import { ConfigError, loadConfigFile } from './config/load.ts';
import { installProcessGuards } from './contain.ts';
import { createLog, type LogLevel } from './log.ts';
import { parseArgs, helpText, UsageError, type Args } from './process/cli-args.ts';
import { drainOnSignal } from './process/drain-on-signal.ts';
import { defaultPidFile, writePidFile } from './process/pid-file.ts';
import { runPrimary } from './process/primary.ts';
import { reloadCommand } from './process/reload-command.ts';
import { reloadOnSignal } from './process/reload-signal.ts';
import { explainStartupError } from './process/startup-errors.ts';
import { runWorker } from './process/worker.ts';
import { ADAPTERS } from './registry.ts';
import { Relay } from './relay.ts';

/** package.json's version: next to src/ when run from source, two levels up from dist/src/ when built. */
function version(): string {
  for (const path of ['../package.json', '../../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/** Ends the process with one line on stderr. */
function fail(message: string, code: 1 | 2): never {
  process.stderr.write(`bridge: ${message}\n`);
  process.exit(code);
}

/** How many relay processes to run; refuses (exit 2) more than one on the in-process bus. */
function workerCount(args: Args, config: BridgeConfig): number {
  const n = args.workers ?? config.node.workers;
  if (n > 1 && config.bus.kind !== 'nats') {
    const source = args.workers !== undefined ? `--workers ${n}` : `node.workers ${n}`;
    fail(`${source} needs the NATS bus (bus.kind "nats"); with the in-process bus each worker would be an island`, 2);
  }
  return n;
}

/** The config with the command line's overrides (they win over the file). */
function withOverrides(config: BridgeConfig, args: Args): BridgeConfig {
  return Object.freeze({
    ...config,
    http: Object.freeze({ ...config.http, ...(args.port !== undefined ? { port: args.port } : {}) }),
    log: Object.freeze({ ...config.log, ...(args.logLevel ? { level: args.logLevel } : {}) }),
  });
}

/** How the log is written: human lines on a terminal or with --pretty (coloured on a terminal), else JSON. */
function logStyle(args: Args): { pretty: boolean; color: boolean } {
  const tty = process.stderr.isTTY === true;
  return { pretty: args.pretty === true || tty, color: tty };
}

/** The config file as a reload reads it: as at start, with the command line's overrides. */
function configSource(args: Args): () => BridgeConfig {
  return () => withOverrides(loadConfigFile(args.config, ADAPTERS), args);
}

/** Writes the pid file for `bridge reload` and says where; a file that cannot be written is not a failure. */
function pidFile(args: Args, log: Pick<Log, 'info'>): void {
  const path = args.pidFile ?? defaultPidFile(args.config);
  try {
    writePidFile(path);
    log.info('pid file written: bridge reload signals this process', { path, pid: process.pid });
  } catch (err) {
    // Info, not a warning: a read-only root filesystem (the Kubernetes manifests) is normal, and
    // `kill -HUP 1` or `bridge reload --pid N` still reload.
    log.info('no pid file: bridge reload needs --pid N (or kill -HUP) for this relay', { path, code: (err as NodeJS.ErrnoException).code });
  }
}

async function runSingle(config: BridgeConfig, args: Args): Promise<void> {
  const log = createLog(config.log.level as LogLevel, { node: config.node.id }, undefined, logStyle(args));
  const relay = await Relay.start({ config, log });
  installProcessGuards(process, relay.report);
  drainOnSignal(relay, { repeat: 'exit' });
  reloadOnSignal(relay, configSource(args));
  pidFile(args, relay.log);
}

async function main(): Promise<void> {
  // A worker gets its config from the primary (src/process/worker.ts), not from its arguments.
  if (cluster.isWorker) return runWorker();
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) fail(err.message, 2);
    throw err;
  }
  if (args.command === 'help') return void process.stdout.write(helpText(version()));
  if (args.command === 'version') return void process.stdout.write(`${version()}\n`);
  if (args.command === 'reload') return reloadCommand(args, (message, code) => fail(message, code));
  let config: BridgeConfig;
  try {
    config = withOverrides(loadConfigFile(args.config, ADAPTERS, { secrets: args.noSecrets ? 'shape' : 'resolve' }), args);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const workers = workerCount(args, config);
  if (args.command === 'check') {
    process.stdout.write(`${args.config}: ok${args.noSecrets ? ' (structure only: secrets not read)' : ''}\n`);
    return;
  }
  // SIGHUP's default action ends the process: until the relay (or the primary) is up and reloads on
  // it, one is ignored, and this listener stays as a harmless no-op after that.
  process.on('SIGHUP', () => {});
  const shown = relative(process.cwd(), args.config) || args.config;
  const context = { file: shown.startsWith('..') ? args.config : shown, config, portFromFlag: args.port !== undefined };
  try {
    if (workers > 1) await runPrimary(config, workers, { ...logStyle(args), source: configSource(args), pidFile: (log) => pidFile(args, log) });
    else await runSingle(config, args);
  } catch (err) {
    const line = explainStartupError(err, context);
    if (line) fail(line, 1);
    throw err;
  }
}

main().catch((err) => {
  process.stderr.write(`bridge: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
