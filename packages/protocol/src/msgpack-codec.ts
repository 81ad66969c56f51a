/**
 * The one msgpackr Packr/Unpackr pair the protocol uses, configured explicitly: library
 * defaults are not a wire contract, and another process (or another language) must decode
 * any message alone.
 */
import { FLOAT32_OPTIONS, Packr, Unpackr } from 'msgpackr';

const packr = new Packr({
  // No record extension and no shared structures: each message is self-describing msgpack.
  // (With records, the receiver must have seen the structure first; PLATFORM.md measured
  // that shared structures cannot be decoded by another process.) Also makes msgpackr
  // write integers 0x40-0x7f as positive fixints instead of reserving them for record ids.
  useRecords: false,
  // Plain msgpack only: Uint8Array is written as bin, not as the 0x74 typed-array extension;
  // no Set/RegExp/Error/Date extensions, no reference ids.
  moreTypes: false,
  structuredClone: false,
  // Strings inline, not gathered into a 0x62 bundle extension that other decoders lack.
  bundleStrings: false,
  // Integers past uint32 (HLC stamps are ~2^52) are written as float64, which is exact up to
  // 2^53; never as float32, which would round them.
  useFloat32: FLOAT32_OPTIONS.NEVER,
  // Our messages hold no maps; if one slipped in, write a Map, never a keyed object.
  mapsAsObjects: false,
  variableMapSize: false,
});

const unpackr = new Unpackr({
  useRecords: false,
  // A map would decode to a Map, never to a plain object whose keys (`__proto__`, room
  // names) could shadow prototype properties. The pre-scan rejects maps before this anyway.
  mapsAsObjects: false,
  // Other encoders (Go, Rust) often write uint64/int64 for every integer. 'number' gives
  // the exact value up to 2^53 and a rounded one (>= 2^53, so not a safe integer, so rejected
  // by validation) beyond; 'bigint' would reject small values that are merely wide-encoded.
  int64AsType: 'number',
  // bin values are views into the input; the codecs copy the ones they keep.
  copyBuffers: false,
  structuredClone: false,
  moreTypes: false,
  // Not sequential, not trusted: any structure an input defines is dropped after it.
  sequential: false,
});

/** Encodes one value. The result may share its ArrayBuffer with other results: never write to it. */
export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

/**
 * Decodes the single value in bytes[start, end). Call only on a range skipValue() accepted:
 * msgpackr then meets only well-formed, extension-free, shallow input.
 */
export function unpackRange(bytes: Uint8Array, start: number, end: number): unknown {
  return unpackr.unpack(bytes, { start, end });
}
