/**
 * The human form of a log line, for a terminal (`bridge` on a TTY, or `--pretty`):
 *
 *   09:17:08.828 INFO  relay listening  url=http://127.0.0.1:8080 bus=memory
 *
 * Written in-house rather than with pino-pretty: pino-pretty brings a dozen packages for this one
 * job, and run as a pino transport it formats in a worker thread, which loses the lines written just
 * before `process.exit`. This formats the JSON line pino already made (so redaction has been applied),
 * in the same synchronous write.
 */

const LEVEL_COLOR: Record<string, string> = { debug: '\x1b[90m', info: '\x1b[36m', warn: '\x1b[33m', error: '\x1b[31m' };
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** The fields every line has, shown in front rather than as `key=value`. */
const FRONT = new Set(['level', 'time', 'msg', 'node']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One JSON log line (newline included) as one human line; a line that is not JSON passes as is. */
export function prettyLine(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null) return line;
  const level = String(entry.level ?? '');
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const tag = level.toUpperCase().padEnd(5);
  const rest: string[] = [];
  for (const [k, v] of Object.entries(entry)) if (!FRONT.has(k)) rest.push(`${k}=${value(v)}`);
  const node = entry.node === undefined ? '' : ` [${String(entry.node)}]`;
  const fields = rest.length > 0 ? `  ${rest.join(' ')}` : '';
  if (!color) return `${time} ${tag}${node} ${String(entry.msg ?? '')}${fields}\n`;
  const c = LEVEL_COLOR[level] ?? '';
  return `${DIM}${time}${RESET} ${c}${tag}${RESET}${DIM}${node}${RESET} ${String(entry.msg ?? '')}${DIM}${fields}${RESET}\n`;
}
