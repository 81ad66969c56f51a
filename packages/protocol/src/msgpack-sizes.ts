/**
 * Encoded sizes of msgpack values as our Packr writes them (canonical, smallest header),
 * for exact-or-over size estimates without encoding. See docs/protocol/wire-format.md.
 */

/** Header + payload bytes of a string whose UTF-8 form is `utf8Bytes` long. */
export function strBytes(utf8Bytes: number): number {
  if (utf8Bytes < 32) return utf8Bytes + 1; // fixstr
  if (utf8Bytes < 0x100) return utf8Bytes + 2; // str8
  if (utf8Bytes < 0x10000) return utf8Bytes + 3; // str16
  return utf8Bytes + 5; // str32
}

/**
 * Bytes of a non-negative integer: msgpackr writes integers past uint32 as float64. Any other
 * number (negative, fractional) is counted at the float64 maximum, 9 bytes.
 */
export function uintBytes(value: number): number {
  if (!(value >= 0 && Number.isInteger(value))) return 9;
  if (value < 0x80) return 1; // positive fixint (useRecords: false frees 0x40-0x7f)
  if (value < 0x100) return 2; // uint8
  if (value < 0x10000) return 3; // uint16
  if (value <= 0xffff_ffff) return 5; // uint32
  return 9; // float64, exact up to 2^53
}

/** Header bytes of an array of `count` elements. */
export function arrayHeaderBytes(count: number): number {
  if (count < 16) return 1; // fixarray
  if (count < 0x10000) return 3; // array16
  return 5; // array32
}

/** Header + payload bytes of a bin of `length` bytes. */
export function binBytes(length: number): number {
  if (length < 0x100) return length + 2;
  if (length < 0x10000) return length + 3;
  return length + 5;
}
