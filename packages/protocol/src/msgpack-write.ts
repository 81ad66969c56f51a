/**
 * The msgpack writers of the fast encoders (room-batch-encode.ts, cell-summaries-encode.ts):
 * each size function checks a value by the decoder's rules and returns its encoded size, or
 * -1 to decline; each writer writes a value its size function accepted, exactly as msgpackr
 * writes it with the protocol's options (msgpack-codec.ts).
 */
import { Buffer } from 'node:buffer';
import { MESSAGE_BYTES_MAX } from './limits.js';
import { PROTOCOL_VERSION } from './messages.js';

/**
 * A fast encoder's result: a buffer of exactly `size()` bytes that `write` fills (returning
 * where it stopped), or undefined when `size` declines (-1), the size is over
 * MESSAGE_BYTES_MAX, or `write` did not end exactly there (the two passes read the same
 * fields: a getter that answered differently would show). Never throws.
 */
export function encodeExact(
  size: () => number,
  write: (out: Buffer) => number,
): Uint8Array | undefined {
  try {
    const bytes = size();
    if (bytes < 0 || bytes > MESSAGE_BYTES_MAX) return undefined;
    const out = Buffer.allocUnsafe(bytes);
    return write(out) === bytes ? out : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of an envelope's start (array header, version, type code), or -1 when either code
 *  is past a positive fixint (never, in version 1). */
export function envelopeStartSize(elements: number, typeCode: number): number {
  if (PROTOCOL_VERSION > 0x7f || typeCode > 0x7f) return -1;
  return arrayHeaderSize(elements) + 2;
}

/** Writes an envelope's start (array header, version, type code) at 0; returns the end. */
export function writeEnvelopeStart(out: Buffer, elements: number, typeCode: number): number {
  let pos = writeArrayHeader(out, 0, elements);
  out[pos++] = PROTOCOL_VERSION;
  out[pos++] = typeCode;
  return pos;
}

/** Strings longer than this are written by Buffer's native latin1 writer, shorter by hand. */
const NATIVE_WRITE_MIN = 32;

/** Bytes of an ASCII string of at most `bytesMax` bytes as msgpack writes it, or -1. */
export function stringSize(value: unknown, bytesMax: number, allowEmpty: boolean): number {
  if (typeof value !== 'string') return -1;
  const length = value.length;
  if (length === 0) return allowEmpty ? 1 : -1;
  if (length > bytesMax || length >= 0x10000) return -1;
  for (let i = 0; i < length; i++) if (value.charCodeAt(i) >= 0x80) return -1;
  return (length < 0x20 ? 1 : length < 0x100 ? 2 : 3) + length;
}

/** Bytes of an integer in [0, max] as msgpackr writes it (0x80 and up: uint8, uint16,
 *  uint32, past that float64), or -1. */
export function uintSize(value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    return -1;
  }
  if (value < 0x80) return 1;
  if (value < 0x100) return 2;
  if (value < 0x10000) return 3;
  if (value <= 0xffff_ffff) return 5;
  return 9;
}

/** fixarray up to 15 elements, array16 past (BATCH_RECORDS_MAX < 0x10000). */
export function arrayHeaderSize(length: number): number {
  return length < 0x10 ? 1 : 3;
}

export function writeArrayHeader(out: Buffer, pos: number, length: number): number {
  if (length < 0x10) {
    out[pos] = 0x90 | length;
    return pos + 1;
  }
  out[pos] = 0xdc;
  out[pos + 1] = length >>> 8;
  out[pos + 2] = length & 0xff;
  return pos + 3;
}

/** An ASCII string stringSize accepted: fixstr, str8 or str16 by its length. */
export function writeString(out: Buffer, start: number, value: string): number {
  const length = value.length;
  let pos = start;
  if (length < 0x20) {
    out[pos++] = 0xa0 | length;
  } else if (length < 0x100) {
    out[pos++] = 0xd9;
    out[pos++] = length;
  } else {
    out[pos++] = 0xda;
    out[pos++] = length >>> 8;
    out[pos++] = length & 0xff;
  }
  if (length >= NATIVE_WRITE_MIN) {
    out.write(value, pos, length, 'latin1');
  } else {
    for (let i = 0; i < length; i++) out[pos + i] = value.charCodeAt(i);
  }
  return pos + length;
}

/** An integer uintSize accepted (-0 is written as 0, as msgpackr writes it). */
export function writeUint(out: Buffer, start: number, value: number): number {
  let pos = start;
  if (value < 0x80) {
    out[pos++] = value;
  } else if (value < 0x100) {
    out[pos++] = 0xcc;
    out[pos++] = value;
  } else if (value < 0x10000) {
    out[pos++] = 0xcd;
    out[pos++] = value >>> 8;
    out[pos++] = value & 0xff;
  } else if (value <= 0xffff_ffff) {
    out[pos++] = 0xce;
    out.writeUInt32BE(value, pos);
    pos += 4;
  } else {
    out[pos++] = 0xcb;
    out.writeDoubleBE(value, pos);
    pos += 8;
  }
  return pos;
}
