/**
 * HS256 JSON Web Tokens, by hand on node:crypto (RFC 7519 / 7515), for LiveKit access tokens
 * and webhook signatures. Why not `jose`: we need one algorithm, and a fixed one is safer
 * than a general verifier (no `alg: none`, no algorithm confusion: anything but HS256 is
 * refused before any crypto). It is synchronous (jose's HMAC is async through WebCrypto),
 * ~80 lines, and adds no dependency. Signatures compare in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** A LiveKit token carries grants and metadata; 8 KiB is far above what the SDKs mint
 *  (~400 B) and bounds the JSON we parse from an unauthenticated caller. */
export const TOKEN_BYTES_MAX = 8_192;

/** LiveKit's verifier (go-jose) allows one minute of clock skew on exp and nbf. */
export const CLOCK_LEEWAY_S = 60;

export type JwtFailure =
  | 'malformed'
  | 'unsupported_algorithm'
  | 'unknown_key'
  | 'bad_signature'
  | 'missing_exp'
  | 'expired'
  | 'not_yet_valid';

export class JwtError extends Error {
  override readonly name = 'JwtError';
  constructor(
    readonly code: JwtFailure,
    message: string,
  ) {
    super(message);
  }
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function hmac(secret: string, data: string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(data).digest();
}

/** Signs `claims` (the caller sets iss, exp, nbf...). */
export function signJwt(claims: Readonly<Record<string, unknown>>, secret: string): string {
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${body}.${hmac(secret, body).toString('base64url')}`;
}

function decodeJson(part: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new JwtError('malformed', 'not base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new JwtError('malformed', 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new JwtError('malformed', 'not a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * Verifies an HS256 token whose `iss` names the key: `secretOf(iss)` gives the secret or
 * undefined. Checks the signature, then `exp` (required) and `nbf` with CLOCK_LEEWAY_S.
 * Returns the claims; throws JwtError.
 */
export function verifyJwt(
  token: string,
  secretOf: (key: string) => string | undefined,
  nowMs: number,
): Record<string, unknown> {
  if (token.length > TOKEN_BYTES_MAX) throw new JwtError('malformed', 'token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new JwtError('malformed', 'not a JWT');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  if (header.alg !== 'HS256') {
    throw new JwtError('unsupported_algorithm', 'only HS256 tokens are accepted');
  }
  const claims = decodeJson(payloadPart);
  const key = claims.iss;
  if (typeof key !== 'string' || key === '') throw new JwtError('malformed', 'iss missing');
  const secret = secretOf(key);
  if (secret === undefined) throw new JwtError('unknown_key', `invalid API key: ${key}`);
  // Compare the base64url text, not decoded bytes: the last character of a 43-character
  // signature carries 2 spare bits, so decoding would accept 4 spellings of one signature.
  const expected = Buffer.from(hmac(secret, `${headerPart}.${payloadPart}`).toString('base64url'));
  const given = Buffer.from(signaturePart);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new JwtError('bad_signature', 'signature is invalid');
  }
  const nowS = nowMs / 1_000;
  if (typeof claims.exp !== 'number') throw new JwtError('missing_exp', 'exp claim is required');
  if (nowS > claims.exp + CLOCK_LEEWAY_S) throw new JwtError('expired', 'token is expired');
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== 'number') throw new JwtError('malformed', 'nbf is not a number');
    if (nowS < claims.nbf - CLOCK_LEEWAY_S) {
      throw new JwtError('not_yet_valid', 'token is not valid yet');
    }
  }
  return claims;
}
