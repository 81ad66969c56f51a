/**
 * Twirp errors (livekit-roomservice.md, Errors). Every error answer of the server, Twirp or
 * admin API, is a `TwirpError` serialised as `{"code","msg","meta"}` with
 * `Content-Type: application/json` exactly. A node error's answer comes from the one error
 * table (`ERROR_TABLE`, @roomring/api-errors): its code, status, message, meta and
 * Retry-After, with no per-class code here.
 */
import {
  type ClientRetry,
  ERROR_TABLE,
  type RegistryErrorCode,
  TWIRP_HTTP_STATUS,
  type TwirpCode,
  twirpAnswerOf,
} from '@roomring/api-errors';
import { RegistryError } from '@roomring/node';

export { TWIRP_HTTP_STATUS, type TwirpCode };

/** An error answer. `retryAfterMs` becomes a `Retry-After` header (whole seconds, >= 1). */
export class TwirpError extends Error {
  override readonly name = 'TwirpError';
  constructor(
    readonly code: TwirpCode,
    message: string,
    readonly meta: Readonly<Record<string, string>> = {},
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get status(): number {
    return TWIRP_HTTP_STATUS[this.code];
  }

  body(): Buffer {
    return Buffer.from(JSON.stringify({ code: this.code, msg: this.message, meta: this.meta }));
  }
}

/** `Retry-After` seconds: ceil(ms / 1000), at least 1. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1_000));
}

/** The error table flattened to one row per node error class: docs/api.md "Error mapping"
 *  shows these rows, and a test keeps the two equal. */
export interface ErrorMapping {
  /** The node error class's `name`. */
  error: string;
  /** Its `code` (`RegistryError.code`), the table's key. */
  nodeCode: RegistryErrorCode;
  /** The Twirp code of the answer. */
  code: TwirpCode;
  status: number;
  /** True: the answer has a Retry-After header. */
  retryAfter: boolean;
  /** Where the class's `retryAfterMs` comes from. */
  retryAfterFrom: string | undefined;
  clientRetry: ClientRetry;
  /** The answer's `meta` keys. */
  meta: readonly string[];
}

export const NODE_ERROR_MAPPING: readonly ErrorMapping[] = Object.values(ERROR_TABLE).flatMap(
  (row) =>
    row.errors.map((nodeError) => ({
      error: nodeError.name,
      nodeCode: row.code,
      code: row.twirpCode,
      status: row.httpStatus,
      retryAfter: row.retryAfter,
      retryAfterFrom: nodeError.retryAfterFrom,
      clientRetry: row.clientRetry,
      meta: row.meta,
    })),
);

/** Maps anything a node call threw to the answer; unknown errors are `internal` (the
 *  message is not echoed: it may hold internals). */
export function toTwirpError(error: unknown): TwirpError {
  if (error instanceof TwirpError) return error;
  const answer = error instanceof RegistryError ? twirpAnswerOf(error) : undefined;
  if (answer === undefined) return new TwirpError('internal', 'internal error');
  return new TwirpError(answer.code, answer.msg, answer.meta, answer.retryAfterMs);
}
