/**
 * One HTTP attempt: send, enforce the time left with an AbortController, read a bounded
 * body, and turn every failure into a typed `RoomringError`. No retry logic here.
 */
import { isTwirpCode } from '@roomring/api-errors';
import type { ResolvedClientInit } from './client-init.js';
import {
  RoomringApiError,
  RoomringCanceledError,
  RoomringDeadlineExceededError,
  type RoomringError,
  RoomringNetworkError,
  RoomringResponseError,
  type TwirpErrorCode,
} from './errors.js';

export interface AttemptRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface AttemptContext {
  config: ResolvedClientInit;
  /** Time left before the call's deadline; the attempt is aborted when it runs out. */
  remainingMs: number;
  /** The call's whole deadline, for the error message. */
  deadlineMs: number;
  signal: AbortSignal | undefined;
}

/**
 * System error codes that prove the request never reached a server: the TCP connection was
 * refused or never attempted (name not resolved, no route), or connecting timed out.
 * ECONNRESET / EPIPE / socket hang-ups are NOT here: the request may have been read.
 */
const BEFORE_SEND_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Twirp error bodies are small; a longer one is cut for the message. */
const ERROR_MESSAGE_CHARS_MAX = 1_000;

/** Sends one attempt and returns the parsed JSON body of a 2xx answer. */
export async function sendAttempt(ctx: AttemptContext, req: AttemptRequest): Promise<unknown> {
  const { config, signal } = ctx;
  if (signal?.aborted) throw new RoomringCanceledError(signal.reason);
  const controller = new AbortController();
  let timedOut = false;
  let canceled = false;
  const cancelTimer = config.timers.setTimer(ctx.remainingMs, () => {
    timedOut = true;
    controller.abort();
  });
  const onCallerAbort = (): void => {
    canceled = true;
    controller.abort();
  };
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  try {
    const init: RequestInit = {
      method: req.method,
      headers: req.headers,
      signal: controller.signal,
    };
    if (req.body !== undefined) init.body = req.body;
    const response = await config.fetch(req.url, init);
    const text = await readBody(response, config.responseBytesMax, controller);
    if (response.status >= 200 && response.status < 300)
      return parseJsonBody(text, response.status);
    throw apiError(response, text, config.clock.nowMs());
  } catch (err) {
    if (timedOut) throw new RoomringDeadlineExceededError(ctx.deadlineMs);
    if (canceled) throw new RoomringCanceledError(signal?.reason);
    if (isRoomringError(err)) throw err;
    throw networkError(err);
  } finally {
    cancelTimer();
    signal?.removeEventListener('abort', onCallerAbort);
  }
}

function isRoomringError(err: unknown): err is RoomringError {
  return (
    err instanceof RoomringApiError ||
    err instanceof RoomringResponseError ||
    err instanceof RoomringNetworkError
  );
}

/** Reads the body as UTF-8, failing once it exceeds `bytesMax` (and dropping the connection). */
async function readBody(
  response: Response,
  bytesMax: number,
  controller: AbortController,
): Promise<string> {
  const tooLarge = (): RoomringResponseError => {
    controller.abort();
    return new RoomringResponseError(
      'response_too_large',
      `response body over ${bytesMax} bytes`,
      response.status,
    );
  };
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > bytesMax) throw tooLarge();
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > bytesMax) {
      void reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  // One chunk (a small answer, or an in-memory body) is decoded in place, without a copy.
  const only = chunks.length === 1 ? chunks[0]! : undefined;
  if (only) return Buffer.from(only.buffer, only.byteOffset, only.byteLength).toString('utf8');
  return Buffer.concat(chunks, total).toString('utf8');
}

function parseJsonBody(text: string, status: number): unknown {
  // Twirp never answers 200 with an empty body, but `{}` is what an empty body would mean.
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new RoomringResponseError('malformed_response', 'response body is not JSON', status);
  }
}

/**
 * The error of a non-2xx answer. A Twirp body (`{code, msg, meta}`) gives the code; anything
 * else (a proxy's HTML, the server's plain-text 401) is mapped from the status as the Twirp
 * spec says for errors from intermediaries: 401 unauthenticated, 403 permission_denied,
 * 404 bad_route, 429/502/503/504 unavailable, other 4xx/3xx internal, the rest unknown.
 */
function apiError(response: Response, text: string, nowMs: number): RoomringApiError {
  const status = response.status;
  const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), nowMs);
  const twirp = parseTwirpBody(text);
  if (twirp !== undefined) {
    return new RoomringApiError(twirp.code, twirp.msg, status, retryAfterMs, twirp.meta);
  }
  const message = text.trim().slice(0, ERROR_MESSAGE_CHARS_MAX) || `HTTP ${status}`;
  return new RoomringApiError(
    codeFromStatus(status),
    message,
    status,
    retryAfterMs,
    Object.create(null),
  );
}

interface TwirpBody {
  code: TwirpErrorCode;
  msg: string;
  meta: Record<string, string>;
}

function parseTwirpBody(text: string): TwirpBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const o = body as Record<string, unknown>;
  const code = Object.hasOwn(o, 'code') ? o.code : undefined;
  if (typeof code !== 'string') return undefined;
  const meta: Record<string, string> = Object.create(null);
  const rawMeta = Object.hasOwn(o, 'meta') ? o.meta : undefined;
  if (typeof rawMeta === 'object' && rawMeta !== null && !Array.isArray(rawMeta)) {
    for (const [k, v] of Object.entries(rawMeta)) if (typeof v === 'string') meta[k] = v;
  }
  const msg = Object.hasOwn(o, 'msg') && typeof o.msg === 'string' ? o.msg : '';
  return {
    // A code outside the Twirp set is `unknown` (never retried), which keeps
    // `errorsByCode` to a bounded set of keys whatever a server sends.
    code: isTwirpCode(code) ? code : 'unknown',
    msg: msg.slice(0, ERROR_MESSAGE_CHARS_MAX),
    meta,
  };
}

function codeFromStatus(status: number): TwirpErrorCode {
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'permission_denied';
  if (status === 404) return 'bad_route';
  if (status === 429 || status === 502 || status === 503 || status === 504) return 'unavailable';
  if (status >= 300 && status < 500) return 'internal';
  return 'unknown';
}

/** `Retry-After` as delta-seconds or an HTTP date (RFC 9110 section 10.2.3), in ms >= 0. */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,9}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function networkError(err: unknown): RoomringNetworkError {
  const codes = systemCodes(err);
  const beforeSend = codes.length > 0 && codes.every((c) => BEFORE_SEND_CODES.has(c));
  const message = err instanceof Error ? err.message : String(err);
  const detail = codes.length > 0 ? ` (${codes.join(', ')})` : '';
  return new RoomringNetworkError(`${message}${detail}`, codes[0] ?? '', beforeSend, err);
}

/**
 * System codes of a fetch failure. undici throws `TypeError('fetch failed')` whose `cause`
 * has the code, or is an AggregateError (one error per address tried) whose errors have it.
 */
function systemCodes(err: unknown): string[] {
  const codes: string[] = [];
  const visit = (e: unknown, depth: number): void => {
    if (typeof e !== 'object' || e === null || depth > 3) return;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      codes.push(code);
      return;
    }
    const inner = (e as { errors?: unknown }).errors;
    if (Array.isArray(inner)) for (const x of inner) visit(x, depth + 1);
    visit((e as { cause?: unknown }).cause, depth + 1);
  };
  visit(err, 0);
  return codes;
}
