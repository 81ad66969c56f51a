/**
 * The one error table (issue #12). For each code a node error carries: the Twirp code and
 * HTTP status the server answers with, whether the answer has a Retry-After and where its
 * value comes from, which calls the client retries after it, and the `meta` it carries.
 *
 * The node (@roomring/core's error classes take their codes from here), the server
 * (`toTwirpError`) and the client (its retry rules) all read this table; docs/api.md
 * "Error mapping" shows it, and a test fails when the two differ. A node error gives the
 * table only its `code`, `message`, `argument` and `retryAfterMs`: nothing here matches a
 * class, so a new class with an existing code needs no change in the server or the client.
 */
import { TWIRP_HTTP_STATUS, type TwirpCode } from './twirp-codes.js';

/** The code of every error the node reports to its caller (`RegistryError.code`). */
export type RegistryErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'unavailable'
  | 'resource_exhausted'
  | 'deadline_exceeded';

/**
 * Which calls the client retries after an answer:
 * - `never`: the same request would get the same answer;
 * - `idempotent-calls`: the call may have taken effect, so only a call whose repeat changes
 *   nothing is retried (every method but DeleteRoom, whose repeat answers 404 or deletes a
 *   newer incarnation);
 * - `all-calls`: the answer proves nothing changed, so DeleteRoom is retried too.
 * A retry also needs time left before the call's deadline (counting the Retry-After, which
 * is a floor for the wait), an attempt left and the retry budget's consent
 * (packages/client README "Retry policy").
 */
export type ClientRetry = 'never' | 'idempotent-calls' | 'all-calls';

/** A `meta` key of an answer; its value is the node error's property of the same name. */
export type ErrorMetaKey = 'argument';

/** A node error class that carries a row's code. */
export interface NodeErrorClass {
  /** The class's stable `name`. */
  readonly name: string;
  /** Where its `retryAfterMs` comes from; undefined when the row has no Retry-After. */
  readonly retryAfterFrom: string | undefined;
}

export interface ErrorTableRow {
  /** The node's code: `RegistryError.code`. */
  readonly code: RegistryErrorCode;
  /** The code of the server's Twirp answer. */
  readonly twirpCode: TwirpCode;
  /** The answer's HTTP status: the Twirp spec's status of `twirpCode`. */
  readonly httpStatus: number;
  /** The answer's `msg` when it is fixed (LiveKit's exact text); else the error's message. */
  readonly message: string | undefined;
  /** The answer's `meta` keys. */
  readonly meta: readonly ErrorMetaKey[];
  /** True: the answer carries a `Retry-After` of ceil(retryAfterMs / 1000) s, at least 1. */
  readonly retryAfter: boolean;
  readonly clientRetry: ClientRetry;
  /** The node's error classes with this code. */
  readonly errors: readonly NodeErrorClass[];
}

type RowSpec = Omit<ErrorTableRow, 'httpStatus' | 'errors' | 'meta'> & {
  meta?: readonly ErrorMetaKey[];
  errors: readonly [name: string, retryAfterFrom?: string][];
};

function row(spec: RowSpec): ErrorTableRow {
  return Object.freeze({
    code: spec.code,
    twirpCode: spec.twirpCode,
    httpStatus: TWIRP_HTTP_STATUS[spec.twirpCode],
    message: spec.message,
    meta: Object.freeze([...(spec.meta ?? [])]),
    retryAfter: spec.retryAfter,
    clientRetry: spec.clientRetry,
    errors: Object.freeze(
      spec.errors.map(([name, retryAfterFrom]) => Object.freeze({ name, retryAfterFrom })),
    ),
  });
}

