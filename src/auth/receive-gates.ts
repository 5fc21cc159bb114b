/**
 * Which event types a client receives only with a permission on the resource (DESIGN §6): the
 * table Wings applies on its socket (REAL-BEHAVIOUR.md), shared by every dialect that gates
 * delivery. Keyed by neutral event type; everything not listed is ungated.
 */
import { hasPermission } from './permissions.ts';

export const RECEIVE_GATES: Readonly<Record<string, string>> = {
  'server.install.output': 'admin.websocket.install',
  'server.transfer.logs': 'admin.websocket.transfer',
  'server.backup.completed': 'backup.read',
};

/** True when `held` permissions let a client receive an event of `type`. */
export function mayReceive(held: readonly string[], type: string): boolean {
  const gate = RECEIVE_GATES[type];
  return gate === undefined || hasPermission(held, gate);
}
