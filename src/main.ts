/**
 * CLI.
 *   bridge [--config FILE] [--workers N]   run the relay (FILE, else $BRIDGE_CONFIG, else ./bridge.config.json)
 *   bridge check [--config FILE]           validate the config: print every error with its path, exit 1 if any
 * SIGTERM/SIGINT drain the relay (see Relay.stop) within http.shutdownGraceMs; a second signal
 * exits at once. An error nothing caught is logged and counted, and the relay keeps serving.
 *
 * `--workers N` (or `node.workers`; the flag wins) past 1 runs N relay processes on the one port
 * (src/process/primary.ts), each a cluster node on the NATS bus; with the memory bus it is refused
 * before anything starts (exit 2).
 */
import cluster from 'node:cluster';
import { resolve } from 'node:path';
import type { BridgeConfig } from './config/schema.ts';
import { ConfigError, loadConfigFile } from './config/load.ts';
import { installProcessGuards } from './contain.ts';
import { drainOnSignal } from './process/drain-on-signal.ts';
import { runPrimary } from './process/primary.ts';
import { runWorker } from './process/worker.ts';
import { ADAPTERS } from './registry.ts';
import { Relay } from './relay.ts';

const USAGE = 'usage: bridge [--config FILE] [--workers N]\n       bridge check [--config FILE]\n';

interface Args {
  command: 'run' | 'check' | 'help';
  config: string;
  /** `--workers N`, when given. */
  workers?: number;
}

function refuse(message: string): never {
  process.stderr.write(`bridge: ${message}\n`);
  process.exit(2);
}

function parseWorkers(value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !/^[0-9]+$/.test(value) || n < 1 || n > 256) refuse(`--workers needs a whole number from 1 to 256, not ${JSON.stringify(value ?? '')}`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { command: 'run', config: process.env.BRIDGE_CONFIG ?? 'bridge.config.json' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === 'check') args.command = 'check';
    else if (a === '--help' || a === '-h' || a === 'help') args.command = 'help';
    else if (a === '--config' || a === '-c') args.config = argv[++i] ?? args.config;
    else if (a?.startsWith('--config=')) args.config = a.slice('--config='.length);
    else if (a === '--workers') args.workers = parseWorkers(argv[++i]);
    else if (a?.startsWith('--workers=')) args.workers = parseWorkers(a.slice('--workers='.length));
    else refuse(`unknown argument ${JSON.stringify(a)}`);
  }
  return { ...args, config: resolve(args.config) };
}

/** How many relay processes to run; refuses (exit 2) more than one on the in-process bus. */
function workerCount(args: Args, config: BridgeConfig): number {
  const n = args.workers ?? config.node.workers;
  if (n > 1 && config.bus.kind !== 'nats') {
    const source = args.workers !== undefined ? `--workers ${n}` : `node.workers ${n}`;
    refuse(`${source} needs the NATS bus (bus.kind "nats"); with the in-process bus each worker would be an island`);
  }
  return n;
}

async function runSingle(config: BridgeConfig): Promise<void> {
  const relay = await Relay.start({ config });
  installProcessGuards(process, relay.report);
  drainOnSignal(relay, { repeat: 'exit' });
}

async function main(): Promise<void> {
  // A worker gets its config from the primary (src/process/worker.ts), not from its arguments.
  if (cluster.isWorker) return runWorker();
  const args = parseArgs(process.argv.slice(2));
  if (args.command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  let config;
  try {
    config = loadConfigFile(args.config, ADAPTERS);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const workers = workerCount(args, config);
  if (args.command === 'check') {
    process.stdout.write(`${args.config}: ok\n`);
    return;
  }
  if (workers > 1) return runPrimary(config, workers);
  return runSingle(config);
}

main().catch((err) => {
  process.stderr.write(`bridge: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
