/**
 * The sync-cell-summaries encoder's fast path (src/cell-summaries-encode.ts) against its
 * contract: for any frame, encodeMessage returns exactly the bytes the general path alone
 * returns, or throws the same EncodeError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCellSummariesFast } from '../src/cell-summaries-encode.js';
import {
  BUCKET_COUNT_MAX,
  decodeMessage,
  EncodeError,
  encodeMessage,
  SUMMARY_ENTRIES_MAX,
  type SyncCellSummariesMessage,
  type SyncCellSummaryEntry,
} from '../src/index.js';
import { encodeMessageGeneral } from '../src/message-codec.js';
import { arbSyncCellSummaries } from './arbitraries.js';
import { encodeOutcome } from './fast-paths.js';

function expectSameAsGeneral(message: SyncCellSummariesMessage): void {
  expect(encodeOutcome(() => encodeMessage(message))).toEqual(
    encodeOutcome(() => encodeMessageGeneral(message)),
  );
}

const ENTRY: SyncCellSummaryEntry = {
  bucket: 4_095,
  cell: 15,
  sid: 'RM_4kTfZbqW9xYd',
  hashHi: 0xffff_ffff,
  hashLo: 7,
};

function frame(entries: unknown[], done: unknown = true): SyncCellSummariesMessage {
  return { type: 'sync-cell-summaries', entries, done } as SyncCellSummariesMessage;
}

describe('sync-cell-summaries encoder fast path', () => {
  it('writes the bytes the general path writes, for any valid frame', () => {
    fc.assert(
      fc.property(arbSyncCellSummaries, (message) => {
        const fast = encodeCellSummariesFast(message);
        expect(fast).toBeDefined();
        expect(Buffer.from(fast!).equals(encodeMessageGeneral(message))).toBe(true);
        expect(decodeMessage(fast!)).toEqual({ ok: true, message });
      }),
      { numRuns: 300 },
    );
  });

  it('writes every width, and frames of 0, 15, 16 and SUMMARY_ENTRIES_MAX entries', () => {
    for (const bucket of [0, 0x7f, 0x80, 0xff, 0x100, BUCKET_COUNT_MAX - 1]) {
      for (const hash of [0, 0x80, 0x1_0000, 0xffff_ffff]) {
        const message = frame([{ ...ENTRY, bucket, hashHi: hash, hashLo: hash }], false);
        expect(encodeCellSummariesFast(message)).toBeDefined();
        expectSameAsGeneral(message);
      }
    }
    for (const count of [0, 15, 16, SUMMARY_ENTRIES_MAX]) {
      const message = frame(Array.from({ length: count }, () => ENTRY));
      expect(encodeCellSummariesFast(message)).toBeDefined();
      expectSameAsGeneral(message);
    }
  });

  it('declines every rule breach, which the general path then names', () => {
    const breaches: SyncCellSummariesMessage[] = [
      frame([{ ...ENTRY, bucket: BUCKET_COUNT_MAX }]),
      frame([{ ...ENTRY, cell: 16 }]),
      frame([{ ...ENTRY, cell: -1 }]),
      frame([{ ...ENTRY, sid: 'RM_0bcdefghijkm' }]),
      frame([{ ...ENTRY, hashHi: 2 ** 32 }]),
      frame([{ ...ENTRY, hashLo: 0.5 }]),
      frame([{ ...ENTRY, hashLo: '7' }]),
      frame([null]),
      frame(Array.from({ length: SUMMARY_ENTRIES_MAX + 1 }, () => ENTRY)),
      frame([ENTRY], 'yes'),
      frame('entries' as unknown as unknown[]),
    ];
    for (const message of breaches) {
      expect(encodeCellSummariesFast(message)).toBeUndefined();
      expect(() => encodeMessageGeneral(message)).toThrow(EncodeError);
      expectSameAsGeneral(message);
    }
  });

  it('never throws, whatever it is given', () => {
    const hostile = {
      type: 'sync-cell-summaries',
      done: true,
      get entries(): SyncCellSummaryEntry[] {
        throw new Error('a getter that throws');
      },
    } as SyncCellSummariesMessage;
    expect(encodeCellSummariesFast(hostile)).toBeUndefined();
  });
});
