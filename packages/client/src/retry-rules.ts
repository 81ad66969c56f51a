/**
 * Which failures may be retried, per method kind (README "Idempotency per method").
 *
 * A server answer is retried as the one error table says for its Twirp code
 * (`clientRetryOf`, @roomring/api-errors; docs/api.md "Error mapping"): today 503
 * `unavailable` and the server's 408 `deadline_exceeded` for idempotent calls, 429
 * `resource_exhausted` for every call (then only while the call's own deadline leaves time
 * for the wait, which the caller checks). Never: auth and argument errors, not_found,
 * internal, malformed, unimplemented, ...: repeating the same request would get the same
 * answer. Network failures are the client's own: retried, DeleteRoom only before sending.
 */
import { clientRetryOf } from '@roomring/api-errors';
import {
  type RetryStopReason,
  RoomringApiError,
  RoomringDeadlineExceededError,
  type RoomringError,
  RoomringNetworkError,
} from './errors.js';

/**
 * - `idempotent`: repeating the call after it took effect changes nothing (get-or-create,
 *   reads, setting a field to the same value).
 * - `unsafe`: repeating it after it took effect gives a different outcome: DeleteRoom, whose
 *   repeat answers 404 or deletes a newer incarnation of the same name.
 */
export type RetryRule = 'idempotent' | 'unsafe';

export function isRetryableFailure(err: RoomringError): boolean {
  if (err instanceof RoomringNetworkError) return true;
  if (err instanceof RoomringApiError) return clientRetryOf(err.code) !== 'never';
  return false; // local deadline, canceled, malformed response
}

/**
 * True when the failure proves the server did nothing, so even an unsafe call may repeat:
 * - a connection that was refused or never made (`beforeSend`);
 * - an answer the table marks `all-calls`: 429 `resource_exhausted`, which admission
 *   control and the node's OverloadedError / LimitExceededError give before any work.
 * A 503 does NOT prove it: the node's UnavailableError means "the write stands locally but
 * too few replicas acknowledged it".
 */
export function provesNotApplied(err: RoomringError): boolean {
  if (err instanceof RoomringNetworkError) return err.beforeSend;
  return err instanceof RoomringApiError && clientRetryOf(err.code) === 'all-calls';
}

/** The reason to stop now, or undefined when a retry may be considered (time and budget next). */
export function stopReason(
  err: RoomringError,
  rule: RetryRule,
  attempt: number,
  maxAttempts: number,
  retryEnabled: boolean,
): RetryStopReason | undefined {
  if (err instanceof RoomringDeadlineExceededError) return 'deadline';
  if (!isRetryableFailure(err)) return 'not-retryable';
  if (rule === 'unsafe' && !provesNotApplied(err)) return 'unsafe-method';
  if (!retryEnabled) return 'disabled';
  if (attempt >= maxAttempts) return 'max-attempts';
  return undefined;
}
