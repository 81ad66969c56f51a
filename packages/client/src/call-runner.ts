/**
 * A call's control flow: deadline, token, attempts, back-off, budget (README "Retry policy").
 *
 *   deadlineAt = start + deadlineMs
 *   attempt 1..maxAttempts:
 *     send with X-Twirp-Timeout-Ms = deadlineAt - now (the time LEFT), aborted at deadlineAt
 *     on failure: stop unless retryable for this method; else
 *       delay = max(full jitter of retry k, Retry-After)
 *       stop if now + delay + max(attemptEstimateMinMs, last attempt's duration) > deadlineAt
 *       stop if the retry budget refuses
 *       wait delay
 */
import { mintAccessToken, type VideoGrant } from './access-token.js';
import { fullJitterDelayMs, retryDelayMs } from './backoff.js';
import { checkDeadlineMs, type ResolvedClientInit } from './client-init.js';
import type { CounterSet } from './counters.js';
import {
  type RetryStopReason,
  RoomringApiError,
  RoomringCanceledError,
  RoomringDeadlineExceededError,
  RoomringError,
  RoomringResponseError,
} from './errors.js';
import { type AttemptRequest, sendAttempt } from './http-attempt.js';
import { FieldError } from './json-fields.js';
import type { RetryBudget } from './retry-budget.js';
import { type RetryRule, stopReason } from './retry-rules.js';

/** Per-call options, the last argument of every client method. */
export interface CallOptions {
  /**
   * Time for the whole call, attempts and back-off included, in ms from now.
   * @default the client's defaultDeadlineMs (5000)
   */
  deadlineMs?: number;
  /** Aborts the call (no retry follows); it then throws `RoomringCanceledError`. */
  signal?: AbortSignal;
  /** `false` = a single attempt, whatever the method. @default true */
  retry?: boolean;
}

export interface CallSpec<T> {
  method: 'GET' | 'POST';
  /** Path and query after the base URL, starting with `/`. */
  path: string;
  /** JSON body (POST only). */
  body?: unknown;
  grant: VideoGrant;
  rule: RetryRule;
  parse: (json: unknown) => T;
}

export interface CallContext {
  config: ResolvedClientInit;
  counters: CounterSet;
  budget: RetryBudget;
}

export const TIMEOUT_HEADER = 'X-Twirp-Timeout-Ms';
export const REQUEST_ID_HEADER = 'X-Livekit-Request-Id';

export async function runCall<T>(
  ctx: CallContext,
  spec: CallSpec<T>,
  opts: CallOptions = {},
): Promise<T> {
  const { config, counters, budget } = ctx;
  const { clock, retry } = config;
  const deadlineMs = checkDeadlineMs('deadlineMs', opts.deadlineMs ?? config.defaultDeadlineMs);
  const startMs = clock.nowMs();
  const deadlineAt = startMs + deadlineMs;
  counters.calls += 1;
  if (retry.budgetEnabled) budget.recordCall(startMs);

  const baseHeaders: Record<string, string> = {
    Authorization: `Bearer ${mintAccessToken(config.apiKey, config.apiSecret, spec.grant, startMs)}`,
    // One id for all attempts of a call, as the LiveKit SDK does: the server's logs can join them.
    [REQUEST_ID_HEADER]: requestId(config),
  };
  if (spec.body !== undefined) baseHeaders['Content-Type'] = 'application/json';
  const url = `${config.baseUrl}${spec.path}`;
  const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);

  for (let attempt = 1; ; attempt++) {
    const attemptStartMs = clock.nowMs();
    const remainingMs = deadlineAt - attemptStartMs;
    if (remainingMs <= 0) {
      // Reachable only on the first attempt (retries check the time first) with a clock
      // that jumped; a fresh error keeps the rule "every failure is typed".
      throw giveUp(ctx, new RoomringDeadlineExceededError(deadlineMs), attempt - 1, 'deadline');
    }
    // A fresh header object per attempt: the time left differs on each.
    const req: AttemptRequest = {
      method: spec.method,
      url,
      headers: { ...baseHeaders, [TIMEOUT_HEADER]: String(Math.max(1, Math.floor(remainingMs))) },
      body,
    };
    counters.attempts += 1;
    let error: RoomringError;
    try {
      const json = await sendAttempt({ config, remainingMs, deadlineMs, signal: opts.signal }, req);
      const value = parseOrThrow(spec, json);
      counters.succeeded += 1;
      return value;
    } catch (err) {
      if (!(err instanceof RoomringError)) throw err; // a bug, not an operating condition
      error = err;
    }
    counters.countError(error.code);

    const stop = stopReason(error, spec.rule, attempt, retry.maxAttempts, opts.retry !== false);
    if (stop !== undefined) throw giveUp(ctx, error, attempt, stop);

    const nowMs = clock.nowMs();
    const jittered = fullJitterDelayMs(
      attempt - 1,
      retry.baseDelayMs,
      retry.maxDelayMs,
      config.random,
    );
    const retryAfterMs = error instanceof RoomringApiError ? error.retryAfterMs : undefined;
    const delayMs = retryDelayMs(jittered, retryAfterMs);
    const attemptEstimateMs = Math.max(retry.attemptEstimateMinMs, nowMs - attemptStartMs);
    if (nowMs + delayMs + attemptEstimateMs > deadlineAt) {
      throw giveUp(ctx, error, attempt, 'deadline');
    }
    if (retry.budgetEnabled && !budget.tryAcquireRetry(nowMs)) {
      counters.budgetExhausted += 1;
      throw giveUp(ctx, error, attempt, 'budget');
    }
    counters.retries += 1;
    try {
      await sleep(config, delayMs, opts.signal);
    } catch (err) {
      throw giveUp(ctx, err as RoomringCanceledError, attempt, 'not-retryable');
    }
  }
}

function parseOrThrow<T>(spec: CallSpec<T>, json: unknown): T {
  try {
    return spec.parse(json);
  } catch (err) {
    if (err instanceof FieldError) {
      throw new RoomringResponseError('malformed_response', err.message, 200);
    }
    throw err;
  }
}

function giveUp(
  ctx: CallContext,
  error: RoomringError,
  attempts: number,
  stop: RetryStopReason,
): RoomringError {
  ctx.counters.failed += 1;
  error.attempts = attempts;
  error.retryStop = stop;
  return error;
}

function sleep(config: ResolvedClientInit, delayMs: number, signal: AbortSignal | undefined) {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new RoomringCanceledError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      cancel();
      reject(new RoomringCanceledError(signal?.reason));
    };
    const cancel = config.timers.setTimer(delayMs, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A UUID-shaped (version 4 layout) id from the injected random source. */
function requestId(config: ResolvedClientInit): string {
  let hex = '';
  for (let i = 0; i < 4; i++)
    hex += (config.random.nextUint32() >>> 0).toString(16).padStart(8, '0');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
