/**
 * Permission matching as Wings does it: an exact name, `*` for everything except permissions
 * that start with `admin`, and `prefix.*` for a family (e.g. `control.*`).
 */
export function hasPermission(held: readonly string[], wanted: string): boolean {
  for (const p of held) {
    if (p === wanted) return true;
    if (p === '*' && !wanted.startsWith('admin')) return true;
    if (p.endsWith('.*') && wanted.startsWith(p.slice(0, -1))) return true;
  }
  return false;
}
