/**
 * The room-batch fast path (src/room-batch-fast.ts) against its contract: on any input,
 * decodeMessage returns exactly what the general path alone returns (the same message, or
 * the same error), and the fast path really decodes what our encoder writes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DecodeResult,
  decodeMessage,
  encodeMessage,
  type RoomBatchMessage,
  recordToTuple,
} from '../src/index.js';
import { decodeMessageGeneral } from '../src/message-codec.js';
import { readArrayHeader, readSmallUint } from '../src/msgpack-scan.js';
import { decodeRoomBatchFast, SHARED_STRINGS_MAX } from '../src/room-batch-fast.js';
import { arbRoomBatch, exampleRecord } from './arbitraries.js';
import { allAscii, BATCH } from './fast-paths.js';
import { rawPack } from './wire.js';

/** The fast path alone, on an encoded message (envelope header, version, type read first). */
function fastDecode(bytes: Uint8Array): RoomBatchMessage | undefined {
  const envelope = readArrayHeader(bytes, 0, bytes.length);
  const version = readSmallUint(bytes, envelope.next, bytes.length);
  const type = readSmallUint(bytes, version.next, bytes.length);
  return decodeRoomBatchFast(bytes, envelope.count, type.next);
}

/** Results compared as values: the message, or the error's code, field and text. */
function comparable(result: DecodeResult): unknown {
  if (result.ok) return { ok: true, message: result.message };
  const { code, field, message } = result.error;
  return { ok: false, code, field, message };
}

function expectSameAsGeneral(bytes: Uint8Array): void {
  expect(comparable(decodeMessage(bytes))).toEqual(comparable(decodeMessageGeneral(bytes)));
}

describe('room-batch fast path', () => {
  it('decodes what the encoder writes, as the general path does', () => {
    fc.assert(
      fc.property(arbRoomBatch, (message) => {
        const bytes = encodeMessage(message);
        const general = decodeMessageGeneral(bytes);
        expect(general.ok).toBe(true);
        const fast = fastDecode(bytes);
        // ASCII batches take the fast path; others may be declined, never decoded otherwise.
        if (allAscii(message)) expect(fast).toBeDefined();
        if (fast !== undefined && general.ok) expect(fast).toEqual(general.message);
        expectSameAsGeneral(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('returns what the general path returns for every corrupted batch', () => {
    const arbCorrupted = fc
      .tuple(arbRoomBatch, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }))
      .map(([message, edits]) => {
        const bytes = encodeMessage(message).slice();
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        return bytes;
      });
    fc.assert(fc.property(arbCorrupted, expectSameAsGeneral), { numRuns: 2_000 });
  });

  it('returns what the general path returns for truncated and extended batches', () => {
    const bytes = encodeMessage(BATCH);
    for (let cut = 0; cut < bytes.length; cut++) expectSameAsGeneral(bytes.subarray(0, cut));
    for (const extra of [[0x00], [0xc0], [0x91, 0x01]]) {
      const longer = new Uint8Array([...bytes, ...extra]);
      expect(fastDecode(longer)).toBeUndefined();
      expectSameAsGeneral(longer);
    }
  });

  it('declines what another encoder may write, which the general path then decodes', () => {
    const record = exampleRecord();
    const variants: unknown[][] = [
      // Integers as uint64 (as Go or Rust encoders often write them).
      [record.name, record.sid, BigInt(record.createdAt), ...recordToTuple(record).slice(3)],
      // A non-ASCII room name.
      ['salle-é', ...recordToTuple(record).slice(1)],
    ];
    for (const t of variants) {
      const bytes = rawPack([1, 1, 'usw-1', 3, 5, [t]]);
      expect(fastDecode(bytes)).toBeUndefined();
      const general = decodeMessageGeneral(bytes);
      expect(general.ok).toBe(true);
      expectSameAsGeneral(bytes);
    }
  });

  it('declines every rule breach, which the general path then names', () => {
    const record = exampleRecord();
    const t = recordToTuple(record);
    const breaches: unknown[][] = [
      t.map((v, i) => (i === 1 ? 'RM_0bcdefghijkm' : v)), // '0' is not in the alphabet
      t.map((v, i) => (i === 0 ? '' : v)), // empty name
      t.map((v, i) => (i === 0 ? 'n'.repeat(257) : v)), // over ROOM_NAME_BYTES_MAX
      t.map((v, i) => (i === 3 ? 'c'.repeat(129) : v)), // creator over NODE_ID_BYTES_MAX
      t.map((v, i) => (i === 5 ? 0 : v)), // settingsAt 0 with a settingsBy
      t.map((v, i) => (i === 7 ? 2 ** 32 : v)), // emptyTimeoutS over UINT32_MAX
      t.map((v, i) => (i === 7 ? 1.5 : v)), // not an integer
      t.map((v, i) => (i === 16 ? 1 : v)), // not a boolean
      t.slice(0, 19), // 19 elements
    ];
    for (const breach of breaches) {
      const bytes = rawPack([1, 1, 'usw-1', 3, 5, [breach]]);
      expect(fastDecode(bytes)).toBeUndefined();
      expect(decodeMessageGeneral(bytes).ok).toBe(false);
      expectSameAsGeneral(bytes);
    }
    const empty = rawPack([1, 1, 'usw-1', 3, 5, []]); // no records
    expect(fastDecode(empty)).toBeUndefined();
    expectSameAsGeneral(empty);
  });

  it('reads -0 as 0, as the general path does', () => {
    const record = exampleRecord();
    const bytes = rawPack([
      1,
      1,
      'usw-1',
      3,
      5,
      [recordToTuple(record).map((v, i) => (i === 14 ? -0 : v))],
    ]);
    const fast = fastDecode(bytes);
    expect(fast?.records[0]?.numParticipants).toBe(0);
    expect(Object.is(fast?.records[0]?.numParticipants, -0)).toBe(false);
    expectSameAsGeneral(bytes);
  });

  it('hands out one string object for a node id that every record repeats', () => {
    const fast = fastDecode(encodeMessage(BATCH));
    expect(fast?.records[0]?.creator).toBe('usw-1');
    // Same object: the store's interner then finds it without hashing a new string.
    expect(Object.is(fast?.records[0]?.creator, fast?.records[1]?.creator)).toBe(true);
    expect(Object.is(fast?.origin, fast?.records[0]?.creator)).toBe(true);
  });

  it('stays correct past its cache of shared strings', () => {
    const records = Array.from({ length: SHARED_STRINGS_MAX + 50 }, (_, i) => ({
      ...exampleRecord(),
      name: `room-${i}`,
      creator: `creator-${i}`,
    }));
    for (let start = 0; start < records.length; start += 500) {
      const message: RoomBatchMessage = { ...BATCH, records: records.slice(start, start + 500) };
      const bytes = encodeMessage(message);
      expect(fastDecode(bytes)).toEqual(message);
    }
  });
});
