/**
 * Twirp error codes and their HTTP statuses (https://twitchtv.github.io/twirp/docs/spec_v7.html#error-codes,
 * livekit-roomservice.md "Errors"): what the server answers and what the client parses.
 */

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
export const TWIRP_HTTP_STATUS: Readonly<Record<TwirpCode, number>> = Object.freeze({
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
});

/** True for the 18 codes of the spec; a code from the network is untrusted text. */
export function isTwirpCode(code: string): code is TwirpCode {
  return Object.hasOwn(TWIRP_HTTP_STATUS, code);
}
