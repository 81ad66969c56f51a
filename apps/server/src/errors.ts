/**
 * Twirp errors (livekit-roomservice.md, Errors) and the one table that maps the node's typed
 * errors to them. Every error answer of the server, Twirp or admin API, is a `TwirpError`
 * serialised as `{"code","msg","meta"}` with `Content-Type: application/json` exactly.
 */
import {
  DeadlineExceededError,
  InvalidArgumentError,
  NodeNotReadyError,
  OverloadedError,
  RoomNotFoundError,
  UnavailableError,
} from '@roomring/node';

export type TwirpCode =
  | 'canceled'
  | 'unknown'
  | 'invalid_argument'
  | 'malformed'
  | 'deadline_exceeded'
  | 'not_found'
  | 'bad_route'
  | 'already_exists'
  | 'permission_denied'
  | 'unauthenticated'
  | 'resource_exhausted'
  | 'failed_precondition'
  | 'aborted'
  | 'out_of_range'
  | 'unimplemented'
  | 'internal'
  | 'unavailable'
  | 'dataloss';

/** HTTP status of every Twirp code (the Twirp v7 spec). */
export const TWIRP_HTTP_STATUS: Readonly<Record<TwirpCode, number>> = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
};

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

/** Row of the node-error table: the error class, its Twirp code, and whether it carries a
 *  Retry-After. README.md shows this table; a test keeps them equal. */
export interface ErrorMapping {
  error: string;
  code: TwirpCode;
  retryAfter: boolean;
}

export const NODE_ERROR_MAPPING: readonly ErrorMapping[] = [
  { error: 'InvalidArgumentError', code: 'invalid_argument', retryAfter: false },
  { error: 'RoomNotFoundError', code: 'not_found', retryAfter: false },
  { error: 'UnavailableError', code: 'unavailable', retryAfter: true },
  { error: 'OverloadedError', code: 'resource_exhausted', retryAfter: true },
  { error: 'DeadlineExceededError', code: 'deadline_exceeded', retryAfter: false },
  { error: 'NodeNotReadyError', code: 'unavailable', retryAfter: true },
];

/** Maps anything a node call threw to the answer; unknown errors are `internal` (the
 *  message is not echoed: it may hold internals). */
export function toTwirpError(error: unknown): TwirpError {
  if (error instanceof TwirpError) return error;
  if (error instanceof InvalidArgumentError) {
    return new TwirpError('invalid_argument', error.message, { argument: error.field });
  }
  if (error instanceof RoomNotFoundError) {
    return new TwirpError('not_found', 'requested room does not exist');
  }
  if (error instanceof UnavailableError) {
    return new TwirpError('unavailable', error.message, {}, error.retryAfterMs);
  }
  if (error instanceof OverloadedError) {
    return new TwirpError('resource_exhausted', error.message, {}, error.retryAfterMs);
  }
  if (error instanceof DeadlineExceededError) {
    return new TwirpError('deadline_exceeded', error.message);
  }
  if (error instanceof NodeNotReadyError) {
    return new TwirpError('unavailable', error.message, {}, error.retryAfterMs);
  }
  return new TwirpError('internal', 'internal error');
}
