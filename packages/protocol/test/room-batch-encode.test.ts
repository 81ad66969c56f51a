/**
 * The room-batch encoder's fast path (src/room-batch-encode.ts) against its contract: for any
 * message, encodeMessage returns exactly the bytes the general path alone returns, or throws
 * the same EncodeError, and the fast path really writes the ASCII batches nodes send.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  EncodeError,
  encodeMessage,
  MESSAGE_BYTES_MAX,
  type RoomBatchMessage,
  type RoomRecord,
} from '../src/index.js';
import { encodeMessageGeneral } from '../src/message-codec.js';
import { encodeRoomBatchFast } from '../src/room-batch-encode.js';
import { arbRoomBatch } from './arbitraries.js';
import { allAscii, BATCH, encodeOutcome } from './fast-paths.js';

function expectSameAsGeneral(message: RoomBatchMessage): void {
  expect(encodeOutcome(() => encodeMessage(message))).toEqual(
    encodeOutcome(() => encodeMessageGeneral(message)),
  );
}

/** BATCH with its second record changed by `change` (any value, as a caller may pass). */
function withRecord(change: Record<string, unknown>): RoomBatchMessage {
  return {
    ...BATCH,
    records: [BATCH.records[0]!, { ...BATCH.records[1]!, ...change } as RoomRecord],
  };
}

describe('room-batch encoder fast path', () => {
  it('writes the bytes the general path writes, for any valid batch', () => {
    fc.assert(
      fc.property(arbRoomBatch, (message) => {
        const fast = encodeRoomBatchFast(message);
        // ASCII batches take the fast path; others are declined, never written otherwise.
        if (allAscii(message)) expect(fast).toBeDefined();
        if (fast !== undefined) {
          expect(Buffer.from(fast).equals(encodeMessageGeneral(message))).toBe(true);
        }
        expectSameAsGeneral(message);
      }),
      { numRuns: 300 },
    );
  });

  it('writes every integer width and string header as msgpackr does', () => {
    const widths = [
      0,
      1,
      0x7f,
      0x80,
      0xff,
      0x100,
      0xffff,
      0x10000,
      0xffff_ffff,
      2 ** 32,
      2 ** 53 - 1,
    ];
    for (const value of widths) {
      const message: RoomBatchMessage = { ...BATCH, seq: value, sentAt: value };
      expect(encodeRoomBatchFast(message)).toBeDefined();
      expectSameAsGeneral(message);
    }
    for (const length of [0, 1, 31, 32, 255, 256, 4_096]) {
      const message = withRecord({ metadata: 'm'.repeat(length) });
      expect(encodeRoomBatchFast(message)).toBeDefined();
      expectSameAsGeneral(message);
    }
    const many: RoomBatchMessage = {
      ...BATCH,
      records: Array.from({ length: 17 }, (_, i) => ({ ...BATCH.records[0]!, name: `r-${i}` })),
    };
    expect(encodeRoomBatchFast(many)).toBeDefined(); // array16 of records
    expectSameAsGeneral(many);
    expect(decodeMessage(encodeMessage(many))).toEqual({ ok: true, message: many });
  });

  it('writes -0 as 0, as the general path does', () => {
    const message = withRecord({ numParticipants: -0 });
    expect(encodeRoomBatchFast(message)).toBeDefined();
    expectSameAsGeneral(message);
  });

  it('declines every rule breach, which the general path then names', () => {
    const breaches: RoomBatchMessage[] = [
      withRecord({ sid: 'RM_0bcdefghijkm' }), // '0' is not in the alphabet
      withRecord({ name: '' }),
      withRecord({ name: 'n'.repeat(257) }), // over ROOM_NAME_BYTES_MAX
      withRecord({ creator: 'c'.repeat(129) }), // over NODE_ID_BYTES_MAX
      withRecord({ settingsAt: 0 }), // with a settingsBy
      withRecord({ statsAt: 5 }), // without a statsBy
      withRecord({ deletedAt: 5 }), // without a deletedBy
      withRecord({ emptyTimeoutS: 2 ** 32 }),
      withRecord({ createdAt: 2 ** 53 }), // over HLC_STAMP_MAX
      withRecord({ maxParticipants: 1.5 }),
      withRecord({ numPublishers: -1 }),
      withRecord({ numParticipants: Number.NaN }),
      withRecord({ activeRecording: 1 }),
      withRecord({ metadata: undefined }),
      withRecord({ homeRegion: 7 }),
      { ...BATCH, records: [] },
      { ...BATCH, origin: '' },
      { ...BATCH, seq: -1 },
      { ...BATCH, records: [null as unknown as RoomRecord] },
      { ...BATCH, records: 'no' as unknown as RoomRecord[] },
    ];
    for (const message of breaches) {
      expect(encodeRoomBatchFast(message)).toBeUndefined();
      expect(() => encodeMessageGeneral(message)).toThrow(EncodeError);
      expectSameAsGeneral(message);
    }
  });

  it('declines what it does not write itself, which the general path then writes', () => {
    for (const message of [
      withRecord({ name: 'salle-é' }),
      withRecord({ metadata: '{"emoji":"😀"}' }),
      { ...BATCH, origin: 'nœud-1' },
    ]) {
      expect(encodeRoomBatchFast(message)).toBeUndefined();
      expectSameAsGeneral(message);
      expect(decodeMessage(encodeMessage(message))).toEqual({ ok: true, message });
    }
  });

  it('declines a batch over MESSAGE_BYTES_MAX, which the general path refuses', () => {
    const big = 'm'.repeat(60_000);
    const records = Array.from({ length: Math.ceil(MESSAGE_BYTES_MAX / 60_000) + 1 }, (_, i) => ({
      ...BATCH.records[0]!,
      name: `r-${i}`,
      metadata: big,
    }));
    const message: RoomBatchMessage = { ...BATCH, records };
    expect(encodeRoomBatchFast(message)).toBeUndefined();
    expect(encodeOutcome(() => encodeMessage(message))).toMatchObject({
      ok: false,
      code: 'too-large',
    });
    expectSameAsGeneral(message);
  });

  it('never throws, whatever it is given', () => {
    const hostile = {
      ...BATCH,
      get records(): RoomRecord[] {
        throw new Error('a getter that throws');
      },
    };
    expect(encodeRoomBatchFast(hostile)).toBeUndefined();
  });
});
