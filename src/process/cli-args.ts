/**
 * The command line, parsed without side effects: main.ts decides what to do with the result.
 * Everything the CLI accepts is listed once here, and `bridge --help` is printed from that list,
 * so the help cannot leave out an option the parser knows (test/unit/cli.test.ts checks both ways).
 */
import { resolve } from 'node:path';
import { LOG_LEVELS } from '../config/schema.ts';

export type CliLogLevel = (typeof LOG_LEVELS)[number];

export type Command = 'run' | 'check' | 'reload' | 'help' | 'version';

export interface Args {
  command: Command;
  /** Absolute path of the config file. */
  config: string;
  /** `--workers N`, when given. */
  workers?: number;
  /** `--port N`, when given: overrides `http.port`. */
  port?: number;
  /** `--log-level L`, else `BRIDGE_LOG_LEVEL`, when given: overrides `log.level`. */
  logLevel?: CliLogLevel;
  /** `check --no-secrets`: structure only, `{"env"}`/`{"file"}` secrets are not read. */
  noSecrets: boolean;
  /** `--pretty`: human log lines even when stderr is not a terminal. */
  pretty?: true;
  /** `--pid-file FILE` (absolute): where `run` writes its process id and `reload` reads it. */
  pidFile?: string;
  /** `reload --pid N`: the process to signal. */
  pid?: number;
}

/** A command line the CLI cannot run: one line on stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const SUBCOMMANDS: readonly { name: string; usage: string; what: string }[] = [
  { name: 'run', usage: 'bridge [run] [--config FILE] [--port N] [--log-level L] [--workers N] [--pretty] [--pid-file FILE]', what: 'run the relay (the default command)' },
  { name: 'check', usage: 'bridge check [--config FILE] [--no-secrets] [--port N] [--workers N]', what: 'validate the config: every error with its JSON path on stderr, exit 1 if any; nothing is started' },
  {
    name: 'reload',
    usage: 'bridge reload [--config FILE] [--pid-file FILE | --pid N]',
    what: 'make the relay running with that config read it again (checks its structure, then sends the relay SIGHUP): clients, limits, log level and the TLS certificate change in place; any other change is refused and the running config stays (README "Reload")',
  },
  { name: 'help', usage: 'bridge help | --help | -h', what: 'print this help' },
  { name: 'version', usage: 'bridge version | --version | -v', what: "print the version (package.json's)" },
];

export const OPTIONS: readonly { flag: string; what: string }[] = [
  { flag: '-c, --config FILE', what: 'the config file (default: $BRIDGE_CONFIG, else ./bridge.config.json)' },
  { flag: '--port N', what: 'listen on port N (0 = any free port) instead of http.port' },
  { flag: '--log-level L', what: `log level, one of ${LOG_LEVELS.join(', ')}, instead of log.level and $BRIDGE_LOG_LEVEL` },
  { flag: '--workers N', what: 'run N relay processes on the one port (1-256; needs bus.kind "nats"), instead of node.workers' },
  { flag: '--no-secrets', what: 'check only: check the structure; {"env"} and {"file"} secrets are checked for shape but not read' },
  { flag: '--pretty', what: 'run only: one human-readable log line per entry instead of JSON (the default when stderr is a terminal)' },
  { flag: '--pid-file FILE', what: 'run: write the process id here while running; reload: signal the process named here (default for both: $TMPDIR/bridge-<hash of the config path>.pid)' },
  { flag: '--pid N', what: 'reload only: signal process N instead of reading a pid file' },
  { flag: '-h, --help', what: 'print this help' },
  { flag: '-v, --version', what: 'print the version' },
];

export const ENVIRONMENT: readonly { name: string; what: string }[] = [
  { name: 'BRIDGE_CONFIG', what: 'the config file when --config is not given' },
  { name: 'BRIDGE_LOG_LEVEL', what: 'log level when --log-level is not given; wins over log.level' },
];

export function helpText(version: string): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [`protocol-bridge ${version}: a protocol-bridging WebSocket relay`, '', 'Usage:'];
  for (const c of SUBCOMMANDS) lines.push(`  ${c.usage}`);
  lines.push('', 'Commands:');
  for (const c of SUBCOMMANDS) lines.push(`  ${pad(c.name, 20)}${c.what}`);
  lines.push('', 'Options (command-line options win over the config file):');
  for (const o of OPTIONS) lines.push(`  ${pad(o.flag, 20)}${o.what}`);
  lines.push('', 'Environment:');
  for (const e of ENVIRONMENT) lines.push(`  ${pad(e.name, 20)}${e.what}`);
  lines.push(
    '',
    'Signals: SIGTERM or SIGINT (Ctrl-C) drain the relay within http.shutdownGraceMs; a second one',
    'later than a second after the first exits at once. SIGHUP (what bridge reload sends) reloads the config.',
    'Exit codes: 0 done; 1 the config is invalid or the relay could not start; 2 a bad command line.',
    'Every config option: README.md ("Configuration"); examples: examples/README.md.',
    '',
  );
  return lines.join('\n');
}

function whole(flag: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^[0-9]+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} needs a whole number from ${min} to ${max}, not ${JSON.stringify(value ?? '')}`);
  }
  return Number(value);
}

function level(flag: string, value: string | undefined): CliLogLevel {
  if (!(LOG_LEVELS as readonly string[]).includes(value ?? '')) {
    throw new UsageError(`${flag} must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(value ?? '')}`);
  }
  return value as CliLogLevel;
}

/** Options that take a value, by every spelling. */
const VALUED: Record<string, (args: Args, value: string | undefined, flag: string) => void> = {
  '--config': (a, v, f) => {
    if (!v) throw new UsageError(`${f} needs a file name`);
    a.config = v;
  },
  '--port': (a, v, f) => void (a.port = whole(f, v, 0, 65535)),
  '--log-level': (a, v, f) => void (a.logLevel = level(f, v)),
  '--workers': (a, v, f) => void (a.workers = whole(f, v, 1, 256)),
  '--pid-file': (a, v, f) => {
    if (!v) throw new UsageError(`${f} needs a file name`);
    a.pidFile = v;
  },
  '--pid': (a, v, f) => void (a.pid = whole(f, v, 1, 4194304)),
};
VALUED['-c'] = VALUED['--config']!;

