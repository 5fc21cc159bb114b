/**
 * How `bridge reload` finds the relay to signal: a running relay writes its process id to a pid
 * file, and `bridge reload` with the same `--config` reads it. The default path is derived from the
 * config file's absolute path, `$TMPDIR/bridge-<12 hex digits of its SHA-256>.pid`, so two relays
 * with two configs on one machine never share one, and neither command needs to be told where it
 * is; `--pid-file FILE` names another (both commands), `bridge reload --pid N` skips the file.
 *
 * Under `--workers` the primary writes it: the primary forwards a reload to every worker.
 *
 * A relay that was killed (SIGKILL, a crash) leaves its file behind, and its process id may belong
 * to another program by the time someone reloads: SIGHUP would end most programs. So the file also
 * holds the process's start time (Linux: /proc/<pid>/stat), and a pid whose process started at
 * another time is refused as stale.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The pid file of the relay that runs with config file `config` (absolute), unless `--pid-file` names one. */
export function defaultPidFile(config: string, dir = tmpdir()): string {
  return join(dir, `bridge-${createHash('sha256').update(config).digest('hex').slice(0, 12)}.pid`);
}

/** When process `pid` started (clock ticks since boot, from /proc), or null where /proc cannot tell. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command name) may hold spaces and parentheses: count from after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Writes this process's id to `path` (through a temporary file and a rename, so a reader never
 * sees half a number) and removes it when the process exits, unless another relay has written its
 * own id there since. A file that cannot be written is reported (the caller logs it), not fatal:
 * `bridge reload --pid N` and `kill -HUP` still work.
 */
export function writePidFile(path: string, pid = process.pid): void {
  const tmp = `${path}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n${processStart(pid) ?? ''}\n`, { mode: 0o644 });
  renameSync(tmp, path);
  process.once('exit', () => removePidFile(path, pid));
}

/** Removes `path` if it still holds `pid`. Never throws. */
export function removePidFile(path: string, pid = process.pid): void {
  try {
    if (Number(readFileSync(path, 'utf8').split('\n')[0]) === pid) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

/**
 * The process id in `path`, checked to be the process that wrote it; throws with a message for the
 * CLI when there is none.
 */
export function readPidFile(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no pid file ${path}: is a relay running with this config? (or give --pid N)` : `cannot read pid file ${path}: ${code ?? 'error'}`);
  }
  const [first = '', started = ''] = text.split('\n');
  const pid = Number(first.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`pid file ${path} does not hold a process id`);
  const now = processStart(pid);
  if (started.trim() !== '' && now !== null && now !== started.trim()) {
    throw new Error(`stale pid file ${path}: process ${pid} is not the relay that wrote it (is the relay running? or give --pid N)`);
  }
  return pid;
}
