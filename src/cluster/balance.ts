/**
 * Which node should own which link: rendezvous (highest-random-weight) hashing with bounded
 * loads. Every node computes it alike from the same inputs (the links it leases and the nodes it
 * sees in the presence bucket), so they agree without talking. Pure: no I/O, no clock.
 *
 * Rendezvous: each (node, link) pair has a weight from a hash; a link's ranking of the nodes is by
 * weight, so a node that joins or leaves moves only the links it wins or held (about K/N of K).
 * Bounded loads: links are placed one by one (in key order), each on the highest-ranked node that
 * holds fewer than ⌈K/N⌉ so far, so no node gets more than its share rounded up — plain rendezvous
 * would put 3 of 6 links on one node of 3 often enough to matter for a Wings daemon's socket cap.
 */
import { createHash } from 'node:crypto';

/** The weight of `node` for `key`: 48 bits of SHA-256, the same on every node and platform. */
export function rendezvousWeight(node: string, key: string): number {
  return createHash('sha256').update(node).update('\u0000').update(key).digest().readUIntBE(0, 6);
}

/**
 * The preferred owner of every key: each on its highest-weight node among those below the cap
 * ⌈keys/nodes⌉. Independent of the order of either input; empty when there are no nodes.
 */
export function assignOwners(keys: Iterable<string>, nodes: Iterable<string>): Map<string, string> {
  const sortedKeys = [...new Set(keys)].sort();
  const sortedNodes = [...new Set(nodes)].sort();
  const owners = new Map<string, string>();
  if (sortedNodes.length === 0) return owners;
  const cap = Math.ceil(sortedKeys.length / sortedNodes.length);
  const load = new Map<string, number>(sortedNodes.map((n) => [n, 0]));
  for (const key of sortedKeys) {
    // Ties (48-bit collisions) go to the node whose id sorts first, on every node alike.
    const ranked = sortedNodes.map((node) => ({ node, weight: rendezvousWeight(node, key) })).sort((a, b) => b.weight - a.weight || (a.node < b.node ? -1 : 1));
    const chosen = ranked.find((r) => load.get(r.node)! < cap)!.node;
    load.set(chosen, load.get(chosen)! + 1);
    owners.set(key, chosen);
  }
  return owners;
}

/** A digest of a set of keys: nodes that lease the same links share it (presence.ts groups by it). */
export function keySetDigest(keys: Iterable<string>): string {
  const hash = createHash('sha256');
  for (const key of [...new Set(keys)].sort()) hash.update(key).update('\n');
  return hash.digest('hex').slice(0, 16);
}
