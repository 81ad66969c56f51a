/**
 * Code-unit order for strings. Every node must sort ids and regions the same way, so never
 * `localeCompare` (its order depends on the ICU build and locale of each process).
 */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
