/**
 * Request deadlines (DESIGN.md section 8): the caller's `X-Twirp-Timeout-Ms` or the server
 * default, counted from arrival, so time spent waiting for an admission slot is taken from
 * the node call's budget and nothing runs on after the caller gave up.
 */
import { DeadlineExceededError } from '@roomring/node';

export const TIMEOUT_HEADER = 'x-twirp-timeout-ms';

/** The answer must reach the caller before its own timer fires: the node call stops this
 *  much before the deadline (10% of what is left, at most 20 ms: a loopback write of the
 *  error answer takes well under 1 ms, a WAN hop ~50 ms of which the client's clock covers
 *  half). */
export const RESPONSE_MARGIN_MS_MAX = 20;

/** A positive integer header value, capped at `maxMs`; anything else means `defaultMs`. */
export function requestTimeoutMs(
  header: string | string[] | undefined,
  defaultMs: number,
  maxMs: number,
): number {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,12}$/.test(value.trim())) return defaultMs;
  const ms = Number(value.trim());
  return ms > 0 ? Math.min(ms, maxMs) : defaultMs;
}

/** Budget of the node call: what is left of the deadline less the response margin. */
export function nodeBudgetMs(deadlineAtMs: number, nowMs: number): number {
  const leftMs = deadlineAtMs - nowMs;
  const budgetMs = Math.floor(leftMs - Math.min(RESPONSE_MARGIN_MS_MAX, leftMs / 10));
  if (budgetMs <= 0) throw new DeadlineExceededError('deadline exceeded before the call');
  return budgetMs;
}
