/**
 * The node's libp2p identity on disk (`--data-dir`): `<data-dir>/peer-key` holds the
 * protobuf-encoded private key, so the peer id, which other nodes know this node by, survives
 * restarts. Created with mode 0600 on first start.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey } from '@roomring/node';

export const PEER_KEY_FILE = 'peer-key';

export function loadOrCreatePeerKey(dataDir: string): { key: Uint8Array; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, PEER_KEY_FILE);
  try {
    return { key: new Uint8Array(readFileSync(path)), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = generatePrivateKey();
  // 'wx': never overwrite a key another process wrote meanwhile.
  writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  return { key, created: true };
}
