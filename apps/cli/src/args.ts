/**
 * Parsers of option and argument values. A bad value throws commander's InvalidArgumentError,
 * which the parent turns into a usage message and exit code 2.
 */
import { InvalidArgumentError } from 'commander';

/** Room names: 1..256 UTF-8 bytes (the protocol's ROOM_NAME_BYTES_MAX). */
export const ROOM_NAME_BYTES_MAX = 256;

export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const n = /^\d{1,16}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

export const positiveInt = intInRange(1, Number.MAX_SAFE_INTEGER);
export const port = intInRange(1, 65_535);

export function roomName(value: string): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes < 1 || bytes > ROOM_NAME_BYTES_MAX) {
    throw new InvalidArgumentError(`a room name is 1 to ${ROOM_NAME_BYTES_MAX} UTF-8 bytes`);
  }
  return value;
}

/** Repeatable string option: `--remove a --remove b` -> ['a', 'b']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Longest `--valid-for`: 30 days. */
export const DURATION_S_MAX = 30 * 24 * 3600;
const DURATION_UNITS_S: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration as `lk` takes it: `90s`, `10m`, `6h`, `7d` (or plain seconds), in seconds,
 *  1 s to 30 days. */
export function durationS(value: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * DURATION_UNITS_S[match[2] || 's']! : Number.NaN;
  if (!(seconds >= 1 && seconds <= DURATION_S_MAX)) {
    throw new InvalidArgumentError('must be a duration like 90s, 10m, 6h or 7d (1s to 30d)');
  }
  return seconds;
}
