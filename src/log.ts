/**
 * The relay's log: structured JSON lines on stderr, written by pino, one object per line:
 * `{"level":"info","time":"<ISO 8601>","node":"…",<fields>,"msg":"…"}`. Only this module imports
 * pino; everything else logs through the {@link Log} slice of src/contracts.ts.
 *
 * Why pino: it writes a line with one pass of a fast serializer and turns a disabled level into a
 * no-op method, and its `redact` option removes secrets by path before a line is serialized.
 * Lines go to stderr synchronously through a plain `write` (no pino transport: a transport runs in
 * a worker thread, and a line logged just before `process.exit` must not be lost). On a terminal,
 * or with `--pretty`, each JSON line is turned into one human line by src/log-pretty.ts instead.
 *
 * Redaction by path is the second line of defence: callers never pass a secret in the first place
 * (client keys, jwtSecret, upstream credentials, tickets, JWTs). An `Error` field is logged as its
 * class, code and message with token-like runs cut out (src/contain.ts), never with its stack.
 */
import { pino, stdTimeFunctions, type Logger } from 'pino';
import type { Log } from './contracts.ts';
import { describeError } from './contain.ts';
import { prettyLine } from './log-pretty.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Field names that hold secrets wherever they appear (top level, and one or two objects down). */
export const SECRET_FIELDS = [
  'key',
  'apiKey',
  'token',
  'jwt',
  'jwtSecret',
  'secret',
  'password',
  'pass',
  'authorization',
  'cookie',
  'ticket',
  'session',
  'sessionId',
  'credentials',
] as const;

/** The redacted paths: each secret field at depth 0 to 2, and every header that carries a credential. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  'headers["sec-websocket-protocol"]',
  '*.headers.authorization',
  '*.headers.cookie',
];

export const REDACTED = '[redacted]';

/** The relay's own log: the {@link Log} slice plus what the process needs (level, pretty, children). */
export interface RelayLog extends Log {
  /** The level in force; changing it takes effect for the next line (a reload sets it). */
  readonly level: LogLevel;
  setLevel(level: LogLevel): void;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  /** A log that adds `bindings` to every line and shares this one's level. */
  child(bindings: Record<string, unknown>): RelayLog;
}

export interface LogOptions {
  /** One human line per entry (src/log-pretty.ts) instead of JSON; `color` adds ANSI colours. */
  pretty?: boolean;
  color?: boolean;
}

/** Whether `log` is a {@link RelayLog} whose level can be changed (tests may pass any Log). */
export function isRelayLog(log: Log): log is RelayLog {
  return typeof (log as Partial<RelayLog>).setLevel === 'function';
}

/** Error values become what src/contain.ts lets out of an error; everything else as is. */
function safeFields(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k in fields) {
    const v = fields[k];
    if (v instanceof Error) (out ??= { ...fields })[k] = describeError(v);
  }
  return out ?? fields;
}

type Level = Exclude<LogLevel, 'silent'>;

/** The four level methods of a log, each one call of `write`. */
abstract class LevelMethods {
  protected abstract write(level: Level, msg: string, fields: Record<string, unknown> | undefined): void;

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.write('debug', msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.write('info', msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.write('warn', msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.write('error', msg, fields);
  }
}

class PinoLog extends LevelMethods implements RelayLog {
  readonly #pino: Logger;

  constructor(p: Logger) {
    super();
    this.#pino = p;
  }

  get level(): LogLevel {
    return this.#pino.level as LogLevel;
  }

  setLevel(level: LogLevel): void {
    this.#pino.level = level;
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return this.#pino.isLevelEnabled(level);
  }

  child(bindings: Record<string, unknown>): RelayLog {
    return new SharedLevelChild(this, bindings);
  }

  protected write(level: Level, msg: string, fields: Record<string, unknown> | undefined): void {
    if (fields === undefined) this.#pino[level](msg);
    else this.#pino[level](safeFields(fields), msg);
  }
}

/**
 * A child that shares its parent's level (a pino child keeps the level it was made with, and a
 * reload changes the root's): it adds its bindings as fields and writes through the parent.
 */
class SharedLevelChild extends LevelMethods implements RelayLog {
  readonly #parent: RelayLog;
  readonly #bindings: Record<string, unknown>;

  constructor(parent: RelayLog, bindings: Record<string, unknown>) {
    super();
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get level(): LogLevel {
    return this.#parent.level;
  }

  setLevel(level: LogLevel): void {
    this.#parent.setLevel(level);
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return this.#parent.enabled(level);
  }

  child(bindings: Record<string, unknown>): RelayLog {
    return new SharedLevelChild(this.#parent, { ...this.#bindings, ...bindings });
  }

  protected write(level: Level, msg: string, fields: Record<string, unknown> | undefined): void {
    if (this.#parent.enabled(level)) this.#parent[level](msg, { ...this.#bindings, ...fields });
  }
}

/**
 * A log at `level` whose lines carry `bindings` (e.g. `{node}`), written to `write` (default:
 * stderr) one line per call, newline included.
 */
export function createLog(level: LogLevel, bindings: Record<string, unknown> = {}, write?: (line: string) => void, opts: LogOptions = {}): RelayLog {
  const out = write ?? ((line: string) => void process.stderr.write(line));
  const color = opts.color === true;
  const destination = { write: opts.pretty ? (line: string) => out(prettyLine(line, color)) : out };
  const p = pino(
    {
      level,
      base: bindings,
      messageKey: 'msg',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // pino's own `err` serializer would add the stack; safeFields has already shaped errors.
      serializers: { err: (v: unknown) => v },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    },
    destination,
  );
  return new PinoLog(p);
}
