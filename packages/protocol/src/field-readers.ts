/**
 * Validating readers for decoded msgpack values. Each returns a fresh, typed value or throws
 * a DecodeError naming the field: 'schema' for a wrong type, format or arity, 'limit' for a
 * value outside a named limit of limits.ts. Encoders run the same readers, so both sides of
 * the wire enforce one rule set.
 */
import { DecodeError } from './errors.js';
import { isValidSid } from './sid.js';
import { utf8ByteLength } from './utf8.js';

export function schemaError(field: string, detail: string): never {
  throw new DecodeError('schema', field, detail);
}

export function limitError(field: string, detail: string): never {
  throw new DecodeError('limit', field, detail);
}

function typeName(value: unknown): string {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return 'bin';
  return typeof value;
}

/** An array of exactly `length` elements. */
export function readTuple(value: unknown, field: string, length: number): unknown[] {
  if (!Array.isArray(value)) schemaError(field, `expected an array, got ${typeName(value)}`);
  if (value.length !== length) {
    schemaError(field, `expected ${length} elements, got ${value.length}`);
  }
  return value;
}

/** An array of at most `countMax` elements (`limitName` names the limit in errors). */
export function readList(
  value: unknown,
  field: string,
  countMax: number,
  limitName: string,
  countMin = 0,
): unknown[] {
  if (!Array.isArray(value)) schemaError(field, `expected an array, got ${typeName(value)}`);
  if (value.length > countMax) {
    limitError(field, `${value.length} elements, over ${limitName} (${countMax})`);
  }
  if (value.length < countMin) {
    schemaError(field, `${value.length} elements, expected at least ${countMin}`);
  }
  return value;
}

/**
 * A string of at most `bytesMax` UTF-8 bytes; empty only when `allowEmpty`. Decoded strings
 * are well-formed (the pre-scan admits valid UTF-8 only), so their UTF-16 form measures
 * their wire form exactly. Encoders check for lone surrogates first (findLoneSurrogate).
 */
export function readString(
  value: unknown,
  field: string,
  bytesMax: number,
  limitName: string,
  allowEmpty: boolean,
): string {
  if (typeof value !== 'string') schemaError(field, `expected a string, got ${typeName(value)}`);
  if (value.length === 0) {
    if (!allowEmpty) schemaError(field, 'must not be empty');
    return '';
  }
  // Each UTF-16 unit is at most 3 UTF-8 bytes: short strings skip the exact count.
  if (value.length * 3 <= bytesMax) return value;
  const bytes = utf8ByteLength(value);
  if (bytes < 0) schemaError(field, 'holds a lone UTF-16 surrogate (not encodable as UTF-8)');
  if (bytes > bytesMax) limitError(field, `${bytes} UTF-8 bytes, over ${limitName} (${bytesMax})`);
  return value;
}

/**
 * An integer in [min, max] (every max is at most 2^53 - 1, so an unsafe integer is out of
 * range); -0 becomes 0 so that decoded values compare equal.
 */
export function readInt(
  value: unknown,
  field: string,
  min: number,
  max: number,
  limitName: string,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    schemaError(
      field,
      `expected an integer, got ${typeof value === 'number' ? value : typeName(value)}`,
    );
  }
  if (value < min || value > max) {
    limitError(field, `${value} is outside ${limitName} range [${min}, ${max}]`);
  }
  return value === 0 ? 0 : value;
}

export function readBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') schemaError(field, `expected a boolean, got ${typeName(value)}`);
  return value;
}

/** One of `names` by its wire code (its index). */
export function readEnum<T extends string>(value: unknown, field: string, names: readonly T[]): T {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= names.length) {
    schemaError(field, `expected a code in [0, ${names.length - 1}], got ${String(value)}`);
  }
  return names[value]!;
}

/** The wire code of an enum name; throws 'schema' for a name the enum lacks. */
export function enumCode<T extends string>(value: T, field: string, names: readonly T[]): number {
  const code = names.indexOf(value);
  if (code < 0) schemaError(field, `expected one of ${names.join(', ')}, got ${String(value)}`);
  return code;
}

export function readSid(value: unknown, field: string): string {
  if (!isValidSid(value)) {
    schemaError(field, "expected 'RM_' + 12 base57 characters");
  }
  return value;
}

/** A copy of a bin value of exactly `length` bytes. */
export function readBytes(value: unknown, field: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array)) schemaError(field, `expected bin, got ${typeName(value)}`);
  if (value.byteLength !== length) {
    schemaError(field, `expected ${length} bytes, got ${value.byteLength}`);
  }
  return new Uint8Array(value);
}
