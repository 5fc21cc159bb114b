/**
 * The JSON Schema of a canonical event, generated from the vocabulary: the CloudEvents envelope
 * of {@link BridgeEventSchema} with `type` fixed and `data` the type's own schema, one branch per
 * canonical type. `npm run schema` writes it to bridge.events.schema.json for dashboards of the
 * CloudEvents dialect (which receive exactly these events) and anyone reading the bus;
 * test/unit/event-schema.test.ts fails when the file is stale.
 *
 * The relay itself does not refuse an event outside the union: a chain of relays of different
 * versions may carry a type this one does not know (see the CloudEvents upstream).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ALL_EVENT_TYPES, EVENT_SPECS } from './event-types.ts';
import { BridgeEventSchema } from './events.ts';

/** One branch per canonical type: the envelope with that `type` and its `data` schema. */
export function canonicalEventSchema(): TSchema {
  const envelope = BridgeEventSchema.properties;
  return Type.Union(
    ALL_EVENT_TYPES.map((type) =>
      Type.Object(
        { ...envelope, type: Type.Literal(type), data: EVENT_SPECS[type].data },
        { title: type, description: EVENT_SPECS[type].about, additionalProperties: false },
      ),
    ),
    {
      $schema: 'http://json-schema.org/draft-07/schema#',
      $id: 'https://protocol-bridge.dev/schemas/bridge.events.schema.json',
      title: 'protocol-bridge canonical event',
      description: 'A CloudEvents 1.0 event (structured JSON mode) as the relay publishes it on the bus and sends to CloudEvents dashboards. Generated from src/event-types.ts.',
    },
  );
}

/** The text of bridge.events.schema.json (TypeBox's symbol-keyed metadata dropped). */
export function eventSchemaText(): string {
  return `${JSON.stringify(canonicalEventSchema(), null, 2)}\n`;
}
