import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCH_RECORD_BYTES_MAX,
  BATCH_RECORDS_MAX,
  BUCKET_COUNT_MAX,
  decodeMessage,
  encodeMessage,
  estimateRecordBytes,
  FRAME_RECORD_BYTES_MAX,
  FRAME_RECORDS_MAX,
  GOSSIP_MESSAGE_BYTES_MAX,
  NODE_ID_BYTES_MAX,
  RECORD_BYTES_MAX,
  ROOM_METADATA_BYTES_MAX,
  type RoomRecord,
  STREAM_FRAME_BYTES_MAX,
  splitIntoFrames,
} from '../src/index.js';
import { arbRoomRecord, exampleRecord } from './arbitraries.js';

const sum = (frame: RoomRecord[]): number =>
  frame.reduce((n, record) => n + estimateRecordBytes(record), 0);

/** A record with metadata of `metadataBytes` (the field that makes records big). */
const sized = (metadataBytes: number): RoomRecord =>
  exampleRecord({ metadata: 'm'.repeat(metadataBytes) });

describe('splitIntoFrames', () => {
  it('keeps order, respects both limits and packs greedily (property)', () => {
    fc.assert(
      fc.property(
        fc.array(arbRoomRecord, { maxLength: 40 }),
        fc.integer({ min: 1_000, max: 5_000 }),
        fc.integer({ min: 1, max: 10 }),
        (records, bytesMax, recordsMax) => {
          const frames = splitIntoFrames(records, bytesMax, recordsMax);
          expect(frames.flat()).toEqual(records);
          for (const [i, frame] of frames.entries()) {
            expect(frame.length).toBeGreaterThan(0);
            expect(frame.length).toBeLessThanOrEqual(recordsMax);
            expect(sum(frame)).toBeLessThanOrEqual(bytesMax);
            const next = frames[i + 1];
            if (next !== undefined) {
              // Greedy: the next frame's first record did not fit in this one.
              const fits =
                frame.length < recordsMax && sum(frame) + estimateRecordBytes(next[0]!) <= bytesMax;
              expect(fits).toBe(false);
            }
          }
        },
      ),
      { numRuns: 300, seed: 6 },
    );
  });

  it('frames from the exported budgets always encode within the message limits', () => {
    const big = sized(ROOM_METADATA_BYTES_MAX); // ~66 KB each
    const records = [
      ...Array.from({ length: 40 }, () => big),
      ...Array.from({ length: 5_000 }, () => exampleRecord()),
    ];
    const batches = splitIntoFrames(records, BATCH_RECORD_BYTES_MAX, BATCH_RECORDS_MAX);
    for (const batch of batches) {
      const bytes = encodeMessage({
        type: 'room-batch',
        origin: 'o'.repeat(NODE_ID_BYTES_MAX),
        seq: Number.MAX_SAFE_INTEGER,
        sentAt: Number.MAX_SAFE_INTEGER,
        records: batch,
      });
      expect(bytes.length).toBeLessThanOrEqual(GOSSIP_MESSAGE_BYTES_MAX);
      expect(decodeMessage(bytes).ok).toBe(true);
    }
    // The worst sync frame: every bucket id listed as completed, plus a full record budget.
    const allBuckets = Array.from({ length: BUCKET_COUNT_MAX }, (_, i) => i);
    const frames = splitIntoFrames(records, FRAME_RECORD_BYTES_MAX, FRAME_RECORDS_MAX);
    for (const frame of frames) {
      const bytes = encodeMessage({
        type: 'sync-bucket-records',
        buckets: allBuckets,
        records: frame,
        done: false,
      });
      expect(bytes.length).toBeLessThanOrEqual(STREAM_FRAME_BYTES_MAX);
    }
    expect(batches.length).toBeGreaterThan(2);
    expect(frames.length).toBeGreaterThan(2);
  });

  it('a single record of RECORD_BYTES_MAX fits in every budget', () => {
    expect(RECORD_BYTES_MAX).toBeLessThan(FRAME_RECORD_BYTES_MAX);
    expect(RECORD_BYTES_MAX).toBeLessThan(BATCH_RECORD_BYTES_MAX);
    expect(splitIntoFrames([sized(ROOM_METADATA_BYTES_MAX)], RECORD_BYTES_MAX, 1)).toHaveLength(1);
  });

  it('refuses budgets that cannot hold a record (programming errors)', () => {
    expect(splitIntoFrames([], 1, 1)).toEqual([]);
    expect(() => splitIntoFrames([exampleRecord()], 100, 10)).toThrow(RangeError);
    expect(() => splitIntoFrames([exampleRecord()], 0, 10)).toThrow(RangeError);
    expect(() => splitIntoFrames([exampleRecord()], 10_000, 0)).toThrow(RangeError);
    expect(() => splitIntoFrames([exampleRecord()], 1.5, 1)).toThrow(RangeError);
  });
});
