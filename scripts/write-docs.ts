/** Regenerates the README's config reference, error, limits, troubleshooting and event tables (`npm run docs`). */
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference, errorTable, fillSection } from '../src/config/docs.ts';
import { eventTable } from '../src/config/event-docs.ts';
import { limitsTable } from '../src/config/limits-docs.ts';
import { troubleshootingTable } from '../src/config/troubleshooting.ts';
import { ADAPTERS } from '../src/registry.ts';

const file = new URL('../README.md', import.meta.url);
let doc = readFileSync(file, 'utf8');
doc = fillSection(doc, 'config', configReference(ADAPTERS));
doc = fillSection(doc, 'errors', errorTable());
doc = fillSection(doc, 'limits', limitsTable(ADAPTERS));
doc = fillSection(doc, 'troubleshooting', troubleshootingTable());
doc = fillSection(doc, 'events', eventTable());
writeFileSync(file, doc);
console.log('README.md sections regenerated');
