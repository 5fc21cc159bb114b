/**
 * The README's event table, generated from the event vocabulary (src/event-types.ts): every
 * canonical type, a summary of its `data` schema and its retention (`npm run docs` writes it; a
 * test fails when it is stale).
 */
import type { TSchema } from '@sinclair/typebox';
import { ALL_EVENT_TYPES, EVENT_SPECS, type Retention } from '../event-types.ts';

const RETENTION: Readonly<Record<Retention, string>> = {
  history: 'history: the last `bus.historyLimit` per subject',
  last: 'last value',
  none: '—',
};

/** A schema in one short line: `{line: string}`, `{state: offline/starting/…, patch?: {…}}`. */
export function dataSummary(s: TSchema): string {
  if (s.anyOf) {
    const parts = (s.anyOf as TSchema[]).map(dataSummary);
    return parts.join((s.anyOf as TSchema[]).every((p) => p.const !== undefined) ? '/' : ' or ');
  }
  if (s.const !== undefined) return String(s.const);
  if (s.type === 'array') return `${dataSummary(s.items as TSchema)}[]`;
  if (s.type === 'object') {
    const props = Object.entries((s.properties ?? {}) as Record<string, TSchema>);
    if (props.length === 0) return '{…}';
    const required = new Set((s.required ?? []) as string[]);
    return `{${props.map(([k, v]) => `${k}${required.has(k) ? '' : '?'}: ${dataSummary(v)}`).join(', ')}}`;
  }
  return s.type === undefined ? 'any' : String(s.type);
}

/** The markdown table of every canonical event type. */
export function eventTable(): string {
  const lines = ['| type | `data` | retained | what |', '|---|---|---|---|'];
  for (const type of ALL_EVENT_TYPES) {
    const spec = EVENT_SPECS[type];
    // An empty schema is an event that says everything by its type: its data is `{}`.
    const data = spec.data.type === 'object' && Object.keys(spec.data.properties ?? {}).length === 0 ? '`{}`' : `\`${dataSummary(spec.data)}\``;
    lines.push(`| \`${type}\` | ${data.replace(/\|/g, '\\|')} | ${RETENTION[spec.retention]} | ${spec.about.replace(/\|/g, '\\|')} |`);
  }
  return lines.join('\n');
}
