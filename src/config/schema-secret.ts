/** The shape of a secret in the config, in its own module so every section's schema can use it. */
import { Type } from '@sinclair/typebox';

/** A secret: inline, from an environment variable, or from a file (trailing newline trimmed). */
export const Secret = Type.Union(
  [
    Type.String({ minLength: 1 }),
    Type.Object({ env: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
    Type.Object({ file: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  ],
  { description: 'A secret: a string, {"env":"NAME"} or {"file":"PATH"}.' },
);
