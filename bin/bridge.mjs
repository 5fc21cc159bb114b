#!/usr/bin/env node
// Launcher for `npx bridge`: runs src/main.ts under tsx's loader, so `npm install` is the only set-up
// step (production images run the compiled `node dist/src/main.js`). It re-executes Node with
// `--import tsx` rather than calling tsx's register() API: under Node 20 that API's off-thread
// loader hooks spin forever on some module graphs. Signals are forwarded so SIGTERM still drains.
// A terminal's Ctrl-C reaches the child too (it is in the launcher's process group), so the child
// gets that SIGINT twice, a moment apart: it takes a repeat within a second for the same signal
// (src/process/drain-on-signal.ts), and one Ctrl-C drains.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const tsx = pathToFileURL(require.resolve('tsx')).href;
const main = new URL('../src/main.ts', import.meta.url).pathname;
const child = spawn(process.execPath, ['--import', tsx, main, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
