import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import {
  privateKeyFromProtobuf,
  privateKeyFromRaw,
  privateKeyToProtobuf,
} from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { InvalidConfigError } from './errors.js';

/** DER prefix of a PKCS#8 Ed25519 private key; the 32-byte seed follows (RFC 8410). */
const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function base64url(value: unknown): Uint8Array {
  if (typeof value !== 'string') throw new Error('JWK field missing');
  return new Uint8Array(Buffer.from(value, 'base64url'));
}

/** libp2p's raw Ed25519 private key is seed || public key (64 bytes). */
function ed25519FromSeed(seed: Uint8Array): PrivateKey {
  const der = new Uint8Array(ED25519_PKCS8_PREFIX.byteLength + seed.byteLength);
  der.set(ED25519_PKCS8_PREFIX);
  der.set(seed, ED25519_PKCS8_PREFIX.byteLength);
  const key = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  const publicKey = base64url(createPublicKey(key).export({ format: 'jwk' }).x);
  const raw = new Uint8Array(64);
  raw.set(seed);
  raw.set(publicKey, 32);
  return privateKeyFromRaw(raw);
}

/** Bytes of an Ed25519 seed (RFC 8032: the private key is 32 random bytes). */
const ED25519_SEED_BYTES = 32;

/**
 * A new random Ed25519 identity as protobuf bytes (the form `privateKey` takes). Synchronous,
 * so a transport knows its peer id at construction. Persist it to keep the peer id.
 *
 * The seed comes from the CSPRNG, not `generateKeyPairSync('ed25519')`: on Node 20, exporting a
 * key that call returned can deadlock the process for good when a garbage collection during
 * the export finalises the finished key-generation job, whose destructor takes the key's mutex
 * the export holds (seen as a test worker stuck in futex_wait; reproduced by a loop of
 * generate + export, see test/identity.test.ts).
 */
export function generatePrivateKey(): Uint8Array {
  const seed = new Uint8Array(randomBytes(ED25519_SEED_BYTES));
  return privateKeyToProtobuf(ed25519FromSeed(seed));
}

/** The identity for a transport: the given key, the seed's key, or a new random one. */
export function loadIdentity(
  privateKey: Uint8Array | undefined,
  identitySeed: Uint8Array | undefined,
): PrivateKey {
  if (identitySeed !== undefined) return ed25519FromSeed(identitySeed);
  if (privateKey === undefined) return privateKeyFromProtobuf(generatePrivateKey());
  try {
    return privateKeyFromProtobuf(privateKey);
  } catch (cause) {
    throw new InvalidConfigError('privateKey is not a protobuf-encoded libp2p private key', {
      cause,
    });
  }
}
