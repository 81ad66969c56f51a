/**
 * Regression for the cipher under @libp2p/pnet (xsalsa20 1.2.0, WebAssembly, at most 1,000
 * pages of shared memory). Unpatched, a cipher whose view of the memory another cipher's
 * growth had detached grew the memory again on every update, until
 * "WebAssembly.Memory.grow(): Maximum memory size exceeded" was thrown in an event handler
 * and killed the process: a cold join of 100k rooms (sync frames of up to 512 KiB on several
 * connections) crashed three of five nodes. The fix is patches/xsalsa20@1.2.0.patch.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

interface Cipher {
  update(input: Uint8Array): Uint8Array;
}
const xsalsa20 = createRequire(import.meta.url)('xsalsa20') as (
  nonce: Uint8Array,
  key: Uint8Array,
) => Cipher;

describe('pnet cipher memory (patched xsalsa20)', () => {
  it('one large message on one connection does not make every other connection grow memory', () => {
    const key = new Uint8Array(32).fill(7);
    const connections = Array.from({ length: 10 }, (_, i) =>
      xsalsa20(new Uint8Array(24).fill(i), key),
    );
    // One 2 MiB write grows the shared memory past its initial 640 KiB...
    const big = new Uint8Array(2 * 1024 * 1024).fill(1);
    connections[0]!.update(big);
    // ...then thousands of small writes on the other connections: unpatched, each grew the
    // memory by another page until the 1,000-page maximum threw.
    const small = new Uint8Array(1024).fill(2);
    for (let round = 0; round < 300; round++) {
      for (const cipher of connections.slice(1)) cipher.update(small);
      connections[0]!.update(big.subarray(0, 256 * 1024));
    }
    // Still a stream cipher: the same key and nonce give the same keystream.
    const a = xsalsa20(new Uint8Array(24), key).update(big.subarray(0, 4096));
    const b = xsalsa20(new Uint8Array(24), key).update(big.subarray(0, 4096));
    expect(a).toEqual(b);
    expect(a.some((byte, i) => byte !== big[i])).toBe(true);
  });
});
