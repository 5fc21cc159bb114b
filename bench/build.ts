/**
 * Compiles the relay as the container image does (deploy/Dockerfile): tsc with
 * tsconfig.build.json into dist/, then the files tsc does not copy and the relay reads at start
 * (the status page's assets). Without them the compiled relay refuses to start.
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Directories copied from the source tree into dist/ after tsc, as the Dockerfile's `RUN cp -r` lines do. */
export const RUNTIME_ASSETS = ['src/status/assets'] as const;

export function buildRelay(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  const t0 = Date.now();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  for (const dir of RUNTIME_ASSETS) cpSync(join(ROOT, dir), join(ROOT, 'dist', dir), { recursive: true });
  log(`bench: built the relay into dist/ (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
