/**
 * The CLI's failure kinds and their exit codes: 2 for a usage error (the command line is
 * wrong), 1 for everything else (a node unreachable, credentials refused, an unknown room).
 * `describeFailure` turns the client's typed errors into one clear sentence for people.
 */
import {
  RoomringApiError,
  RoomringCanceledError,
  RoomringDeadlineExceededError,
  RoomringNetworkError,
  RoomringResponseError,
} from '@roomring/client';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line asks for something impossible (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'ERR_USAGE';
  readonly exitCode = EXIT_USAGE;
}

/** The command ran and failed (exit 1); the message is already meant for people. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  readonly code = 'ERR_COMMAND_FAILED';
  readonly exitCode = EXIT_FAILURE;
}

/** Exit code for anything a command threw. */
export function exitCodeOf(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** The message of the deepest `cause` (undici's `fetch failed` hides e.g. `bad port`). */
function innermostMessage(error: Error): string {
  let e: unknown = error;
  for (let depth = 0; depth < 4; depth++) {
    const cause = (e as { cause?: unknown }).cause;
    if (!(cause instanceof Error)) break;
    e = cause;
  }
  return (e as Error).message;
}

/** One sentence for people, naming the node (`url`) that failed and what to check. */
export function describeFailure(error: unknown, url: string): string {
  if (error instanceof UsageError || error instanceof CommandFailedError) return error.message;
  if (error instanceof RoomringNetworkError) {
    const why = error.systemCode === '' ? innermostMessage(error) : error.systemCode;
    return `cannot reach ${url} (${why}): is a roomring node listening there? (--url or ROOMRING_URL)`;
  }
  if (error instanceof RoomringDeadlineExceededError) {
    return `${url} did not answer within ${error.deadlineMs} ms (--timeout-ms)`;
  }
  if (error instanceof RoomringApiError) {
    if (error.code === 'unauthenticated' || error.code === 'permission_denied') {
      return (
        `${url} refused the credentials (${error.status} ${error.code}: ${error.message}); ` +
        'check --api-key and --api-secret (ROOMRING_API_KEY, ROOMRING_API_SECRET)'
      );
    }
    if (error.code === 'bad_route') {
      return `${url} does not serve the roomring API (${error.status}): is --url a roomring node?`;
    }
    const retry = error.retryAfterMs === undefined ? '' : `, retry after ${error.retryAfterMs} ms`;
    return `${url} answered ${error.status} ${error.code}: ${error.message}${retry}`;
  }
  if (error instanceof RoomringResponseError) {
    return `${url} sent an answer the CLI cannot read (${error.code}): ${error.message}`;
  }
  if (error instanceof RoomringCanceledError) return 'canceled';
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
