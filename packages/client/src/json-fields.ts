/**
 * Readers for JSON answers. livekit-server writes snake_case with every field present; the
 * protobuf JSON mapping (and the LiveKit SDKs) write lowerCamelCase with defaults omitted and
 * int64 as decimal strings. Each reader takes both spellings, applies the proto default when
 * the field is absent, and throws `FieldError` on a wrong type. Only own properties are read,
 * so a body cannot smuggle values in through `__proto__`.
 */

export class FieldError extends Error {
  override readonly name = 'FieldError';
}

export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FieldError(`${what} is not a JSON object`);
  }
  return value as JsonObject;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new FieldError(`${what} is not a JSON array`);
  return value;
}

/** The value under `camel` or, failing that, `snake`; undefined when neither is present. */
export function pick(obj: JsonObject, camel: string, snake?: string): unknown {
  if (Object.hasOwn(obj, camel)) return obj[camel];
  if (snake !== undefined && Object.hasOwn(obj, snake)) return obj[snake];
  return undefined;
}

export function readString(obj: JsonObject, camel: string, snake?: string): string {
  const v = pick(obj, camel, snake);
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new FieldError(`${camel} is not a string`);
  return v;
}

export function readBool(obj: JsonObject, camel: string, snake?: string): boolean {
  const v = pick(obj, camel, snake);
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new FieldError(`${camel} is not a boolean`);
  return v;
}

const DECIMAL_INT = /^-?\d{1,20}$/;

/**
 * An integer sent as a JSON number or (int64 in the protobuf JSON mapping) a decimal string.
 * Values beyond 2^53 lose precision; none of the API's integers (unix ms, counts) gets near.
 */
export function readInt(obj: JsonObject, camel: string, snake?: string): number {
  const v = pick(obj, camel, snake);
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && DECIMAL_INT.test(v)) return Number(v);
  throw new FieldError(`${camel} is not an integer`);
}

/** Any finite number (shares, ratios). */
export function readNumber(obj: JsonObject, camel: string, snake?: string): number {
  const v = pick(obj, camel, snake);
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new FieldError(`${camel} is not a number`);
}

export function readStringArray(obj: JsonObject, camel: string, snake?: string): string[] {
  const v = pick(obj, camel, snake);
  if (v === undefined || v === null) return [];
  return asArray(v, camel).map((item) => {
    if (typeof item !== 'string') throw new FieldError(`${camel} holds a non-string`);
    return item;
  });
}

/** A list of objects under `camel`/`snake`, each parsed by `parse`; absent = []. */
export function readObjects<T>(
  obj: JsonObject,
  parse: (item: JsonObject) => T,
  camel: string,
  snake?: string,
): T[] {
  const v = pick(obj, camel, snake);
  if (v === undefined || v === null) return [];
  return asArray(v, camel).map((item) => parse(asObject(item, `${camel}[]`)));
}
