/**
 * The README's config reference and error table, generated from the TypeBox schema and the
 * error table so they cannot drift (`npm run docs` writes them; a test checks they are current).
 */
import type { TObject, TSchema } from '@sinclair/typebox';
import type { ProtocolAdapter } from '../contracts.ts';
import { ERRORS } from '../errors.ts';
import { BusSection, ClientSchema, ClusterSection, GrantSchema, HttpSection, LimitsSection, ListenerBase, LogSection, NodeSection, SimulatorBase, UpstreamBase } from './schema.ts';
import { HookAuthSection, JwtAuthSection, PanelAuthSection } from './auth-schema.ts';

function typeOf(s: TSchema): string {
  if (s.anyOf) {
    const parts = (s.anyOf as TSchema[]).map(typeOf);
    return parts.every((p) => p.startsWith('`"')) ? parts.join(' \\| ') : [...new Set(parts)].join(' \\| ');
  }
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.type === 'array') return `${typeOf(s.items as TSchema)}[]`;
  if (s.type === 'object' && s.properties) {
    const keys = Object.keys(s.properties as object);
    if (keys.length === 1 && (keys[0] === 'env' || keys[0] === 'file')) return `{${keys[0]}}`;
    return 'object';
  }
  return String(s.type ?? 'any');
}

function row(name: string, s: TSchema, required: boolean): string {
  const isSecret = Array.isArray(s.anyOf) && (s.anyOf as TSchema[]).some((a) => a.properties?.env);
  const type = isSecret ? 'secret' : typeOf(s);
  const dflt = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : required ? '**required**' : '—';
  const desc = String(s.description ?? '').replace(/\|/g, '\\|');
  return `| \`${name}\` | ${type} | ${dflt} | ${desc} |`;
}

function table(title: string, props: Record<string, TSchema>, required: readonly string[] = []): string {
  const lines = [`#### ${title}`, '', '| option | type | default | meaning |', '|---|---|---|---|'];
  for (const [name, s] of Object.entries(props)) lines.push(row(name, s, required.includes(name) && s.default === undefined && !isOptional(s)));
  return lines.join('\n');
}

function isOptional(s: TSchema): boolean {
  return Object.getOwnPropertySymbols(s).some((sym) => sym.description === 'TypeBox.Optional');
}

function requiredOf(o: TObject): string[] {
  return (o.required as string[] | undefined) ?? [];
}

/** `http.tls` (optional, so its object schema sits inside the Optional modifier). */
const TlsSection = HttpSection.properties.tls as unknown as TObject;

/** The config's object sections, each a table of its keys, in the README's order. */
const SECTIONS: readonly (readonly [string, TObject])[] = [
  ['`node`', NodeSection],
  ['`http`', HttpSection],
  ['`http.tls`', TlsSection],
  ['`bus`', BusSection],
  ['`cluster`', ClusterSection],
  ['`clients[]`', ClientSchema],
  ['`clients[].grants[]`', GrantSchema],
  ['`auth.jwt`', JwtAuthSection],
  ['`auth.hook`', HookAuthSection],
  ['`auth.panel`', PanelAuthSection],
  ['`limits`', LimitsSection],
  ['`log`', LogSection],
];

export function configReference(adapters: readonly ProtocolAdapter[]): string {
  const parts = [
    ...SECTIONS.map(([title, section]) => table(title, section.properties, requiredOf(section))),
    table('`upstreams[]` (every protocol)', UpstreamBase, ['name', 'protocol']),
    table('`listeners[]` (every dialect)', ListenerBase, ['dialect', 'upstreams']),
    table('`simulators[]` (every protocol)', SimulatorBase, ['name', 'protocol']),
  ];
  for (const a of adapters) {
    const up = a.upstreamOptions as TObject;
    const li = a.listenerOptions as TObject;
    const si = a.simulatorOptions as TObject;
    parts.push(table(`\`upstreams[]\` with \`"protocol": "${a.protocol}"\``, up.properties, requiredOf(up)));
    parts.push(table(`\`listeners[]\` with \`"dialect": "${a.protocol}"\` (default path \`${a.defaultPath}\`)`, li.properties, requiredOf(li)));
    parts.push(table(`\`simulators[]\` with \`"protocol": "${a.protocol}"\``, si.properties, requiredOf(si)));
  }
  return parts.join('\n\n');
}

export function errorTable(): string {
  const lines = ['| code | close code | HTTP | reason | client should reconnect |', '|---|---|---|---|---|'];
  for (const [code, spec] of Object.entries(ERRORS)) {
    lines.push(`| \`${code}\` | ${spec.close ?? '—'} | ${spec.http} | ${spec.reason} | ${spec.reconnect ? 'yes' : 'no'} |`);
  }
  return lines.join('\n');
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function fillSection(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${name} section markers`);
  return `${doc.slice(0, i + start.length)}\n${body}\n${doc.slice(j)}`;
}
