/**
 * The bucket of a room name: part of the anti-entropy contract (docs/protocol/sync.md), so it
 * must be the same function on every node and every version that syncs with another.
 *
 * FNV-1a (32-bit) over the name's UTF-16 code units, then murmur3's fmix32 finalizer so the
 * low bits that the bucket mask keeps depend on every unit. About 20 ns for a 12-character
 * name; computed on every lookup, so no allocation.
 */
import { CELLS_PER_BUCKET } from '@roomring/protocol';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Unsigned 32-bit hash of a room name's UTF-16 code units. */
export function roomNameHash32(name: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < name.length; i++) {
    hash = Math.imul(hash ^ name.charCodeAt(i), FNV_PRIME);
  }
  return fmix32(hash) >>> 0;
}

/** Bucket of a name among `bucketCount` (a power of two) buckets. */
export function bucketOfName(name: string, bucketCount: number): number {
  return roomNameHash32(name) & (bucketCount - 1);
}

/** Bits of the name hash that choose a cell: the top ones (a bucket takes the low bits, at
 *  most 16 of them, BUCKET_COUNT_MAX = 65,536), so a bucket's names spread over its cells. */
const CELL_BITS = Math.log2(CELLS_PER_BUCKET);

/**
 * The cell of a name within its bucket, from its roomNameHash32: part of the anti-entropy
 * contract like the bucket (docs/protocol/sync.md, cell summaries).
 */
export function cellOfHash(hash: number): number {
  return hash >>> (32 - CELL_BITS);
}

/** murmur3's 32-bit finalizer: full avalanche, so any bit mask of the result is uniform. */
export function fmix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
