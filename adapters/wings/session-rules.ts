/**
 * The fixed rules of a Wings session, from REAL-BEHAVIOUR.md: which commands need a permission,
 * what a server without figures reports, and how a 1.12 token's scope reads. Which events need a
 * permission to be received is core's `RECEIVE_GATES` (through the kit), shared with CloudEvents.
 */
import { PERMISSIONS } from './vocabulary.ts';
import type { BridgeEvent, ServerStatsData } from '../../src/adapter-kit.ts';

/** The permission each `set state` action needs (`kill` is a stop, as in Wings). */
export const POWER_PERMISSION: Readonly<Record<string, string>> = {
  start: PERMISSIONS.start,
  stop: PERMISSIONS.stop,
  restart: PERMISSIONS.restart,
  kill: PERMISSIONS.stop,
};

/** What Wings reports for a server it has no figures for: zeros, and the state. */
export function zeroStats(state: ServerStatsData['state']): ServerStatsData {
  return { memoryBytes: 0, memoryLimitBytes: 0, cpuAbsolute: 0, network: { rxBytes: 0, txBytes: 0 }, uptimeMs: 0, diskBytes: 0, state };
}

/** `scope` may be a space-separated string or a list; Wings 1.12 needs `websocket` in it. */
export function hasWebsocketScope(scope: unknown): boolean {
  const scopes = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? scope : [];
  return scopes.includes('websocket');
}

/** The `state` of a retained status (or link state) event, if it has one. */
export function stateOf(event: BridgeEvent | undefined): string | undefined {
  return (event?.data as { state?: string } | undefined)?.state;
}
