/**
 * UTF-8 byte length of a JavaScript string, or -1 when it holds a lone surrogate.
 *
 * Every string limit is in UTF-8 bytes (what goes on the wire), not UTF-16 units. A lone
 * surrogate has no UTF-8 form: msgpackr would write a replacement, so the string would not
 * survive a round trip; the encoder refuses it. Decoded strings never hold one (the decoder
 * maps invalid UTF-8 to U+FFFD), so measuring the decoded string also bounds its re-encoding.
 */
const SHORT_STRING_UNITS = 64; // below this a JS loop beats the native call overhead

interface WellFormedString {
  isWellFormed(): boolean; // ES2024, present in Node 20 (V8 11.3)
}

export function utf8ByteLength(value: string): number {
  const length = value.length;
  if (length > SHORT_STRING_UNITS) {
    if (!(value as unknown as WellFormedString).isWellFormed()) return -1;
    return Buffer.byteLength(value, 'utf8');
  }
  let bytes = 0;
  for (let i = 0; i < length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (unit > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) return -1;
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Index path of the first string holding a lone surrogate in a value of nested arrays
 * (`[5, 2, 0]` = value[5][2][0]), or null if there is none. Encoders run it before packing:
 * msgpackr would write a short string's lone surrogate as invalid UTF-8, which every decoder
 * rejects, and a long one as U+FFFD, which changes the string.
 */
export function findLoneSurrogate(value: unknown): number[] | null {
  if (typeof value === 'string') {
    return (value as unknown as WellFormedString).isWellFormed() ? null : [];
  }
  if (!Array.isArray(value)) return null;
  for (let i = 0; i < value.length; i++) {
    const inner = findLoneSurrogate(value[i]);
    if (inner !== null) {
      inner.unshift(i);
      return inner;
    }
  }
  return null;
}
