/**
 * Interest across nodes, wired: this node's part of each upstream's interest table goes to the
 * coordinator (published for the other nodes), and the other nodes' union comes back into the
 * table, so that the link of an upstream, on whichever node owns it, sends every node's wants.
 * Both directions are coalesced by the table's window (`limits.interestCoalesceMs`).
 */
import type { InterestTable } from '../upstream/interest.ts';
import type { Coordinator } from './coordinator.ts';

/** Shares the interest of `upstreams` through `coordinator` until the returned function is called. */
export function shareInterest(table: InterestTable, coordinator: Coordinator, upstreams: readonly string[]): () => void {
  const stops: (() => void)[] = [];
  for (const upstream of upstreams) {
    stops.push(table.onLocalChange(upstream, (local) => coordinator.publishInterest(upstream, local)));
    stops.push(coordinator.watchInterest(upstream, (remote) => table.setRemote(upstream, remote)));
  }
  return () => {
    for (const stop of stops.splice(0)) stop();
  };
}
