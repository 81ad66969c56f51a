/**
 * Typed codec errors (docs/protocol/wire-format.md, "Decode errors").
 *
 * One class per failure kind, matched by `name` (stable across bundles and realms, unlike
 * `instanceof`), with a stable `code` for metrics labels and a `field` path naming the
 * offending field, e.g. `records[3].name`.
 */

/** Why a decode failed. Stable: used as a metric label and in docs/protocol/wire-format.md. */
export type DecodeErrorCode =
  /** The input is longer than the limit for its kind; rejected before any parsing. */
  | 'too-large'
  /** Not one well-formed msgpack value of the supported subset, or not an envelope. */
  | 'malformed'
  /** The envelope's version is not one this build decodes. */
  | 'version'
  /** The envelope's type code is not one this build knows. */
  | 'unknown-type'
  /** A field has the wrong type, arity, format or pairing. */
  | 'schema'
  /** A field is outside its range or over its length or count limit (src/limits.ts). */
  | 'limit';

/** Why an encode was refused: the message would break a limit or the schema. */
export type EncodeErrorCode = 'too-large' | 'unknown-type' | 'schema' | 'limit';

function describe(field: string, detail: string): string {
  return field === '' ? detail : `${field}: ${detail}`;
}

/** Bytes from the network or a snapshot file that this build will not accept. */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code: DecodeErrorCode;
  /** Path of the offending field (`records[3].name`), or '' for the whole input. */
  readonly field: string;
  /** The message without the field path. */
  readonly detail: string;

  constructor(code: DecodeErrorCode, field: string, detail: string) {
    super(describe(field, detail));
    this.code = code;
    this.field = field;
    this.detail = detail;
  }

  /** The same error, with `prefix` prepended to its field path. */
  withPrefix(prefix: string): DecodeError {
    return new DecodeError(
      this.code,
      this.field === '' ? prefix : `${prefix}.${this.field}`,
      this.detail,
    );
  }
}

/** A message or snapshot the caller built breaks a limit: it would not decode elsewhere. */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  readonly code: EncodeErrorCode;
  readonly field: string;
  readonly detail: string;

  constructor(code: EncodeErrorCode, field: string, detail: string) {
    super(describe(field, detail));
    this.code = code;
    this.field = field;
    this.detail = detail;
  }
}

/** Encode runs the decoder's validators; their failures are reported as EncodeErrors. */
export function toEncodeError(error: unknown): EncodeError {
  if (error instanceof EncodeError) return error;
  if (error instanceof DecodeError) {
    const code: EncodeErrorCode =
      error.code === 'limit' || error.code === 'too-large' || error.code === 'unknown-type'
        ? error.code
        : 'schema';
    return new EncodeError(code, error.field, error.detail);
  }
  return new EncodeError('schema', '', `cannot encode: ${String(error)}`);
}

/** Decoders never throw: anything unexpected (a msgpackr RangeError...) becomes 'malformed'. */
export function asDecodeError(error: unknown): DecodeError {
  if (error instanceof DecodeError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new DecodeError('malformed', '', `undecodable: ${detail.slice(0, 200)}`);
}
