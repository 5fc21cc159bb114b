/** The Wings listener's config and how its `:server` path parameter finds a bridged server. */
import type { ListenerConfigOf, ListenerContext, ResourceRef } from '../../src/adapter-kit.ts';
import type { WingsListenerOptions } from './index.ts';

/** The listener's config: its options schema (index.ts) with defaults applied and secrets resolved. */
export type WingsListenerConfig = ListenerConfigOf<typeof WingsListenerOptions>;

/** Finds a server resource by the `:server` of a path: its full id, or the 8-character short id. */
export function findServer(ctx: ListenerContext<WingsListenerConfig>, id: string): ResourceRef | undefined {
  const servers = ctx.resources().filter((r) => r.resource === 'server');
  return servers.find((r) => r.id === id) ?? (id.length === 8 ? servers.find((r) => r.id.startsWith(id)) : undefined);
}
