/**
 * Room incarnation ids, as LiveKit: `RM_` + 12 characters of base57 (DESIGN.md section 4).
 * 57^12 = 1.2e21 ids: two random ids collide with probability ~1e-9 after 1.5e6 creates of
 * the same name, and a collision only matters between incarnations of the same name.
 */
export const SID_PREFIX = 'RM_';
/** The shortuuid base57 alphabet LiveKit uses: no 0, 1, I, O, l. */
export const SID_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export const SID_RANDOM_CHARS = 12;
/** 3 + 12 = 15 ASCII characters, so also 15 bytes. */
export const SID_LENGTH = SID_PREFIX.length + SID_RANDOM_CHARS;

const SID_PATTERN = /^RM_[23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz]{12}$/;

export function isValidSid(value: unknown): value is string {
  return typeof value === 'string' && value.length === SID_LENGTH && SID_PATTERN.test(value);
}
