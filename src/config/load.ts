/**
 * Loads bridge.config.json: parse → apply defaults → collect *every* error with its JSON path
 * (unknown keys included) → cross-check references → resolve secrets → deep-freeze.
 *
 * `Value.Parse` is deliberately not used: its Clean step deletes unknown keys before checking,
 * so a typo in an option name would vanish instead of being reported.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { ProtocolAdapter } from '../contracts.ts';
import { checkTlsMaterial, type TlsConfig } from '../tls.ts';
import { routeCollisions } from './routes.ts';
import { CoreSchema, itemSchemas, type BridgeConfig } from './schema.ts';

export interface ConfigIssue {
  /** JSON pointer of the offending value ('' for the whole file). */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    super(`${source}: ${issues.length} configuration error(s)\n${issues.map((i) => `  ${i.path || '/'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface LoadOptions {
  /** Environment for `{"env"}` secrets (default process.env, read only here, at boot). */
  env?: Record<string, string | undefined>;
  /** Directory `{"file"}` secrets are relative to (default: the config file's). */
  baseDir?: string;
  /**
   * `resolve` (default): every `{"env"}`/`{"file"}` secret is read, and the TLS certificate and key
   * are checked. `shape`: secrets are checked for shape only and left as they are (`bridge check
   * --no-secrets`, on a machine whose secret files are elsewhere); such a config cannot be run.
   */
  secrets?: 'resolve' | 'shape';
}

type Json = Record<string, unknown>;

/** Adds the schema's errors, skipping any path that already has an issue (e.g. a removed bad shape). */
function collect(schema: TSchema, value: unknown, prefix: string, out: ConfigIssue[]): void {
  const known = new Set(out.map((i) => i.path));
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const path = prefix + e.path;
    const key = `${path}\u0000${e.message}`;
    if (known.has(path) || seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: e.message });
  }
}

/**
 * Wrong container types, found before defaults are applied: TypeBox's Value.Default merges an
 * object given where an array with a default belongs into that default, which would silently
 * turn e.g. `"allowedOrigins": {…}` into the default `["*"]`.
 */
function shapeIssues(schema: TSchema, value: unknown, path: string, out: ConfigIssue[]): void {
  if (value === undefined) return;
  if (schema.type === 'array') {
    if (!Array.isArray(value)) return void out.push({ path, message: 'Expected array' });
    if (schema.items) value.forEach((v, i) => shapeIssues(schema.items as TSchema, v, `${path}/${i}`, out));
  } else if (schema.type === 'object' && schema.properties) {
    if (!isObject(value)) return void out.push({ path, message: 'Expected object' });
    for (const [k, sub] of Object.entries(schema.properties as Record<string, TSchema>)) shapeIssues(sub, value[k], `${path}/${k}`, out);
  }
}

/**
 * A copy of `value` with every wrongly-shaped value removed (each reported in `issues`), so the
 * rest can still get its defaults and be checked: every error is reported, none twice.
 */
