/**
 * Writes the generated JSON Schemas (`npm run schema`): bridge.config.schema.json from the config's
 * TypeBox schema, and bridge.events.schema.json from the event vocabulary. test/unit/config.test.ts
 * and test/unit/event-schema.test.ts fail when a checked-in file differs from what this would write.
 */
import { writeFileSync } from 'node:fs';
import { schemaText } from '../src/config/schema-file.ts';
import { eventSchemaText } from '../src/event-schema.ts';

for (const [file, text] of [
  ['bridge.config.schema.json', schemaText()],
  ['bridge.events.schema.json', eventSchemaText()],
] as const) {
  const target = new URL(`../${file}`, import.meta.url);
  writeFileSync(target, text);
  console.log(`wrote ${target.pathname}`);
}