/**
 * Parses `argv` (without node and the script). `env` supplies BRIDGE_CONFIG and BRIDGE_LOG_LEVEL;
 * `cwd` resolves the config path. Throws {@link UsageError} for anything it does not know.
 */
export function parseArgs(argv: readonly string[], env: Record<string, string | undefined>, cwd = process.cwd()): Args {
  const args: Args = { command: 'run', config: env.BRIDGE_CONFIG || 'bridge.config.json', noSecrets: false };
  let commandSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const setter = VALUED[flag];
    if (setter) setter(args, eq > 0 ? a.slice(eq + 1) : argv[++i], flag);
    else if (a === '--help' || a === '-h') args.command = 'help';
    else if (a === '--version' || a === '-v') args.command = 'version';
    else if (a === '--no-secrets') args.noSecrets = true;
    else if (a === '--pretty') args.pretty = true;
    else if (!a.startsWith('-') && !commandSeen && SUBCOMMANDS.some((c) => c.name === a)) {
      commandSeen = true;
      // --help/--version anywhere win over the command: `bridge check --help` prints the help.
      if (args.command === 'run') args.command = a as Command;
    } else if (a.startsWith('-')) throw new UsageError(`unknown option ${a} (bridge --help lists them)`);
    else throw new UsageError(`unknown command ${JSON.stringify(a)} (bridge --help lists them)`);
  }
  // The flag wins: a bad BRIDGE_LOG_LEVEL matters only when it is the one used.
  if (!args.logLevel && env.BRIDGE_LOG_LEVEL) args.logLevel = level('BRIDGE_LOG_LEVEL', env.BRIDGE_LOG_LEVEL);
  if (args.noSecrets && args.command !== 'check' && args.command !== 'help' && args.command !== 'version') {
    throw new UsageError('--no-secrets only applies to bridge check: a running relay needs its secrets');
  }
  if (args.pid !== undefined && args.command !== 'reload') throw new UsageError('--pid only applies to bridge reload');
  if (args.pid !== undefined && args.pidFile !== undefined) throw new UsageError('give bridge reload --pid or --pid-file, not both');
  if (args.pretty && (args.command === 'check' || args.command === 'reload')) throw new UsageError('--pretty only applies to running the relay');
  return { ...args, config: resolve(cwd, args.config), ...(args.pidFile !== undefined ? { pidFile: resolve(cwd, args.pidFile) } : {}) };
}