function withoutBadShapes(schema: TSchema, value: Json, base: string, issues: ConfigIssue[]): Json {
  const found: ConfigIssue[] = [];
  shapeIssues(schema, value, base, found);
  const copy = structuredClone(value);
  for (const issue of found) {
    const keys = issue.path.slice(base.length).split('/').slice(1);
    const last = keys.pop();
    let parent: unknown = copy;
    for (const k of keys) parent = (parent as Json)[k];
    if (last !== undefined && parent && typeof parent === 'object') {
      if (Array.isArray(parent)) parent[Number(last)] = {};
      else delete (parent as Json)[last];
    }
  }
  issues.push(...found);
  return copy;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validates one list (upstreams/listeners/simulators) item by item against its protocol's schema. */
function checkItems(
  list: unknown[],
  section: string,
  discriminator: 'protocol' | 'dialect',
  schemas: Map<string, TSchema>,
  issues: ConfigIssue[],
): Json[] {
  return list.map((raw, i) => {
    const at = `/${section}/${i}`;
    if (!isObject(raw)) {
      issues.push({ path: at, message: 'Expected object' });
      return {};
    }
    const kind = raw[discriminator];
    const schema = typeof kind === 'string' ? schemas.get(kind) : undefined;
    if (!schema) {
      const known = [...schemas.keys()].join(', ');
      issues.push({ path: `${at}/${discriminator}`, message: `unknown ${discriminator} ${JSON.stringify(kind)} (known: ${known})` });
      return raw;
    }
    const item = Value.Default(schema, withoutBadShapes(schema, raw, at, issues)) as Json;
    collect(schema, item, at, issues);
    return item;
  });
}

function resolveSecret(value: unknown, path: string, opts: Required<LoadOptions>, issues: ConfigIssue[]): unknown {
  if (typeof value === 'string' || !isObject(value)) return value;
  if (typeof value.env === 'string') {
    const v = opts.env[value.env];
    if (v === undefined || v === '') issues.push({ path, message: `environment variable ${value.env} is not set` });
    return v ?? '';
  }
  if (typeof value.file === 'string') {
    try {
      return readFileSync(resolve(opts.baseDir, value.file), 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      issues.push({ path, message: `cannot read secret file ${value.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
      return '';
    }
  }
  return value;
}

/** The TLS certificate and key: a file stays a (now absolute) path, read by the relay (src/tls.ts). */
const TLS_PATHS = new Set(['/http/tls/cert', '/http/tls/key']);

function resolveTlsSource(value: Json, path: string, opts: Required<LoadOptions>, issues: ConfigIssue[]): unknown {
  if (typeof value.file !== 'string') return resolveSecret(value, path, opts, issues);
  const file = resolve(opts.baseDir, value.file);
  if (resolveSecret({ file }, path, opts, issues) === '') return '';
  return { file };
}

/** Walks the config and replaces every `{"env"}` / `{"file"}` object that sits where a secret may. */
function resolveSecrets(node: unknown, path: string, opts: Required<LoadOptions>, issues: ConfigIssue[]): unknown {
  if (Array.isArray(node)) return node.map((v, i) => resolveSecrets(v, `${path}/${i}`, opts, issues));
  if (!isObject(node)) return node;
  const keys = Object.keys(node);
  if (keys.length === 1 && (keys[0] === 'env' || keys[0] === 'file')) {
    if (opts.secrets === 'shape') return node;
    return TLS_PATHS.has(path) ? resolveTlsSource(node, path, opts, issues) : resolveSecret(node, path, opts, issues);
  }
  const out: Json = {};
  for (const k of keys) out[k] = resolveSecrets(node[k], `${path}/${k}`, opts, issues);
  return out;
}

/** A certificate and key that are both there but cannot serve TLS are a config error, found before anything starts. */
function tlsIssues(config: Json, issues: ConfigIssue[]): void {
  const tls = (config.http as Json | undefined)?.tls as TlsConfig | undefined;
  if (!tls || issues.some((i) => i.path.startsWith('/http/tls'))) return;
  const read = (s: TlsConfig['cert']) => (typeof s === 'string' ? s : readFileSync(s.file, 'utf8'));
  let problem;
  try {
    problem = checkTlsMaterial({ cert: read(tls.cert), key: read(tls.key) }, tls);
  } catch (err) {
    // Gone between the two reads: report it like any unreadable secret file.
    return void issues.push({ path: '/http/tls', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? 'error'}` });
  }
  if (problem) issues.push({ path: problem.part === 'pair' ? '/http/tls' : `/http/tls/${problem.part}`, message: problem.message });
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

function duplicates(items: Json[], key: string, section: string, issues: ConfigIssue[]): void {
  const seen = new Map<unknown, number>();
  items.forEach((it, i) => {
    const v = it[key];
    if (v === undefined) return;
    if (seen.has(v)) issues.push({ path: `/${section}/${i}/${key}`, message: `duplicate ${key} ${JSON.stringify(v)} (also /${section}/${seen.get(v)})` });
    else seen.set(v, i);
  });
}

/** Validates an already-parsed config object. Throws ConfigError listing every issue. */
export function validateConfig(raw: unknown, adapters: readonly ProtocolAdapter[], source = 'config', options: LoadOptions = {}): BridgeConfig {
  const opts: Required<LoadOptions> = { env: options.env ?? process.env, baseDir: options.baseDir ?? process.cwd(), secrets: options.secrets ?? 'resolve' };
  const issues: ConfigIssue[] = [];
  if (!isObject(raw)) throw new ConfigError(source, [{ path: '', message: 'Expected a JSON object' }]);

  const core = Value.Default(CoreSchema, withoutBadShapes(CoreSchema, raw, '', issues)) as Json;
  collect(CoreSchema, core, '', issues);
  const items = itemSchemas(adapters);
  const byProtocol = new Map(adapters.map((a) => [a.protocol, a]));
  const asList = (v: unknown) => (Array.isArray(v) ? v : []);
  const upstreams = checkItems(asList(core.upstreams), 'upstreams', 'protocol', items.upstream, issues);
  const listeners = checkItems(asList(core.listeners), 'listeners', 'dialect', items.listener, issues);
  const simulators = checkItems(asList(core.simulators), 'simulators', 'protocol', items.simulator, issues);

  // Names default from the dialect and position; paths from the adapter.
  listeners.forEach((l, i) => {
    const adapter = byProtocol.get(String(l.dialect));
    l.name ??= `${String(l.dialect)}-${i}`;
    if (adapter) l.path ??= adapter.defaultPath;
  });

  duplicates(upstreams, 'name', 'upstreams', issues);
  duplicates(listeners, 'name', 'listeners', issues);
  issues.push(...routeCollisions(listeners, byProtocol));
  duplicates(simulators, 'name', 'simulators', issues);
  duplicates(asList(core.clients) as Json[], 'name', 'clients', issues);

  const upstreamNames = new Set(upstreams.map((u) => u.name));
  const simByName = new Map(simulators.map((s) => [s.name, s]));
  upstreams.forEach((u, i) => {
    if (u.simulator === undefined) return;
    const sim = simByName.get(u.simulator);
    if (!sim) issues.push({ path: `/upstreams/${i}/simulator`, message: `no simulator named ${JSON.stringify(u.simulator)}` });
    else if (sim.protocol !== u.protocol) issues.push({ path: `/upstreams/${i}/simulator`, message: `simulator ${JSON.stringify(u.simulator)} speaks ${String(sim.protocol)}, not ${String(u.protocol)}` });
  });
  listeners.forEach((l, i) => {
    asList(l.upstreams).forEach((name, j) => {
      if (!upstreamNames.has(name)) issues.push({ path: `/listeners/${i}/upstreams/${j}`, message: `no upstream named ${JSON.stringify(name)}` });
    });
  });
  const auth = (isObject(core.auth) ? core.auth : {}) as Json;
  listeners.forEach((l, i) => {
    asList(l.auth).forEach((source, j) => {
      if (source !== 'static' && typeof source === 'string' && auth[source] === undefined) {
        issues.push({ path: `/listeners/${i}/auth/${j}`, message: `source ${JSON.stringify(source)} needs the auth.${source} section` });
      }
    });
  });
  if (isObject(auth.jwt) && auth.jwt.secret === undefined && auth.jwt.publicKeys === undefined && auth.jwt.jwksUrl === undefined) {
    issues.push({ path: '/auth/jwt', message: 'set one of secret, publicKeys, jwksUrl' });
  }
  (asList(core.clients) as Json[]).forEach((c, i) => {
    asList(c.grants).forEach((g, j) => {
      const up = isObject(g) ? g.upstream : undefined;
      if (typeof up === 'string' && up !== '*' && !upstreamNames.has(up)) {
        issues.push({ path: `/clients/${i}/grants/${j}/upstream`, message: `no upstream named ${JSON.stringify(up)}` });
      }
    });
  });
  const adapterChecks = (list: Json[], section: string, kind: 'upstream' | 'listener', disc: string) =>
    list.forEach((item, i) => {
      const adapter = byProtocol.get(String(item[disc]));
      for (const [p, message] of adapter?.check?.(kind, item) ?? []) issues.push({ path: `/${section}/${i}${p}`, message });
    });
  adapterChecks(upstreams, 'upstreams', 'upstream', 'protocol');
  adapterChecks(listeners, 'listeners', 'listener', 'dialect');

  const assembled = { ...core, upstreams, listeners, simulators } as Json;
  delete assembled.$schema;
  const node = (assembled.node ?? {}) as Json;
  node.id ??= hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'node';
  assembled.node = node;
  const resolved = resolveSecrets(assembled, '', opts, issues) as Json;
  if (opts.secrets === 'resolve') tlsIssues(resolved, issues);
  if (issues.length > 0) throw new ConfigError(source, issues);
  return deepFreeze(resolved) as unknown as BridgeConfig;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** Reads and validates a config file. Throws ConfigError listing every issue. */
export function loadConfigFile(file: string, adapters: readonly ProtocolAdapter[], options: LoadOptions = {}): BridgeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // The parser's message quotes the text around the error, which may be a secret: say where only.
    const at = /position (\d+)/.exec((err as Error).message);
    throw new ConfigError(file, [{ path: '', message: `not valid JSON${at ? ` (${lineColumn(text, Number(at[1]))})` : ''}` }]);
  }
  return validateConfig(raw, adapters, file, { baseDir: dirname(resolve(file)), ...options });
}
