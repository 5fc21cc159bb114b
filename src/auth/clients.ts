/**
 * API clients (config `clients`): key lookup in constant time, and grants per upstream resource.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiClient, ClientDirectory, Grant } from '../contracts.ts';
import type { ClientConfig } from '../config/schema.ts';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Builds the directory. Keys are kept only as SHA-256 digests, compared with timingSafeEqual. */
export function clientDirectory(clients: readonly ClientConfig[]): ClientDirectory {
  const entries = clients.map((c) => ({
    digest: digest(c.key),
    client: { name: c.name, grants: c.grants.map((g) => ({ ...g })) as Grant[] } satisfies ApiClient,
  }));
  return {
    authenticate(key: string): ApiClient | null {
      const d = digest(key);
      let found: ApiClient | null = null;
      // Compare against every entry so the time taken does not say which key was close.
      for (const e of entries) if (timingSafeEqual(d, e.digest) && !found) found = e.client;
      return found;
    },
    permissionsFor(client: ApiClient, upstream: string, id: string): readonly string[] | null {
      const perms = new Set<string>();
      let granted = false;
      for (const g of client.grants) {
        if (g.upstream !== '*' && g.upstream !== upstream) continue;
        if (!g.resources.includes('*') && !g.resources.includes(id)) continue;
        granted = true;
        for (const p of g.permissions) perms.add(p);
      }
      return granted ? [...perms] : null;
    },
  };
}

/** The key of an `Authorization: Bearer <key>` (or `Token <key>`) header, if any. */
export function bearerKey(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^(?:Bearer|Token)\s+(.+)$/i.exec(header.trim());
  return m?.[1] ? m[1] : null;
}
