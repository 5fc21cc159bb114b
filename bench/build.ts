/**
 * Compiles the relay as the container image does (deploy/Dockerfile): tsc with
 * tsconfig.build.json into dist/, then the files tsc does not copy and the relay reads at start
 * (the status page's assets). Without them the compiled relay refuses to start.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './procs.ts';

/** Directories copied from the source tree into dist/ after tsc, as the Dockerfile's `RUN cp -r` lines do. */
export const RUNTIME_ASSETS = ['src/status/assets'] as const;

/** `tag` names the command in the build's log line (`bench`, `soak`). */
export function buildRelay(tag = 'bench'): void {
  const t0 = Date.now();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  for (const dir of RUNTIME_ASSETS) cpSync(join(ROOT, dir), join(ROOT, 'dist', dir), { recursive: true });
  process.stderr.write(`${tag}: built the relay into dist/ (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}
