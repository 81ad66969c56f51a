/**
 * Text helpers for people's output. Room names, metadata and even node ids come from the
 * network: any of them may hold ANSI escapes, newlines or bidi overrides that would rewrite an
 * operator's terminal or reorder a table row. Every cell goes through `printable` first.
 */

/** C0 and C1 controls and DEL (\p{Cc}), line/paragraph separators, and the bidi marks,
 *  embeddings, overrides and isolates. */
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** The string with every control or bidi mark written as a visible `\u{…}` escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Zero-width: combining marks, zero-width joiners/spaces, variation selectors. */
function isZeroWidth(cp: number): boolean {
  return (
    (cp >= 0x0300 && cp <= 0x036f) ||
    (cp >= 0x200b && cp <= 0x200d) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x20d0 && cp <= 0x20ff)
  );
}

/** Two columns: East Asian wide/full-width blocks and the common emoji blocks. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Terminal columns a printable string takes (a close estimate, not a full wcwidth). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    width += isZeroWidth(cp) ? 0 : isWide(cp) ? 2 : 1;
  }
  return width;
}

/** Cuts a printable string to at most `max` columns, ending with `…` when it was cut. */
export function truncate(text: string, max: number): string {
  if (displayWidth(text) <= max) return text;
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = displayWidth(ch);
    if (width + w > max - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

/** `0.5034` -> `50.3%`. */
export function percent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A duration for people: `850ms`, `12s`, `5m03s`, `2h05m`, `3d04h`. Negative = `0ms`. */
export function formatDuration(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const two = (n: number): string => String(n).padStart(2, '0');
  if (t < SECOND_MS) return `${t}ms`;
  if (t < MINUTE_MS) return `${Math.floor(t / SECOND_MS)}s`;
  if (t < HOUR_MS)
    return `${Math.floor(t / MINUTE_MS)}m${two(Math.floor((t % MINUTE_MS) / SECOND_MS))}s`;
  if (t < DAY_MS)
    return `${Math.floor(t / HOUR_MS)}h${two(Math.floor((t % HOUR_MS) / MINUTE_MS))}m`;
  return `${Math.floor(t / DAY_MS)}d${two(Math.floor((t % DAY_MS) / HOUR_MS))}h`;
}

/** Time since a wall-clock stamp; `-` for 0 (never). */
export function formatAgo(stampMs: number, nowMs: number): string {
  return stampMs <= 0 ? '-' : `${formatDuration(nowMs - stampMs)} ago`;
}

/** A room name or other untrusted string in a sentence: printable, in double quotes. */
export function quoted(text: string): string {
  return `"${printable(text)}"`;
}
