/**
 * LiveKit access tokens: HS256 JWTs signed with node:crypto, so no JWT dependency.
 * Claims as livekit-server-sdk's AccessToken mints them for server API calls
 * (/work/shared/livekit-roomservice.md, "Auth"): `iss` = API key, `video` = grants.
 */
import { createHmac } from 'node:crypto';

/** The `video` grants the client asks for; one set per method (see client.ts). */
export interface VideoGrant {
  roomCreate?: boolean;
  roomList?: boolean;
  roomAdmin?: boolean;
  room?: string;
}

/** Every `video` grant an operator may mint (`roomring token`): the API's, and those a
 *  LiveKit media server reads (roomring's API ignores them). */
export interface TokenGrant extends VideoGrant {
  roomJoin?: boolean;
  roomRecord?: boolean;
  canPublish?: boolean;
  canSubscribe?: boolean;
  canPublishData?: boolean;
  hidden?: boolean;
}

/** Claims beside the grants, as LiveKit's AccessToken sets them. */
export interface TokenIdentity {
  /** `sub`: the participant identity (required by LiveKit to join a room). */
  identity?: string;
  name?: string;
  metadata?: string;
}

/** Token lifetime: 10 minutes, as the LiveKit SDKs mint per call. */
export const TOKEN_TTL_S = 600;
/**
 * `nbf` is back-dated by 30 s so a client whose clock runs up to 30 s ahead of the server's
 * is not refused (the server applies its 60 s leeway to `exp`; `nbf` may have none).
 */
export const TOKEN_NOT_BEFORE_SKEW_S = 30;

const HEADER_B64 = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export function mintAccessToken(
  apiKey: string,
  apiSecret: string,
  grant: TokenGrant,
  nowMs: number,
  ttlS: number = TOKEN_TTL_S,
  identity: TokenIdentity = {},
): string {
  const nowS = Math.floor(nowMs / 1000);
  const claims = {
    iss: apiKey,
    ...(identity.identity !== undefined ? { sub: identity.identity } : {}),
    ...(identity.name !== undefined ? { name: identity.name } : {}),
    ...(identity.metadata !== undefined ? { metadata: identity.metadata } : {}),
    nbf: nowS - TOKEN_NOT_BEFORE_SKEW_S,
    exp: nowS + ttlS,
    video: grant,
  };
  const signingInput = `${HEADER_B64}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = createHmac('sha256', Buffer.from(apiSecret, 'utf8'))
    .update(signingInput)
    .digest('base64url');
  return `${signingInput}.${signature}`;
}
