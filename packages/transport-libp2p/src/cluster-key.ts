import { randomBytes } from 'node:crypto';
import { InvalidConfigError } from './errors.js';

/** 32 bytes: the XSalsa20 key size `@libp2p/pnet` uses. */
const CLUSTER_KEY_BYTES = 32;
const CLUSTER_KEY_PATTERN = /^[0-9a-fA-F]{64}$/;

/**
 * Turns a cluster key (64 hex characters) into the swarm-key file `@libp2p/pnet` expects
 * ("/key/swarm/psk/1.0.0/", "/base16/", the hex key; the go-ipfs format), lower-cased because
 * pnet's base16 decoder only reads lower case.
 */
export function parseClusterKey(clusterKey: string): Uint8Array {
  if (typeof clusterKey !== 'string' || !CLUSTER_KEY_PATTERN.test(clusterKey)) {
    throw new InvalidConfigError(
      `clusterKey must be ${CLUSTER_KEY_BYTES * 2} hex characters (${CLUSTER_KEY_BYTES} bytes)`,
    );
  }
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${clusterKey.toLowerCase()}`);
}

/** A new random cluster key, 64 lower-case hex characters. Share it with every member. */
export function generateClusterKey(): string {
  return randomBytes(CLUSTER_KEY_BYTES).toString('hex');
}
