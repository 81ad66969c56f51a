/**
 * New incarnation ids: `RM_` + 12 base57 characters, as LiveKit (57^12 = 1.2e21 ids).
 * Built with one `String.fromCharCode` call so the result is one flat 15-byte string
 * (32 B on the heap); appending character by character would leave a chain of 12 cons strings
 * (~400 B) in every stored record.
 */
import { SID_ALPHABET, SID_PREFIX, SID_RANDOM_CHARS } from '@roomring/protocol';
import type { Random } from './clock.js';

const PREFIX = Array.from(SID_PREFIX, (c) => c.charCodeAt(0)); // 'RM_'
const ALPHABET_CODES = Array.from(SID_ALPHABET, (c) => c.charCodeAt(0));
const RADIX = ALPHABET_CODES.length; // 57
const codes: number[] = [...PREFIX, ...new Array<number>(SID_RANDOM_CHARS).fill(0)];

/**
 * A random sid. One 32-bit draw per character: `x % 57` over 2^32 values has a bias of
 * 2^32 mod 57 / 2^32 < 1e-8 per character, far below anything that matters for an id.
 */
export function newSid(random: Random): string {
  for (let i = PREFIX.length; i < codes.length; i++) {
    codes[i] = ALPHABET_CODES[(random.nextUint32() >>> 0) % RADIX]!;
  }
  return String.fromCharCode.apply(null, codes);
}
