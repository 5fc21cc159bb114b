/**
 * The paths of the one port, as `bridge check` sees them: the core's own routes, every listener's
 * WebSocket path and every listener's HTTP routes. Two of them that match the same requests would
 * leave one silently unreachable (the first registered wins), so each collision is an error that
 * names the JSON paths of both.
 */
import type { ProtocolAdapter } from '../contracts.ts';
import type { ConfigIssue } from './load.ts';
import { STATUS_ROUTES } from '../status/routes.ts';

/** Routes the relay itself serves on the one port (src/downstream/server.ts, and the status page's). */
export const CORE_ROUTES: readonly string[] = ['/healthz', '/readyz', '/metrics', ...STATUS_ROUTES];

/** The shape a path pattern matches: `:param` segments are one wildcard, a trailing slash is optional. */
export function routeShape(path: string): string {
  return path
    .replace(/\/+$/, '')
    .split('/')
    .map((seg) => (seg.startsWith(':') ? ':' : seg))
    .join('/');
}

interface Claim {
  shape: string;
  /** What it is, for the message. */
  what: string;
  /** JSON pointer of the option that sets it ('' for the core's own). */
  at: string;
}

/** Every collision among the core routes, the listeners' WebSocket paths and their HTTP routes. */
export function routeCollisions(listeners: readonly Record<string, unknown>[], byDialect: ReadonlyMap<string, ProtocolAdapter>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // WebSocket paths and plain HTTP routes are matched in separate tables (an upgrade never reaches
  // a route), but a path used for both is a mistake too: a client cannot tell what answers it.
  const claims = new Map<string, Claim>();
  const claim = (c: Claim) => {
    const earlier = claims.get(c.shape);
    if (!earlier) return void claims.set(c.shape, c);
    const where = earlier.at === '' ? 'a route of the relay itself' : earlier.at;
    issues.push({ path: c.at, message: `${c.what} collides with ${earlier.what} (${where})` });
  };
  for (const path of CORE_ROUTES) claims.set(routeShape(path), { shape: routeShape(path), what: `the relay's ${path}`, at: '' });
  listeners.forEach((l, i) => {
    if (typeof l.path === 'string') claim({ shape: routeShape(l.path), what: `WebSocket path ${l.path}`, at: `/listeners/${i}/path` });
    const adapter = byDialect.get(String(l.dialect));
    for (const r of adapter?.listenerRoutes?.(l) ?? []) {
      claim({ shape: routeShape(r.path), what: `HTTP route ${r.path}`, at: `/listeners/${i}${r.option}` });
    }
  });
  return issues;
}
