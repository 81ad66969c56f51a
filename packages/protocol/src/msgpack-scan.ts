/**
 * A structural pre-scan of untrusted msgpack, run BEFORE msgpackr decodes anything.
 *
 * msgpackr is fast but trusts its input more than a network-facing decoder should: it always
 * honours its global extensions (records 0x72, bundled strings 0x62, Error, RegExp, Set,
 * typed arrays, dates, structured-clone pointers) whatever the Unpackr options, it recurses
 * once per nesting level, and it only notices a length header longer than the input when it
 * reaches the end. The scan walks the bytes once, iteratively, and accepts only the subset
 * our messages use: nil, booleans, integers, floats, str, bin and arrays, nested at most
 * `depthMax` deep, every length header within the remaining input. Maps, extensions and 0xc1
 * are rejected. So msgpackr only ever sees well-formed, shallow, extension-free input, and an
 * array32 header claiming 2^32 - 1 elements fails here after reading 5 bytes.
 *
 * Strings must be valid UTF-8 (as the msgpack spec requires). Besides the clean semantics
 * (a decoded string re-encodes to the same bytes), this closes a real hole: without its
 * optional native addon (msgpackr-extract, e.g. when optional dependencies were skipped or
 * MSGPACKR_NATIVE_ACCELERATION_DISABLED=true), msgpackr's JavaScript UTF-8 reader does not
 * stop at a string's end on a truncated multi-byte sequence: it reads
 * `[0x92, 0xa2, 0x61, 0xe0, 0xa1, 0x78, 5]` as ['a\u0878', 5], resuming up to 3 bytes into
 * the next value, on tokens this scan never saw (an extension could hide there).
 *
 * Cost: one pass, no allocation for strings up to 64 bytes: ~25 us for a 23 KB room-batch of
 * 100 records, about a fifth of what decoding and validating it costs in all.
 */
import { isUtf8 } from 'node:buffer';
import { DecodeError } from './errors.js';

function malformed(detail: string, at: number): never {
  throw new DecodeError('malformed', '', `${detail} at byte ${at}`);
}

/** Valid msgpack that no roomring message uses. */
function unsupported(token: number, at: number): never {
  const kind =
    (token >= 0x80 && token <= 0x8f) || token === 0xde || token === 0xdf
      ? 'map'
      : token === 0xc1
        ? 'reserved byte 0xc1'
        : 'extension';
  return malformed(`unsupported msgpack ${kind} (0x${token.toString(16)})`, at);
}

/**
 * Checks that exactly one supported value starts at `start` and returns the offset just past
 * it. Throws DecodeError('malformed') otherwise. `end` bounds the read (exclusive).
 */
export function skipValue(bytes: Uint8Array, start: number, end: number, depthMax: number): number {
  // remaining[d] = values still expected at depth d; depth 0 expects the one root value.
  const remaining: number[] = [1];
  let depth = 0;
  let pos = start;
  for (;;) {
    if (pos >= end) malformed('unexpected end of input', pos);
    const at = pos;
    const token = bytes[pos++]!;
    let payload = 0; // bytes to skip after the header
    let children = -1; // elements of an array header; -1 for anything else
    if (token <= 0x7f || token >= 0xe0) {
      // positive or negative fixint
    } else if (token >= 0x90 && token <= 0x9f) {
      children = token & 0x0f;
    } else if (token >= 0xa0 && token <= 0xbf) {
      payload = token & 0x1f;
    } else {
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xcc: // uint8
        case 0xd0: // int8
          payload = 1;
          break;
        case 0xcd: // uint16
        case 0xd1: // int16
          payload = 2;
          break;
        case 0xca: // float32
        case 0xce: // uint32
        case 0xd2: // int32
          payload = 4;
          break;
        case 0xcb: // float64
        case 0xcf: // uint64
        case 0xd3: // int64
          payload = 8;
          break;
        case 0xc4: // bin8
        case 0xd9: // str8
          payload = readLength(bytes, pos, end, 1);
          pos += 1;
          break;
        case 0xc5: // bin16
        case 0xda: // str16
          payload = readLength(bytes, pos, end, 2);
          pos += 2;
          break;
        case 0xc6: // bin32
        case 0xdb: // str32
          payload = readLength(bytes, pos, end, 4);
          pos += 4;
          break;
        case 0xdc: // array16
          children = readLength(bytes, pos, end, 2);
          pos += 2;
          break;
        case 0xdd: // array32
          children = readLength(bytes, pos, end, 4);
          pos += 4;
          break;
        default:
          unsupported(token, at);
      }
    }
    if (payload > end - pos) {
      malformed(`length ${payload} exceeds the ${end - pos} bytes left`, at);
    }
    if (payload > 0 && isStringToken(token) && !isValidUtf8(bytes, pos, pos + payload)) {
      malformed('invalid UTF-8 in string', at);
    }
    pos += payload;
    remaining[depth]! -= 1;
    if (children >= 0) {
      // An array at slot depth d is nesting level d + 1.
      if (depth + 1 > depthMax) malformed(`arrays nested deeper than ${depthMax}`, at);
      // Every element takes at least one byte: a header claiming more fails fast.
      if (children > end - pos) {
        malformed(`array of ${children} exceeds the ${end - pos} bytes left`, at);
      }
      if (children > 0) {
        depth += 1;
        remaining[depth] = children;
        continue;
      }
    }
    while (remaining[depth] === 0) {
      if (depth === 0) return pos;
      depth -= 1;
    }
  }
}

