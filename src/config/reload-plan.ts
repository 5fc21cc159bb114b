/**
 * What a config reload may change in place, decided before anything is touched: the loaded new
 * config is compared with the one in force, key by key, and every changed key (as a JSON path)
 * either changes in place or makes the whole reload refused, so the old config stays entirely.
 * Pure: the same answer in a single relay, in the primary of `--workers` and in each worker.
 *
 * In place: `clients` (keys and grants), `log.level`, the `limits` in {@link LIVE_LIMITS}, the
 * `http.tls` certificate and key sources (the files are read again on every reload anyway),
 * `http.publicUrl` and `http.shutdownGraceMs`. Everything else (node, listeners, upstreams, bus,
 * simulators, http host/port/hosts/proxies, turning TLS on or off, the limits the upstream links
 * and the bus were built with) shapes sockets, links or connections that exist: it takes a restart.
 */
import type { BridgeConfig, LimitsConfig } from './schema.ts';

export type ReloadResult = 'applied' | 'refused' | 'invalid';

/** Limits read afresh for new work (a new connection, a new frame, a new command, a new token). */
export const LIVE_LIMITS: ReadonlySet<keyof LimitsConfig> = new Set<keyof LimitsConfig>([
  'writeQueueBytes',
  'commandTimeoutMs',
  'maxConnections',
  'maxConnectionsPerAddress',
  'connectRatePerAddress',
  'authFailuresPerAddress',
  'authFailuresPerSocket',
  'authDeadlineMs',
  'pingIntervalMs',
  'inboundRate',
  'inboundQueueFrames',
  'commandRate',
  'historyRate',
  'interestRate',
  'interestCoalesceMs',
  'clockSkewSeconds',
  'maxTokenLifetimeSeconds',
]);

/** Limits the upstream links, the socket layer or the bus were built with: a change takes a restart. */
export const FIXED_LIMITS: ReadonlySet<keyof LimitsConfig> = new Set<keyof LimitsConfig>([
  'maxPayloadBytes',
  'httpTimeoutMs',
  'connectTimeoutMs',
  'backoffInitialMs',
  'backoffMaxMs',
  'backoffMultiplier',
  'backoffResetMs',
  'historyConcurrency',
]);

const LIVE_HTTP = new Set(['publicUrl', 'shutdownGraceMs']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON paths of every value that differs between `a` and `b` (an array of another length is one path). */
export function changedPaths(a: unknown, b: unknown, path = ''): string[] {
  if (a === b) return [];
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [path];
    return a.flatMap((v, i) => changedPaths(v, b[i], `${path}/${i}`));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPaths(a[k], b[k], `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  return [path];
}

/** Whether a change at `path` can be made in place (see the module comment). */
export function reloadable(path: string, current: BridgeConfig, next: BridgeConfig): boolean {
  const [, section = '', key = ''] = path.split('/');
  switch (section) {
    case 'clients':
      return true;
    case 'log':
      return key === 'level';
    case 'limits':
      return LIVE_LIMITS.has(key as keyof LimitsConfig);
    case 'http':
      if (key === 'tls') return current.http.tls !== undefined && next.http.tls !== undefined && path !== '/http/tls';
      return LIVE_HTTP.has(key);
    default:
      return false;
  }
}

export interface ReloadPlan {
  /** Every changed key (JSON paths). */
  readonly changed: readonly string[];
  /** The changed keys that take a restart; the reload is refused when there is any. */
  readonly refused: readonly string[];
}

export function planReload(current: BridgeConfig, next: BridgeConfig): ReloadPlan {
  const changed = changedPaths(current, next);
  return { changed, refused: changed.filter((p) => !reloadable(p, current, next)) };
}
