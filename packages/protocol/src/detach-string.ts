/**
 * Strings the store keeps for as long as a room lives must not keep anything else alive.
 *
 * V8 cuts a substring of 13 or more characters (SlicedString::kMinLength) as a slice: a
 * 32 B view that holds its whole parent string. msgpackr's native string extraction decodes
 * a run of ASCII strings of up to 6,000 bytes as one such parent and hands out every field
 * as a slice of it, so a stored room name or sid decoded from a gossip batch kept ~4-8 KB of
 * the batch alive, shared by ~50 records: ~100 B per received room in a node process (95 MiB
 * of heap at 1M received rooms), up to ~250 B in an in-process replay (measured,
 * docs/operations.md "Memory"). Concatenations of 13 or more characters (a name built by a
 * template literal) are cons strings, 32 B plus their parts.
 *
 * detachString() returns a flat copy of such a string, and a shorter one unchanged (V8
 * copies short substrings and never makes a cons string of fewer than 13 characters).
 * Runtime flags do not help here: --no-string-slices is not consulted by the optimized
 * substring builtins, which are compiled into the snapshot (measured: no change).
 */

/** V8's SlicedString::kMinLength and ConsString::kMinLength. */
const SHARED_LENGTH_MIN = 13;

/**
 * A sid's 15 characters as one flat string. An explicit call is the fastest copy measured
 * here (~45 ns; a spread or `apply` of the codes costs ~6 ns per character), and every
 * insert copies a sid.
 */
function copy15(s: string): string {
  return String.fromCharCode(
    s.charCodeAt(0),
    s.charCodeAt(1),
    s.charCodeAt(2),
    s.charCodeAt(3),
    s.charCodeAt(4),
    s.charCodeAt(5),
    s.charCodeAt(6),
    s.charCodeAt(7),
    s.charCodeAt(8),
    s.charCodeAt(9),
    s.charCodeAt(10),
    s.charCodeAt(11),
    s.charCodeAt(12),
    s.charCodeAt(13),
    s.charCodeAt(14),
  );
}

/** Reused by copyAny (one call at a time: the store is single-threaded and never re-enters). */
const pair: [string, string] = ['', ''];

/**
 * Any length: Array#join of two non-empty parts writes one flat result (~90-120 ns for 14
 * to 60 characters, about flat in length); `[s].join('')` or `s + ''` would return `s`
 * itself, and a `+` of two parts builds a cons string again. The first part is one
 * character, a string V8 shares from its single-character table for Latin-1 code units.
 */
function copyAny(s: string): string {
  pair[0] = s.slice(0, 1);
  pair[1] = s.slice(1);
  const copy = pair.join('');
  pair[1] = ''; // drop the slice, and with it the parent, now
  return copy;
}

/**
 * `value` as a string that shares memory with no other string: unchanged when shorter than
 * 13 characters, else a flat copy. Same content, same `===`.
 */
export function detachString(value: string): string {
  const length = value.length;
  if (length < SHARED_LENGTH_MIN) return value;
  return length === 15 ? copy15(value) : copyAny(value);
}