/** Reads a big-endian length field of `width` bytes at `pos`. */
function readLength(bytes: Uint8Array, pos: number, end: number, width: 1 | 2 | 4): number {
  if (end - pos < width) malformed('truncated length header', pos - 1);
  if (width === 1) return bytes[pos]!;
  if (width === 2) return (bytes[pos]! << 8) | bytes[pos + 1]!;
  return (
    bytes[pos]! * 0x100_0000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!)
  );
}

/** An array header at `pos`: its element count and the offset of its first element. */
export function readArrayHeader(
  bytes: Uint8Array,
  pos: number,
  end: number,
): { count: number; next: number } {
  if (pos >= end) malformed('unexpected end of input', pos);
  const token = bytes[pos]!;
  if (token >= 0x90 && token <= 0x9f) return { count: token & 0x0f, next: pos + 1 };
  if (token === 0xdc) return { count: readLength(bytes, pos + 1, end, 2), next: pos + 3 };
  if (token === 0xdd) return { count: readLength(bytes, pos + 1, end, 4), next: pos + 5 };
  return malformed(`expected an array, found 0x${token.toString(16)}`, pos);
}

/**
 * An unsigned integer of at most 32 bits at `pos` (any width, canonical or not), or -1 when
 * the value there is something else. Used for the envelope's version and type code, which
 * are read before the rest of the input is scanned.
 */
export function readSmallUint(
  bytes: Uint8Array,
  pos: number,
  end: number,
): { value: number; next: number } {
  if (pos >= end) malformed('unexpected end of input', pos);
  const token = bytes[pos]!;
  if (token <= 0x7f) return { value: token, next: pos + 1 };
  if (token === 0xcc) return { value: readLength(bytes, pos + 1, end, 1), next: pos + 2 };
  if (token === 0xcd) return { value: readLength(bytes, pos + 1, end, 2), next: pos + 3 };
  if (token === 0xce) return { value: readLength(bytes, pos + 1, end, 4), next: pos + 5 };
  return { value: -1, next: pos };
}

function isStringToken(token: number): boolean {
  return (token >= 0xa0 && token <= 0xbf) || token === 0xd9 || token === 0xda || token === 0xdb;
}

const JS_UTF8_CHECK_BYTES_MAX = 64; // past this, the native check wins over the JS loop

/** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
export function isValidUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start > JS_UTF8_CHECK_BYTES_MAX) return isUtf8(bytes.subarray(start, end));
  let i = start;
  while (i < end) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
      if (end - i < 2 || (bytes[i + 1]! & 0xc0) !== 0x80) return false;
      i += 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      if (end - i < 3) return false;
      const b1 = bytes[i + 1]!;
      if ((b1 & 0xc0) !== 0x80 || (bytes[i + 2]! & 0xc0) !== 0x80) return false;
      if (b === 0xe0 && b1 < 0xa0) return false; // overlong
      if (b === 0xed && b1 >= 0xa0) return false; // UTF-16 surrogate
      i += 3;
    } else if (b >= 0xf0 && b <= 0xf4) {
      if (end - i < 4) return false;
      const b1 = bytes[i + 1]!;
      if ((b1 & 0xc0) !== 0x80 || (bytes[i + 2]! & 0xc0) !== 0x80) return false;
      if ((bytes[i + 3]! & 0xc0) !== 0x80) return false;
      if (b === 0xf0 && b1 < 0x90) return false; // overlong
      if (b === 0xf4 && b1 >= 0x90) return false; // above U+10FFFF
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}
