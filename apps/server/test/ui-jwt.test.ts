/**
 * The dashboard signs its own tokens with WebCrypto (ui/src/jwt.ts); the server must accept
 * exactly those, with exactly the grants asked for, and refuse them under a wrong secret.
 * Node 20 has the same WebCrypto as the browser (globalThis.crypto.subtle).
 */
import { describe, expect, it } from 'vitest';
import { TokenVerifier } from '../src/auth.js';
import { JwtError, verifyJwt } from '../src/jwt.js';
import {
  DASHBOARD_GRANTS,
  NoWebCryptoError,
  readTokenClaims,
  signToken,
  TOKEN_NOT_BEFORE_SKEW_S,
  TOKEN_TTL_S,
  TokenFormatError,
} from '../ui/src/jwt.js';
import { handToken, nowS, sdkToken, TEST_KEY, TEST_KEYS, TEST_SECRET } from './helpers/tokens.js';

const NOW_MS = Date.UTC(2026, 11, 6, 12, 0, 0);

describe('tokens signed in the page', () => {
  it('verify on the server with the claims LiveKit tokens carry', async () => {
    const { token, expS } = await signToken(TEST_KEY, TEST_SECRET, DASHBOARD_GRANTS, NOW_MS);
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]{43}$/);
    const claims = verifyJwt(token, (key) => TEST_KEYS.get(key), NOW_MS);
    const nowSec = NOW_MS / 1_000;
    expect(claims).toEqual({
      iss: TEST_KEY,
      nbf: nowSec - TOKEN_NOT_BEFORE_SKEW_S,
      exp: nowSec + TOKEN_TTL_S,
      video: { roomList: true },
    });
    expect(expS).toBe(nowSec + TOKEN_TTL_S);
    // The same bytes as the server's own signer would make for these claims.
    expect(token).toBe(handToken(claims, TEST_SECRET));
  });

  it('get exactly the grants asked for, no more', async () => {
    const verifier = new TokenVerifier(TEST_KEYS);
    const reader = await signToken(TEST_KEY, TEST_SECRET, DASHBOARD_GRANTS, NOW_MS);
    expect(verifier.verify(reader.token, NOW_MS)).toEqual({
      roomList: true,
      roomCreate: false,
      roomAdmin: false,
      room: '',
    });
    const scoped = await signToken(TEST_KEY, TEST_SECRET, { roomAdmin: true, room: 'r1' }, NOW_MS);
    expect(verifier.verify(scoped.token, NOW_MS)).toEqual({
      roomList: false,
      roomCreate: false,
      roomAdmin: true,
      room: 'r1',
    });
  });

  it('are refused under a wrong secret, an unknown key, or once expired', async () => {
    const wrong = await signToken(TEST_KEY, 'not-the-secret', DASHBOARD_GRANTS, NOW_MS);
    expect(() => verifyJwt(wrong.token, (k) => TEST_KEYS.get(k), NOW_MS)).toThrow(
      expect.objectContaining({ name: 'JwtError', code: 'bad_signature' }),
    );
    const unknown = await signToken('nokey', TEST_SECRET, DASHBOARD_GRANTS, NOW_MS);
    expect(() => verifyJwt(unknown.token, (k) => TEST_KEYS.get(k), NOW_MS)).toThrow(JwtError);
    const old = await signToken(TEST_KEY, TEST_SECRET, DASHBOARD_GRANTS, NOW_MS, 60);
    // 60 s of life plus the server's 60 s of leeway.
    expect(() => verifyJwt(old.token, (k) => TEST_KEYS.get(k), NOW_MS + 121_000)).toThrow(
      expect.objectContaining({ code: 'expired' }),
    );
  });

  it('sign a secret of any characters by its UTF-8 bytes, as the server reads it', async () => {
    const secret = 'sécret-ключ-🔑';
    const { token } = await signToken('k', secret, DASHBOARD_GRANTS, NOW_MS);
    expect(verifyJwt(token, (k) => (k === 'k' ? secret : undefined), NOW_MS)).toHaveProperty(
      'iss',
      'k',
    );
  });

  it('cannot be made without WebCrypto, a key or a secret', async () => {
    await expect(signToken('k', 's', DASHBOARD_GRANTS, NOW_MS, 600, null)).rejects.toThrow(
      NoWebCryptoError,
    );
    await expect(signToken('', 's', DASHBOARD_GRANTS, NOW_MS)).rejects.toThrow(/API key/);
    await expect(signToken('k', '', DASHBOARD_GRANTS, NOW_MS)).rejects.toThrow(/secret/);
  });
});

describe('pasted tokens', () => {
  it('say who signed them, until when, with which grants', async () => {
    const token = await sdkToken({ roomList: true, roomCreate: true });
    const claims = readTokenClaims(token);
    expect(claims.apiKey).toBe(TEST_KEY);
    expect(claims.grants).toEqual({ roomList: true, roomCreate: true, roomAdmin: false });
    expect(claims.expS).toBeGreaterThan(nowS());
    expect(readTokenClaims(handToken({ iss: 'x' })).expS).toBeNull();
  });

  it('that are not JWTs are refused before any request', () => {
    for (const bad of ['', 'abc', 'a.b', 'a..c', `a.${'!'.repeat(10)}.c`, `x.${btoa('[1]')}.y`]) {
      expect(() => readTokenClaims(bad), bad).toThrow(TokenFormatError);
    }
    expect(() => readTokenClaims(`a.${'b'.repeat(8_200)}.c`)).toThrow(TokenFormatError);
  });
});
