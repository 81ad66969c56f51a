/**
 * Access tokens signed in the browser (docs/dashboard.md, Auth): an HS256 JWT over the claims
 * LiveKit's server SDKs mint (`iss` = API key, `nbf`, `exp`, `video` grants), HMAC-SHA256 by
 * WebCrypto with the secret's UTF-8 bytes as the key, exactly what the server verifies
 * (apps/server/src/jwt.ts). The secret never leaves the page: only tokens are sent.
 *
 * WebCrypto's `subtle` exists only in secure contexts (https://, or http://127.0.0.1 and
 * localhost); elsewhere the page asks for a token instead.
 */

/** What the dashboard asks for: it only reads. */
export interface TokenGrants {
  roomList?: boolean;
  roomCreate?: boolean;
  roomAdmin?: boolean;
  room?: string;
}

/** The dashboard's grants: every view reads through /v1 with `roomList`, nothing more. */
export const DASHBOARD_GRANTS: Readonly<TokenGrants> = Object.freeze({ roomList: true });
/** Lifetime of a token the page signs: 10 minutes, as the LiveKit SDKs mint per call. */
export const TOKEN_TTL_S = 600;
/** `nbf` back-dated so a browser clock up to 30 s ahead of the server's is not refused. */
export const TOKEN_NOT_BEFORE_SKEW_S = 30;
/** A signed token is replaced once it has less than this left. */
export const TOKEN_RENEW_BEFORE_S = 60;
/** The server refuses longer tokens (TOKEN_BYTES_MAX in apps/server/src/jwt.ts). */
export const TOKEN_CHARS_MAX = 8_192;

/** Signing is impossible here: no WebCrypto outside a secure context. */
export class NoWebCryptoError extends Error {
  override readonly name = 'NoWebCryptoError';
  constructor() {
    super(
      'this page is not a secure context (https, or http on 127.0.0.1/localhost), so the browser offers no WebCrypto to sign with: paste a token instead (roomring token --list)',
    );
  }
}

/** A pasted token that is not a JWT this server could accept. */
export class TokenFormatError extends Error {
  override readonly name = 'TokenFormatError';
}

/** WebCrypto's SubtleCrypto (named so in the DOM and Node typings alike). */
type Subtle = typeof globalThis.crypto.subtle;

export interface SignedToken {
  token: string;
  /** Unix seconds. */
  expS: number;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

const encoder = new TextEncoder();
const HEADER = base64url(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));

/** Signs a token for `apiKey` with `secret`, valid from now for `ttlS`. */
export async function signToken(
  apiKey: string,
  secret: string,
  grants: Readonly<TokenGrants>,
  nowMs: number,
  ttlS: number = TOKEN_TTL_S,
  /** WebCrypto's signer; null outside a secure context. */
  subtle: Subtle | null = globalThis.crypto?.subtle ?? null,
): Promise<SignedToken> {
  if (apiKey === '') throw new TypeError('the API key is empty');
  if (secret === '') throw new TypeError('the secret is empty');
  if (!subtle) throw new NoWebCryptoError();
  const nowS = Math.floor(nowMs / 1_000);
  const expS = nowS + ttlS;
  const claims = { iss: apiKey, nbf: nowS - TOKEN_NOT_BEFORE_SKEW_S, exp: expS, video: grants };
  const body = `${HEADER}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  const key = await subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const signature = new Uint8Array(await subtle.sign('HMAC', key, encoder.encode(body)));
  return { token: `${body}.${base64url(signature)}`, expS };
}

export interface TokenClaims {
  /** The API key that signed it. */
  apiKey: string;
  /** Unix seconds; null when absent (the server refuses such a token). */
  expS: number | null;
  grants: TokenGrants;
}

/**
 * What a pasted token says about itself (not verified: only the server can). Throws
 * TokenFormatError when it is not a JWT at all.
 */
export function readTokenClaims(token: string): TokenClaims {
  const parts = token.trim().split('.');
  if (token.length > TOKEN_CHARS_MAX || parts.length !== 3 || parts.some((p) => p === '')) {
    throw new TokenFormatError('not a JWT: expected three base64url parts separated by dots');
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1]!)));
  } catch {
    throw new TokenFormatError('not a JWT: its claims are not base64url JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TokenFormatError('not a JWT: its claims are not a JSON object');
  }
  const c = claims as Record<string, unknown>;
  const video = typeof c.video === 'object' && c.video !== null ? c.video : {};
  const v = video as Record<string, unknown>;
  return {
    apiKey: typeof c.iss === 'string' ? c.iss : '',
    expS: typeof c.exp === 'number' ? c.exp : null,
    grants: {
      roomList: v.roomList === true,
      roomCreate: v.roomCreate === true,
      roomAdmin: v.roomAdmin === true,
      ...(typeof v.room === 'string' && v.room !== '' ? { room: v.room } : {}),
    },
  };
}
