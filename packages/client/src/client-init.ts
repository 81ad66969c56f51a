/**
 * Options of `createRoomringClient` and their validated, frozen form.
 *
 * Clock, timers, randomness and `fetch` are injected (STYLE.md habit 3) so the retry policy is
 * unit-tested on a fake clock with no real waiting; the defaults below are the only places
 * this package touches `Date.now`, `setTimeout`, `Math.random` and the global `fetch`.
 */

/** Wall clock in unix milliseconds: used for deadlines and token `nbf`/`exp`. */
export interface ClientClock {
  nowMs(): number;
}

/** One-shot timers. `setTimer` returns a function that cancels the timer (idempotent). */
export interface ClientTimers {
  setTimer(delayMs: number, fn: () => void): () => void;
}

/** Uniform random 32-bit unsigned integers: back-off jitter and request ids. */
export interface ClientRandom {
  nextUint32(): number;
}

/** The subset of the WHATWG `fetch` the client uses; `globalThis.fetch` fits. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Retry policy (README "Retry policy"; DESIGN.md section 8; the incident's remediation 2). */
export interface RetryPolicyInit {
  /**
   * Attempts per call, the first included. 4 = at most 3 retries: enough to ride out a
   * node restart behind a load balancer (~3 x 50..200 ms of back-off) while the budget
   * below keeps the extra load bounded whatever this is.
   * @default 4
   */
  maxAttempts?: number;
  /**
   * Cap of the first retry's jitter range; retry k (0-based) waits a uniform
   * random time in [0, min(maxDelayMs, baseDelayMs x 2^k)] ("full jitter").
   * @default 50
   */
  baseDelayMs?: number;
  /**
   * Largest jitter cap. 2000 ms: with the default 5 s deadline a retry after a 2 s wait
   * still has 3 s to run.
   * @default 2000
   */
  maxDelayMs?: number;
  /**
   * Retries allowed per call in the window: 0.1 = at most ~10% extra requests under a total
   * outage instead of maxAttempts x (the 4x retry storm of the incident report).
   * @default 0.1
   */
  budgetRatio?: number;
  /**
   * Retries always allowed per window on top of the ratio, so a client making few calls
   * can still retry a lone failure. 10 per 10 s = 1 extra request/s at most.
   * @default 10
   */
  budgetMinPerWindow?: number;
  /**
   * Sliding window of the budget, counted in 10 buckets of windowMs / 10.
   * @default 10000
   */
  budgetWindowMs?: number;
  /**
   * `false` turns the budget off (every retryable failure retries up to maxAttempts).
   * Only for comparisons and tests: without it a total outage multiplies the load.
   * @default true
   */
  budgetEnabled?: boolean;
  /**
   * Least time a retry is assumed to need. A retry starts only if its back-off plus
   * max(this, the previous attempt's duration) ends before the call's deadline, so no
   * retry is sent that the deadline would cut short.
   * @default 20
   */
  attemptEstimateMinMs?: number;
}

export interface RoomringClientInit {
  /** Server root, e.g. `http://127.0.0.1:7880` (a path prefix is kept). */
  baseUrl: string;
  /** API key: the token's `iss`. */
  apiKey: string;
  /** API secret: the HMAC-SHA256 key (its UTF-8 bytes). */
  apiSecret: string;
  /**
   * Deadline of a call (all its attempts and back-off) when the call gives none. Equal to
   * the server's default `--request-timeout-ms`, so neither side gives up before the other.
   * @default 5000
   */
  defaultDeadlineMs?: number;
  retry?: RetryPolicyInit;
  /**
   * Largest response body read, in bytes; a larger one fails the call with
   * `RoomringResponseError` (code `response_too_large`). 64 MiB holds ListRooms of all
   * rooms at 100k rooms x ~350 B of snake_case JSON = 35 MB, with room to spare.
   * @default 67108864
   */
  responseBytesMax?: number;
  /** @default { nowMs: () => Date.now() } */
  clock?: ClientClock;
  /** @default setTimeout / clearTimeout */
  timers?: ClientTimers;
  /** @default Math.random based */
  random?: ClientRandom;
  /** @default globalThis.fetch */
  fetch?: FetchLike;
}

export const DEFAULT_DEADLINE_MS = 5_000;
export const DEFAULT_MAX_ATTEMPTS = 4;
export const DEFAULT_BASE_DELAY_MS = 50;
export const DEFAULT_MAX_DELAY_MS = 2_000;
export const DEFAULT_BUDGET_RATIO = 0.1;
export const DEFAULT_BUDGET_MIN_PER_WINDOW = 10;
export const DEFAULT_BUDGET_WINDOW_MS = 10_000;
export const DEFAULT_ATTEMPT_ESTIMATE_MIN_MS = 20;
export const DEFAULT_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

