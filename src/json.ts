/**
 * The one safe JSON parse every codec uses. Codecs must never throw on a frame (STYLE rule 2), so a
 * frame that is not JSON becomes a value no schema accepts instead of an exception.
 */

/** JSON.parse that cannot throw; undefined (which no schema accepts) for non-JSON or a non-string. */
export function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
