/**
 * Which event types a client receives only with a permission on the resource (DESIGN §6): the
 * table Wings applies on its socket (REAL-BEHAVIOUR.md), shared by every dialect that gates
 * delivery. Keyed by neutral event type; everything not listed is ungated.
 */
import { EVENT_TYPES, type EventType } from '../event-types.ts';
import { hasPermission } from './permissions.ts';

export const RECEIVE_GATES: Readonly<Partial<Record<EventType, string>>> = {
  [EVENT_TYPES.serverInstallOutput]: 'admin.websocket.install',
  [EVENT_TYPES.serverTransferLogs]: 'admin.websocket.transfer',
  [EVENT_TYPES.serverBackupCompleted]: 'backup.read',
};

/** True when `held` permissions let a client receive an event of `type`. */
export function mayReceive(held: readonly string[], type: string): boolean {
  const gate = (RECEIVE_GATES as Readonly<Record<string, string | undefined>>)[type];
  return gate === undefined || hasPermission(held, gate);
}