/** 10 attempts: beyond that back-off alone exceeds any sensible deadline (sum of caps ~ 11 s). */
export const MAX_ATTEMPTS_LIMIT = 10;
/** One day: a longer per-call deadline is a programmer error, not a policy. */
export const DEADLINE_MS_LIMIT = 86_400_000;

export interface ResolvedRetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly budgetRatio: number;
  readonly budgetMinPerWindow: number;
  readonly budgetWindowMs: number;
  readonly budgetEnabled: boolean;
  readonly attemptEstimateMinMs: number;
}

export interface ResolvedClientInit {
  /** Base URL without a trailing slash. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly defaultDeadlineMs: number;
  readonly retry: ResolvedRetryPolicy;
  readonly responseBytesMax: number;
  readonly clock: ClientClock;
  readonly timers: ClientTimers;
  readonly random: ClientRandom;
  readonly fetch: FetchLike;
}

const systemClock: ClientClock = { nowMs: () => Date.now() };

const systemTimers: ClientTimers = {
  setTimer(delayMs, fn) {
    const handle = setTimeout(fn, delayMs);
    return () => clearTimeout(handle);
  },
};

// Looked up per call, so a test or APM tool that replaces globalThis.fetch later is used.
const systemFetch: FetchLike = (url, req) => globalThis.fetch(url, req);

const systemRandom: ClientRandom = { nextUint32: () => Math.floor(Math.random() * 2 ** 32) };

function checkNumber(
  label: string,
  value: number,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${label} must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  if (integer && !Number.isInteger(value)) {
    throw new RangeError(`${label} must be an integer, got ${value}`);
  }
  return value;
}

function checkBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new RangeError(`baseUrl is not a URL: ${JSON.stringify(baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RangeError(`baseUrl must be http: or https:, got ${url.protocol}`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new RangeError('baseUrl must not have a query or a fragment');
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function checkCredential(label: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new RangeError(`${label} must be a non-empty string`);
  }
  return value;
}

/** Validates and freezes the options; throws `RangeError` on a programmer error. */
export function resolveClientInit(init: RoomringClientInit): ResolvedClientInit {
  const r = init.retry ?? {};
  const maxDelayMs = checkNumber(
    'retry.maxDelayMs',
    r.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
    0,
    DEADLINE_MS_LIMIT,
    false,
  );
  const retry: ResolvedRetryPolicy = Object.freeze({
    maxAttempts: checkNumber(
      'retry.maxAttempts',
      r.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      1,
      MAX_ATTEMPTS_LIMIT,
      true,
    ),
    baseDelayMs: checkNumber(
      'retry.baseDelayMs',
      r.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
      0,
      maxDelayMs,
      false,
    ),
    maxDelayMs,
    budgetRatio: checkNumber(
      'retry.budgetRatio',
      r.budgetRatio ?? DEFAULT_BUDGET_RATIO,
      0,
      10,
      false,
    ),
    budgetMinPerWindow: checkNumber(
      'retry.budgetMinPerWindow',
      r.budgetMinPerWindow ?? DEFAULT_BUDGET_MIN_PER_WINDOW,
      0,
      1_000_000,
      true,
    ),
    budgetWindowMs: checkNumber(
      'retry.budgetWindowMs',
      r.budgetWindowMs ?? DEFAULT_BUDGET_WINDOW_MS,
      10,
      DEADLINE_MS_LIMIT,
      true,
    ),
    budgetEnabled: r.budgetEnabled ?? true,
    attemptEstimateMinMs: checkNumber(
      'retry.attemptEstimateMinMs',
      r.attemptEstimateMinMs ?? DEFAULT_ATTEMPT_ESTIMATE_MIN_MS,
      0,
      DEADLINE_MS_LIMIT,
      false,
    ),
  });
  return Object.freeze({
    baseUrl: checkBaseUrl(init.baseUrl),
    apiKey: checkCredential('apiKey', init.apiKey),
    apiSecret: checkCredential('apiSecret', init.apiSecret),
    defaultDeadlineMs: checkDeadlineMs(
      'defaultDeadlineMs',
      init.defaultDeadlineMs ?? DEFAULT_DEADLINE_MS,
    ),
    retry,
    responseBytesMax: checkNumber(
      'responseBytesMax',
      init.responseBytesMax ?? DEFAULT_RESPONSE_BYTES_MAX,
      1,
      2 ** 31,
      true,
    ),
    clock: init.clock ?? systemClock,
    timers: init.timers ?? systemTimers,
    random: init.random ?? systemRandom,
    fetch: init.fetch ?? systemFetch,
  });
}

export function checkDeadlineMs(label: string, value: number): number {
  return checkNumber(label, value, 1, DEADLINE_MS_LIMIT, false);
}
