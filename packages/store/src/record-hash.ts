/**
 * 64-bit hash of a record's field values, XORed into its bucket's digest.
 *
 * Part of the anti-entropy contract (docs/protocol/sync.md): two nodes holding equal records
 * must compute equal hashes, so the hash reads the field values only, in `RoomRecord` order,
 * never an object identity or insertion order. Two murmur3-style lanes with different seeds
 * give the two 32-bit words. Strings are hashed as their length and then pairs of UTF-16
 * code units; numbers as two 32-bit words (integers up to 2^53 exactly, anything else by its
 * IEEE-754 bits); booleans as 0 / 1. The length prefixes keep field boundaries unambiguous.
 *
 * Cost: one pass over about 60-100 code units for a typical record, ~0.2 µs; a change hashes
 * the record twice (XOR the old hash out, the new one in), which keeps each update O(1).
 */
import type { RoomRecord } from '@roomring/protocol';
import { fmix32 } from './name-hash.js';

const SEED_LO = 0x9747b28c;
const SEED_HI = 0x2545f491;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
const TWO_POW_32 = 2 ** 32;

// Lane state between calls of the mixers below: module-level so hashing allocates nothing.
let lo = 0;
let hi = 0;
const floatView = new DataView(new ArrayBuffer(8));

function mixWord(word: number): void {
  let k = Math.imul(word, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  lo ^= k;
  lo = (lo << 13) | (lo >>> 19);
  lo = (Math.imul(lo, 5) + 0xe6546b64) | 0;
  hi ^= k;
  hi = (hi << 15) | (hi >>> 17);
  hi = (Math.imul(hi, 5) + 0x561ccd1b) | 0;
}

function mixString(value: string): void {
  const length = value.length;
  mixWord(length);
  let i = 0;
  for (; i + 1 < length; i += 2) mixWord(value.charCodeAt(i) | (value.charCodeAt(i + 1) << 16));
  if (i < length) mixWord(value.charCodeAt(i));
}

function mixNumber(value: number): void {
  if (value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) {
    const low = value >>> 0;
    mixWord(low);
    mixWord((value - low) / TWO_POW_32);
  } else {
    // Never seen for validated records; kept exact so no two values share a hash by design.
    floatView.setFloat64(0, value, true);
    mixWord(floatView.getUint32(0, true) ^ 0x5bd1e995);
    mixWord(floatView.getUint32(4, true));
  }
}

/** The last hash computed by hashRecord(): low and high words. */
let hashLo = 0;
let hashHi = 0;

/** XORs the record's 64-bit hash into `words[offset]` (low) and `words[offset + 1]` (high). */
export function xorRecordHash(record: RoomRecord, words: Uint32Array, offset: number): void {
  hashRecord(record);
  words[offset] = words[offset]! ^ hashLo;
  words[offset + 1] = words[offset + 1]! ^ hashHi;
}

/**
 * xorRecordHash into two digests at once, hashing the record once: its bucket's
 * (`words[offset]`) and its cell's (`cellWords[cellOffset]`, docs/protocol/sync.md).
 */
export function xorRecordHashTwice(
  record: RoomRecord,
  words: Uint32Array,
  offset: number,
  cellWords: Uint32Array,
  cellOffset: number,
): void {
  hashRecord(record);
  words[offset] = words[offset]! ^ hashLo;
  words[offset + 1] = words[offset + 1]! ^ hashHi;
  cellWords[cellOffset] = cellWords[cellOffset]! ^ hashLo;
  cellWords[cellOffset + 1] = cellWords[cellOffset + 1]! ^ hashHi;
}

function hashRecord(record: RoomRecord): void {
  lo = SEED_LO;
  hi = SEED_HI;
  mixString(record.name);
  mixString(record.sid);
  mixNumber(record.createdAt);
  mixString(record.creator);
  mixString(record.homeRegion);
  mixNumber(record.settingsAt);
  mixString(record.settingsBy);
  mixNumber(record.emptyTimeoutS);
  mixNumber(record.departureTimeoutS);
  mixNumber(record.maxParticipants);
  mixString(record.metadata);
  mixString(record.pinnedNode);
  mixNumber(record.statsAt);
  mixString(record.statsBy);
  mixNumber(record.numParticipants);
  mixNumber(record.numPublishers);
  mixWord(record.activeRecording ? 1 : 0);
  mixWord(record.everOccupied ? 1 : 0);
  mixNumber(record.deletedAt);
  mixString(record.deletedBy);
  // Cross the lanes, then finalize each: every input bit reaches both output words.
  hashLo = fmix32(lo ^ Math.imul(hi, 0x85ebca6b));
  hashHi = fmix32(hi ^ Math.imul(lo, 0xc2b2ae35));
}

/** Scratch words for recordHash(): zeroed, XORed into, read. */
const scratch = new Uint32Array(2);

/**
 * The record's 64-bit hash as `[high, low]` unsigned 32-bit words: exactly what its bucket's
 * digest XORs in (low word at 2b, high word at 2b + 1). Anti-entropy summaries compare these
 * per record (docs/protocol/sync.md), so two nodes holding equal records get equal words.
 */
export function recordHash(record: Readonly<RoomRecord>): [hi: number, lo: number] {
  scratch[0] = 0;
  scratch[1] = 0;
  xorRecordHash(record, scratch, 0);
  return [scratch[1]!, scratch[0]!];
}
