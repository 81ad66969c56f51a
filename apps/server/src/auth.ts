/**
 * LiveKit access tokens (livekit-roomservice.md, Auth; api-spec.md, Auth). A request without a
 * usable token is refused with 401 and a plain-text body, like livekit-server's auth
 * middleware; a valid token without the grant a call needs gets the Twirp error
 * `unauthenticated` "permissions denied" (401, JSON).
 */
import { TwirpError } from './errors.js';
import { CLOCK_LEEWAY_S, JwtError, verifyJwt } from './jwt.js';

/** The `video` grants the RoomService and admin API look at. */
export interface VideoGrants {
  roomCreate: boolean;
  roomList: boolean;
  roomAdmin: boolean;
  /** Room the grants are limited to ('' = none named). */
  room: string;
}

/** No usable token: answered 401 text/plain with `message`. */
export class AuthenticationError extends Error {
  override readonly name = 'AuthenticationError';
  readonly code = 'unauthenticated';
}

const BEARER = 'Bearer ';

function grantsOf(claims: Record<string, unknown>): VideoGrants {
  const video = claims.video;
  const v = typeof video === 'object' && video !== null ? (video as Record<string, unknown>) : {};
  return {
    roomCreate: v.roomCreate === true,
    roomList: v.roomList === true,
    roomAdmin: v.roomAdmin === true,
    room: typeof v.room === 'string' ? v.room : '',
  };
}

/** Verified tokens remembered, oldest evicted: 1,024 x ~500 B = 0.5 MB. The SDKs mint a
 *  token per call, but tokens minted in the same second with the same grants are the same
 *  string (iat/nbf/exp have 1 s resolution), so a busy client hits this cache almost always
 *  and skips the HMAC (~25 us of ~100 us per request). */
export const VERIFIED_TOKENS_MAX = 1_024;

interface Verified {
  grants: VideoGrants;
  expS: number;
  nbfS: number | undefined;
}

function translate(error: unknown): never {
  if (!(error instanceof JwtError)) throw error;
  if (error.code === 'malformed') throw new AuthenticationError('invalid authorization token');
  if (error.code === 'unknown_key') {
    // The key is caller-supplied: bound what we echo.
    throw new AuthenticationError(error.message.slice(0, 128));
  }
  throw new AuthenticationError(`invalid token: ${error.message}`);
}

/**
 * Verifies tokens against the API keys; throws AuthenticationError with livekit-server's
 * wording. A token string seen before with a valid signature is not hashed again (an exact
 * string match is the same signature over the same claims); its exp/nbf are still checked.
 */
export class TokenVerifier {
  private readonly verified = new Map<string, Verified>();

  constructor(
    private readonly keys: ReadonlyMap<string, string>,
    private readonly cacheMax = VERIFIED_TOKENS_MAX,
  ) {}

  /** Tokens remembered now. */
  get cached(): number {
    return this.verified.size;
  }

  verify(token: string, nowMs: number): VideoGrants {
    const known = this.verified.get(token);
    if (known) {
      const nowS = nowMs / 1_000;
      if (nowS > known.expS + CLOCK_LEEWAY_S) {
        this.verified.delete(token);
        throw new AuthenticationError('invalid token: token is expired');
      }
      if (known.nbfS !== undefined && nowS < known.nbfS - CLOCK_LEEWAY_S) {
        throw new AuthenticationError('invalid token: token is not valid yet');
      }
      return known.grants;
    }
    let claims: Record<string, unknown>;
    try {
      claims = verifyJwt(token, (key) => this.keys.get(key), nowMs);
    } catch (error) {
      translate(error);
    }
    const grants = grantsOf(claims);
    if (this.verified.size >= this.cacheMax) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, {
      grants,
      expS: claims.exp as number,
      nbfS: typeof claims.nbf === 'number' ? claims.nbf : undefined,
    });
    return grants;
  }

  /** Reads `Authorization: Bearer <jwt>`. */
  authenticate(header: string | undefined, nowMs: number): VideoGrants {
    if (header === undefined || header === '') {
      throw new AuthenticationError('missing authorization header');
    }
    if (!header.startsWith(BEARER)) {
      throw new AuthenticationError('invalid authorization header. Must start with Bearer');
    }
    return this.verify(header.slice(BEARER.length).trim(), nowMs);
  }
}

export const PERMISSION_DENIED = 'permissions denied';

export function permissionDenied(): TwirpError {
  return new TwirpError('unauthenticated', PERMISSION_DENIED);
}

export type Grant = 'roomCreate' | 'roomList' | 'roomAdmin';

/** Throws `unauthenticated` "permissions denied" unless `grants` has `grant`. */
export function requireGrant(grants: VideoGrants, grant: Grant): void {
  if (!grants[grant]) throw permissionDenied();
}

/** roomAdmin for one room: LiveKit's rule, the token's `room` must equal it. */
export function requireRoomAdmin(grants: VideoGrants, room: string): void {
  if (!grants.roomAdmin || grants.room !== room) throw permissionDenied();
}

/** Admin API writes: roomAdmin; a token limited to a room may only touch that room. */
export function requireAdminWrite(grants: VideoGrants, room: string): void {
  if (!grants.roomAdmin || (grants.room !== '' && grants.room !== room)) throw permissionDenied();
}
