/** Shared by the tests of the codec's fast paths (not a test file itself). */
import { EncodeError, type RoomBatchMessage } from '../src/index.js';
import { exampleRecord } from './arbitraries.js';

export const isAscii = (s: unknown): boolean =>
  typeof s === 'string' && [...s].every((c) => c.charCodeAt(0) < 0x80);

/** Whether every string of the batch is ASCII (the fast paths' subset). */
export function allAscii(message: RoomBatchMessage): boolean {
  return (
    isAscii(message.origin) &&
    message.records.every((r) =>
      [
        r.name,
        r.creator,
        r.homeRegion,
        r.settingsBy,
        r.metadata,
        r.pinnedNode,
        r.statsBy,
        r.deletedBy,
      ].every(isAscii),
    )
  );
}

/** A batch as a node sends it: short node ids, one record with 300 B of metadata. */
export const BATCH: RoomBatchMessage = {
  type: 'room-batch',
  origin: 'usw-1',
  seq: 41,
  sentAt: 7_750_000_000_000_000,
  records: [
    exampleRecord({ creator: 'usw-1', settingsBy: 'usw-1' }),
    exampleRecord({
      name: 'room-b',
      sid: 'RM_abcdefghijkm',
      creator: 'usw-1',
      settingsBy: 'usw-1',
      metadata: 'x'.repeat(300),
    }),
  ],
};

/** What an encoder returns, as a value: the bytes in hex, or the EncodeError's code, field
 *  and text. */
export function encodeOutcome(encode: () => Uint8Array): unknown {
  try {
    return { ok: true, bytes: Buffer.from(encode()).toString('hex') };
  } catch (error) {
    if (!(error instanceof EncodeError)) throw error;
    const { code, field, message } = error;
    return { ok: false, code, field, message };
  }
}