export const ERROR_TABLE: Readonly<Record<RegistryErrorCode, ErrorTableRow>> = Object.freeze({
  // Bad input; nothing changed. `argument` names the request field (`name`, `metadata`, ...).
  invalid_argument: row({
    code: 'invalid_argument',
    twirpCode: 'invalid_argument',
    message: undefined,
    meta: ['argument'],
    retryAfter: false,
    clientRetry: 'never',
    errors: [['InvalidArgumentError']],
  }),
  not_found: row({
    code: 'not_found',
    twirpCode: 'not_found',
    message: 'requested room does not exist',
    retryAfter: false,
    clientRetry: 'never',
    errors: [['RoomNotFoundError']],
  }),
  // UnavailableError: the write stands locally but too few partners acknowledged it, so a
  // DeleteRoom must not repeat. NodeNotReadyError changed nothing, but shares the Twirp code
  // (and so the client's view of it): the client cannot tell the two apart.
  unavailable: row({
    code: 'unavailable',
    twirpCode: 'unavailable',
    message: undefined,
    retryAfter: true,
    clientRetry: 'idempotent-calls',
    errors: [
      ['UnavailableError', 'node option `retryAfterMs` (1 s)'],
      ['NodeNotReadyError', '1 s; `suspectAfterMs` while resyncing'],
    ],
  }),
  // Refused before any change: a full queue (OverloadedError) or a spent limit that frees on
  // its own (LimitExceededError). A retry is safe for every method; the Retry-After keeps
  // the client from retrying before it can succeed (a wait past the deadline ends the call).
  resource_exhausted: row({
    code: 'resource_exhausted',
    twirpCode: 'resource_exhausted',
    message: undefined,
    retryAfter: true,
    clientRetry: 'all-calls',
    errors: [
      ['OverloadedError', 'node option `retryAfterMs` (1 s)'],
      ['LimitExceededError', "until the room name's oldest tombstone is collected"],
    ],
  }),
  deadline_exceeded: row({
    code: 'deadline_exceeded',
    twirpCode: 'deadline_exceeded',
    message: undefined,
    retryAfter: false,
    clientRetry: 'idempotent-calls',
    errors: [['DeadlineExceededError']],
  }),
});

/** The row of a code, or undefined for a code the table does not know (never trusted as a key). */
export function errorRowOf(code: string): ErrorTableRow | undefined {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code as RegistryErrorCode] : undefined;
}

/** What a node error gives the table: every `RegistryError` has these. */
export interface RegistryErrorFacts {
  readonly code: string;
  readonly message: string;
  /** The request field at fault (`invalid_argument`); undefined otherwise. */
  readonly argument: string | undefined;
  /** Ms before a retry can succeed; undefined when no retry can. */
  readonly retryAfterMs: number | undefined;
}

/** A Twirp error answer: `{"code","msg","meta"}` with `status`, and a Retry-After when set. */
export interface TwirpAnswer {
  readonly code: TwirpCode;
  readonly status: number;
  readonly msg: string;
  readonly meta: Readonly<Record<string, string>>;
  readonly retryAfterMs: number | undefined;
}

/** The answer to a node error, from its row alone; undefined when its code has no row. */
export function twirpAnswerOf(error: RegistryErrorFacts): TwirpAnswer | undefined {
  const entry = errorRowOf(error.code);
  if (entry === undefined) return undefined;
  const meta: Record<string, string> = {};
  for (const key of entry.meta) {
    const value = error[key];
    if (value !== undefined) meta[key] = value;
  }
  return {
    code: entry.twirpCode,
    status: entry.httpStatus,
    msg: entry.message ?? error.message,
    meta,
    retryAfterMs: entry.retryAfter ? error.retryAfterMs : undefined,
  };
}

/**
 * The client sees Twirp codes, not node codes: its view of the table, by Twirp code. Rows
 * that share a Twirp code must agree on the client's retry (checked here, at load); the
 * server's own answers use these codes for the same conditions (admission shedding 429
 * `resource_exhausted` before any work, a node not running 503 `unavailable`, its deadline
 * 408 `deadline_exceeded`). Any other code is never retried.
 */
const CLIENT_RETRY_BY_TWIRP_CODE: ReadonlyMap<string, ClientRetry> = (() => {
  const byCode = new Map<string, ClientRetry>();
  for (const entry of Object.values(ERROR_TABLE)) {
    const seen = byCode.get(entry.twirpCode);
    if (seen !== undefined && seen !== entry.clientRetry) {
      throw new Error(`error table: rows with Twirp code ${entry.twirpCode} disagree on retry`);
    }
    byCode.set(entry.twirpCode, entry.clientRetry);
  }
  return byCode;
})();

/** Which calls the client retries after an answer with this Twirp code. */
export function clientRetryOf(twirpCode: string): ClientRetry {
  return CLIENT_RETRY_BY_TWIRP_CODE.get(twirpCode) ?? 'never';
}
