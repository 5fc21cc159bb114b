/**
 * Compiles the relay as the container image does (deploy/Dockerfile): tsconfig.build.json into
 * dist/, then the status page's assets next to the compiled module that reads them at start
 * (tsc copies no non-TypeScript file; without them `node dist/src/main.js` refuses to start).
 */
import { execFileSync } from 'node:child_process';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './procs.ts';

export function buildRelay(tag = 'bench'): void {
  const t0 = Date.now();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  cpSync(join(ROOT, 'src/status/assets'), join(ROOT, 'dist/src/status/assets'), { recursive: true });
  process.stderr.write(`${tag}: built the relay into dist/ (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}
