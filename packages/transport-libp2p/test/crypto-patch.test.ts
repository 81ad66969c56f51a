/**
 * The @libp2p/crypto patch (patches/@libp2p__crypto@5.1.23.patch): Ed25519 keys are imported
 * into a KeyObject once per key, not once per signature or verification (gossipsub signs
 * every message at its origin and verifies it at every receiver). What must hold: the
 * import happens once per key, signatures still verify with their own key only, and past
 * the cache's bound (1,024 keys) everything still works.
 */
import crypto from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterEach, describe, expect, it, vi } from 'vitest';

const text = (value: string) => new TextEncoder().encode(value);

describe('@libp2p/crypto Ed25519 (patched)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('imports each key once, however many messages it signs or verifies', async () => {
    const key = await generateKeyPair('Ed25519');
    const createPrivate = vi.spyOn(crypto, 'createPrivateKey');
    const createPublic = vi.spyOn(crypto, 'createPublicKey');
    const signatures = [];
    for (let i = 0; i < 50; i++) signatures.push(await key.sign(text(`message ${i}`)));
    for (let i = 0; i < 50; i++) {
      expect(await key.publicKey.verify(text(`message ${i}`), signatures[i]!)).toBe(true);
    }
    expect(createPrivate.mock.calls.length).toBeLessThanOrEqual(1);
    expect(createPublic.mock.calls.length).toBeLessThanOrEqual(1);
  });

  it('verifies a signature with its own key only, past the cache bound too', async () => {
    const keys = await Promise.all(Array.from({ length: 1_100 }, () => generateKeyPair('Ed25519')));
    const message = text('one message');
    const signatures = await Promise.all(keys.map((key) => key.sign(message)));
    for (let i = 0; i < keys.length; i++) {
      expect(await keys[i]!.publicKey.verify(message, signatures[i]!)).toBe(true);
      const other = keys[(i + 1) % keys.length]!;
      expect(await other.publicKey.verify(message, signatures[i]!)).toBe(false);
      expect(await keys[i]!.publicKey.verify(text('another message'), signatures[i]!)).toBe(false);
    }
  });
});
