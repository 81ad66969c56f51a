/**
 * One error class per way a baseline server fails, each with a stable `name`, and the one
 * table that turns them into Twirp answers (livekit-roomservice.md, Errors).
 */
import { TwirpError } from '@roomring/server';

/** More acquisitions are waiting for a database connection (or commands for Redis) than the
 *  backend's wait limit: shed at once rather than queue without bound. Twirp `unavailable`. */
export class BackendOverloadedError extends Error {
  override readonly name = 'BackendOverloadedError';
  constructor(
    readonly waiting: number,
    readonly waitMax: number,
  ) {
    super(`storage backend overloaded: ${waiting} requests waiting (limit ${waitMax})`);
  }
}

/** The database cancelled the statement at `statement_timeout` (PostgreSQL SQLSTATE 57014).
 *  Twirp `deadline_exceeded`: the query was too slow, as the incident's "queries exceeded
 *  the API's maximum wait time". */
export class StatementTimeoutError extends Error {
  override readonly name = 'StatementTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`database statement cancelled after statement_timeout ${timeoutMs} ms`);
  }
}

/** The backend call outlived the server's requestTimeoutMs; the work itself goes on and its
 *  result still lands in storage and cache. Twirp `deadline_exceeded` (408). */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`CreateRoom did not complete within ${timeoutMs} ms`);
  }
}

/** A stored room value that does not decode (a foreign or corrupt Redis value). */
export class StoredRoomDecodeError extends Error {
  override readonly name = 'StoredRoomDecodeError';
}

/** Maps what a backend call threw to the answer; anything unknown is `internal` without
 *  echoing its message (it may hold SQL or connection details). */
export function toBaselineTwirpError(error: unknown): TwirpError {
  if (error instanceof TwirpError) return error;
  if (error instanceof BackendOverloadedError) {
    return new TwirpError('unavailable', error.message, {}, 1_000);
  }
  if (error instanceof StatementTimeoutError || error instanceof RequestTimeoutError) {
    return new TwirpError('deadline_exceeded', error.message);
  }
  return new TwirpError('internal', 'internal error');
}
