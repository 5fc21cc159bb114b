/** The text of bridge.config.schema.json: the full config schema as plain JSON Schema. */
import { ADAPTERS } from '../registry.ts';
import { fullSchema } from './schema.ts';

export function schemaText(): string {
  // JSON.stringify drops TypeBox's symbol-keyed metadata, leaving standard JSON Schema.
  return `${JSON.stringify(fullSchema(ADAPTERS), null, 2)}\n`;
}
