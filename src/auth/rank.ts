/** How telling a refusal is, when several sources refused one credential (the dashboard hears the highest). */
import type { AuthRefusal } from './types.ts';

const RANK: Readonly<Record<AuthRefusal, number>> = { unknown: 0, invalid: 1, not_found: 2, forbidden: 3, expired: 4, unavailable: 5 };

export function rank(reason: AuthRefusal): number {
  return RANK[reason];
}
