#!/usr/bin/env node
// Launcher for `npx bridge` / `npm start`: runs the TypeScript sources through tsx's loader, so a
// fresh `npm install` is enough (no build step). Production images run `node dist/src/main.js`.
import { register } from 'tsx/esm/api';

register();
await import(new URL('../src/main.ts', import.meta.url).href);
