import { compareStrings } from './compare.js';

/**
 * Region failover order (DESIGN.md section 5). Pure helpers; `createPlacement` precomputes the
 * order of every known region once per membership.
 *
 * Default (no explicit order): all known regions sorted by name, rotated so the list starts at
 * the home region and wraps: home, the regions after it by name, then those before it. An
 * unknown home region takes its sorted place, so it still goes first and is followed by the
 * regions after it by name.
 *
 * Explicit order: the configured list rotated the same way when it contains the home region,
 * else the home region followed by the whole list. Known regions missing from the list come
 * last, sorted by name, so a room is never unplaceable while any region has a ring member.
 */
export function regionOrderFor(
  homeRegion: string,
  knownSorted: readonly string[],
  explicit: readonly string[] | undefined,
): string[] {
  if (explicit === undefined) {
    const after: string[] = [];
    const before: string[] = [];
    for (const region of knownSorted) {
      const order = compareStrings(region, homeRegion);
      if (order > 0) after.push(region);
      else if (order < 0) before.push(region);
    }
    return [homeRegion, ...after, ...before];
  }
  const listed = new Set(explicit);
  const unlisted = knownSorted.filter((region) => !listed.has(region) && region !== homeRegion);
  const at = explicit.indexOf(homeRegion);
  const rotated =
    at < 0 ? [homeRegion, ...explicit] : [...explicit.slice(at), ...explicit.slice(0, at)];
  return [...rotated, ...unlisted];
}
