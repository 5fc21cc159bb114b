/**
 * CLI.
 *   bridge [--config FILE]          run the relay (FILE, else $BRIDGE_CONFIG, else ./bridge.config.json)
 *   bridge check [--config FILE]    validate the config: print every error with its path, exit 1 if any
 * SIGTERM/SIGINT drain the relay (see Relay.stop) within http.shutdownGraceMs; a second signal
 * exits at once. An error nothing caught is logged and counted, and the relay keeps serving.
 */
import { resolve } from 'node:path';
import { ConfigError, loadConfigFile } from './config/load.ts';
import { installProcessGuards } from './contain.ts';
import { ADAPTERS } from './registry.ts';
import { Relay } from './relay.ts';

/** Of the grace, what is left for the process to exit after the relay stopped. */
const EXIT_MARGIN_MS = 200;

function parseArgs(argv: string[]): { command: 'run' | 'check' | 'help'; config: string } {
  let command: 'run' | 'check' | 'help' = 'run';
  let config = process.env.BRIDGE_CONFIG ?? 'bridge.config.json';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === 'check') command = 'check';
    else if (a === '--help' || a === '-h' || a === 'help') command = 'help';
    else if (a === '--config' || a === '-c') config = argv[++i] ?? config;
    else if (a?.startsWith('--config=')) config = a.slice('--config='.length);
    else {
      process.stderr.write(`bridge: unknown argument ${JSON.stringify(a)}\n`);
      process.exit(2);
    }
  }
  return { command, config: resolve(config) };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.command === 'help') {
    process.stdout.write('usage: bridge [--config FILE]\n       bridge check [--config FILE]\n');
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
  if (args.command === 'check') {
    process.stdout.write(`${args.config}: ok\n`);
    return;
  }
  const relay = await Relay.start({ config });
  installProcessGuards(process, relay.report);
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    relay.log.info('signal received, draining', { signal });
    // The grace is the bound on the whole exit: the relay stops a little inside it (each of its
    // steps is abandoned at its deadline), and should anything still hang, this ends the process.
    const grace = config.http.shutdownGraceMs;
    const hard = setTimeout(() => process.exit(1), grace);
    hard.unref();
    relay.stop(grace - Math.min(EXIT_MARGIN_MS, Math.floor(grace / 10))).then(
      () => process.exit(0),
      (err) => {
        relay.log.error('drain failed', { err: err as Error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err) => {
  process.stderr.write(`bridge: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
