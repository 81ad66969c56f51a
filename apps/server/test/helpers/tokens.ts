/** Access tokens for tests: the official SDK's AccessToken, and hand-made ones for the cases
 *  the SDK refuses to mint (expired, wrong algorithm, no exp). */
import { createHmac } from 'node:crypto';
import { AccessToken, type VideoGrant } from 'livekit-server-sdk';

export const TEST_KEY = 'testkey';
export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789';
export const TEST_KEYS: ReadonlyMap<string, string> = new Map([[TEST_KEY, TEST_SECRET]]);

export async function sdkToken(
  grant: VideoGrant,
  key = TEST_KEY,
  secret = TEST_SECRET,
): Promise<string> {
  const token = new AccessToken(key, secret, { ttl: '10m' });
  token.addGrant(grant);
  return token.toJwt();
}

export const ALL_GRANTS: VideoGrant = { roomCreate: true, roomList: true, roomAdmin: true };

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A JWT with exactly these header and claims, HMAC-SHA256 signed with `secret`. */
export function handToken(
  claims: Record<string, unknown>,
  secret = TEST_SECRET,
  header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' },
): string {
  const body = `${b64(header)}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export function nowS(): number {
  return Math.floor(Date.now() / 1_000);
}
