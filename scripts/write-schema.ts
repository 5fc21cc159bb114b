/**
 * Writes bridge.config.schema.json from the TypeBox schema (`npm run schema`).
 * test/unit/config.test.ts fails when the checked-in file differs from what this would write.
 */
import { writeFileSync } from 'node:fs';
import { schemaText } from '../src/config/schema-file.ts';

const target = new URL('../bridge.config.schema.json', import.meta.url);
writeFileSync(target, schemaText());
console.log(`wrote ${target.pathname}`);
