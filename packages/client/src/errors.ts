/**
 * One error class per failure kind, matched by `name` (stable) or `instanceof`.
 *
 * Every error a call throws is a `RoomringError` and says, in `retryStop`, why the client
 * stopped retrying. The retry budget reuses this flag (`retryStop === 'budget'`) instead of
 * a class of its own: the caller still sees the server's real answer (say 503 unavailable),
 * which is what it should act on, and learns that the budget held the retry back.
 */
import type { TwirpCode } from '@roomring/api-errors';

/** Twirp error codes (https://twitchtv.github.io/twirp/docs/spec_v7.html#error-codes). */
export type TwirpErrorCode = TwirpCode;

/**
 * Why the call gave up:
 * - `not-retryable`: the failure is final (auth, argument, not found, internal, ...);
 * - `unsafe-method`: retryable in general, but this method may have taken effect (DeleteRoom);
 * - `max-attempts`: `retry.maxAttempts` reached;
 * - `deadline`: the next attempt could not finish before the call's deadline;
 * - `budget`: the retry budget was spent (the client-wide ~10% extra-load cap);
 * - `disabled`: the call was made with `retry: false`.
 */
export type RetryStopReason =
  | 'not-retryable'
  | 'unsafe-method'
  | 'max-attempts'
  | 'deadline'
  | 'budget'
  | 'disabled';

/** Base class of every error a client call throws. */
export abstract class RoomringError extends Error {
  abstract readonly code: string;
  /** Attempts the call made (1 = no retry). Set when the call gives up. */
  attempts = 0;
  /** Why the call stopped retrying; set when the call gives up. */
  retryStop: RetryStopReason | undefined = undefined;
}

/** The server answered with an error status (a Twirp error body or a bare HTTP status). */
export class RoomringApiError extends RoomringError {
  override readonly name = 'RoomringApiError';
  readonly code: TwirpErrorCode;
  /** HTTP status. */
  readonly status: number;
  /** From the `Retry-After` header (seconds x 1000); undefined when absent. */
  readonly retryAfterMs: number | undefined;
  /** Twirp `meta`: string values only, on a null-prototype object. */
  readonly meta: Readonly<Record<string, string>>;

  constructor(
    code: TwirpErrorCode,
    message: string,
    status: number,
    retryAfterMs: number | undefined,
    meta: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    this.meta = meta;
  }
}

/**
 * The request failed below HTTP: refused, reset, DNS, TLS. `beforeSend` is true only when
 * the failure proves no byte of the request reached a server (connection refused, name not
 * resolved, host unreachable): the one case DeleteRoom retries.
 */
export class RoomringNetworkError extends RoomringError {
  override readonly name = 'RoomringNetworkError';
  readonly code = 'network';
  readonly beforeSend: boolean;
  /** The system error code when known, e.g. `ECONNREFUSED`; '' otherwise. */
  readonly systemCode: string;

  constructor(message: string, systemCode: string, beforeSend: boolean, cause: unknown) {
    super(message, { cause });
    this.systemCode = systemCode;
    this.beforeSend = beforeSend;
  }
}

/** The call's own deadline passed (enforced locally with an AbortController). */
export class RoomringDeadlineExceededError extends RoomringError {
  override readonly name = 'RoomringDeadlineExceededError';
  readonly code = 'deadline_exceeded';
  readonly deadlineMs: number;

  constructor(deadlineMs: number) {
    super(`call did not finish within its ${deadlineMs} ms deadline`);
    this.deadlineMs = deadlineMs;
  }
}

/** The caller's `signal` aborted the call. */
export class RoomringCanceledError extends RoomringError {
  override readonly name = 'RoomringCanceledError';
  readonly code = 'canceled';

  constructor(cause: unknown) {
    super('call canceled by its signal', { cause });
  }
}

export type ResponseErrorCode = 'malformed_response' | 'response_too_large';

/** A 2xx answer whose body is not what the API promises (or is larger than the bound). */
export class RoomringResponseError extends RoomringError {
  override readonly name = 'RoomringResponseError';
  readonly code: ResponseErrorCode;
  readonly status: number;

  constructor(code: ResponseErrorCode, message: string, status: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
