/** The Wings listener's config and how its `:server` path parameter finds a bridged server. */
import type { ListenerContext, ResourceRef } from '../../src/adapter-kit.ts';

export interface WingsListenerConfig {
  name: string;
  dialect: 'wings';
  path: string;
  upstreams: string[];
  jwtSecret: string;
  allowedOrigins: string[];
  tokenEndpoint: string;
  tokenTtlSeconds: number;
  tokenCheckIntervalMs: number;
  expiringWindowSeconds: number;
  consoleLines: number;
  profile: '1.11' | '1.12';
  authDeadlineMs: number;
}

/** Finds a server resource by the `:server` of a path: its full id, or the 8-character short id. */
export function findServer(ctx: ListenerContext<WingsListenerConfig>, id: string): ResourceRef | undefined {
  const servers = ctx.resources().filter((r) => r.resource === 'server');
  return servers.find((r) => r.id === id) ?? (id.length === 8 ? servers.find((r) => r.id.startsWith(id)) : undefined);
}
