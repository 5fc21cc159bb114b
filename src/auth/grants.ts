/**
 * Grants as every source states them: what a principal may see and do per upstream. The same
 * matching for a configured client and for a principal another source admitted, and one check
 * for grants that arrive from outside (a JWT claim, a connect hook's answer).
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Grant } from '../contracts.ts';

/**
 * The union of the permissions of every grant in `grants` that covers `id` of `upstream`; null
 * without one. `*` in a grant's `upstream` or `resources` covers every one; asking for `*` is
 * covered only by a grant that says `*` (a wildcard subscription needs a wildcard grant).
 */
export function grantPermissions(grants: readonly Grant[], upstream: string, id: string): readonly string[] | null {
  let perms: Set<string> | null = null;
  for (const g of grants) {
    if (g.upstream !== '*' && g.upstream !== upstream) continue;
    if (!g.resources.includes('*') && !g.resources.includes(id)) continue;
    perms ??= new Set();
    for (const p of g.permissions) perms.add(p);
  }
  return perms === null ? null : [...perms];
}

/** Grants from outside the config: every field explicit (nothing defaults to "everything"). */
const ExternalGrants = Type.Array(
  Type.Object(
    {
      upstream: Type.String({ pattern: '^([A-Za-z0-9_-]{1,64}|\\*)$' }),
      resources: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 1000 }),
      permissions: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 256 }),
    },
    { additionalProperties: true },
  ),
  { maxItems: 100 },
);
const externalGrants = TypeCompiler.Compile(ExternalGrants);

/** `value` as frozen grants when it is a valid list of them (a JWT claim, a hook's answer), else null. */
export function readGrants(value: unknown): readonly Grant[] | null {
  if (!externalGrants.Check(value)) return null;
  return Object.freeze(
    (value as Static<typeof ExternalGrants>).map((g) => Object.freeze({ upstream: g.upstream, resources: Object.freeze([...g.resources]), permissions: Object.freeze([...g.permissions]) })),
  ) as readonly Grant[];
}
