/**
 * The fast path of encodeMessage for a sync-cell-summaries frame: what a node serving an
 * anti-entropy session writes for every record of every differing cell (up to
 * SUMMARY_ENTRIES_MAX entries a frame). The general path builds a tuple per entry, decodes
 * the envelope again to check it and has msgpackr write it: in a CPU profile of a node
 * filling from 500k to 600k rooms, 10.6% of its samples of the 21.4% spent serving summaries.
 * This path checks each entry as it sizes the frame and writes one buffer of the exact size.
 *
 * Contract (as room-batch-encode.ts): for any message it returns undefined (declined, to the
 * general path, which throws the EncodeError naming the field) or exactly the bytes the
 * general path returns. It never throws. test/cell-summaries-encode.test.ts checks it.
 */
import {
  BUCKET_COUNT_MAX,
  CELLS_PER_BUCKET,
  HASH_WORD_MAX,
  SUMMARY_ENTRIES_MAX,
} from './limits.js';
import {
  MESSAGE_TYPE_CODES,
  type SyncCellSummariesMessage,
  type SyncCellSummaryEntry,
} from './messages.js';
import {
  arrayHeaderSize,
  encodeExact,
  envelopeStartSize,
  uintSize,
  writeArrayHeader,
  writeEnvelopeStart,
  writeString,
  writeUint,
} from './msgpack-write.js';
import { isValidSid, SID_LENGTH } from './sid.js';

/** Elements of the envelope: version, type, entries, done. */
const ENVELOPE_LENGTH = 4;
/** Elements of an entry: bucket, cell, sid, hashHi, hashLo. */
const ENTRY_LENGTH = 5;
const TYPE_CODE = MESSAGE_TYPE_CODES['sync-cell-summaries'];

/** The frame's bytes, or undefined to leave it to the general path. */
export function encodeCellSummariesFast(message: SyncCellSummariesMessage): Uint8Array | undefined {
  return encodeExact(
    () => sizeOf(message),
    (out) => {
      let pos = writeEnvelopeStart(out, ENVELOPE_LENGTH, TYPE_CODE);
      const entries = message.entries;
      pos = writeArrayHeader(out, pos, entries.length);
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!;
        pos = writeArrayHeader(out, pos, ENTRY_LENGTH);
        pos = writeUint(out, pos, e.bucket);
        pos = writeUint(out, pos, e.cell);
        pos = writeString(out, pos, e.sid);
        pos = writeUint(out, pos, e.hashHi);
        pos = writeUint(out, pos, e.hashLo);
      }
      out[pos++] = message.done ? 0xc3 : 0xc2;
      return pos;
    },
  );
}

/** Encoded bytes of the frame, or -1 when this path declines it. */
function sizeOf(message: SyncCellSummariesMessage): number {
  const start = envelopeStartSize(ENVELOPE_LENGTH, TYPE_CODE);
  if (start < 0) return -1;
  const entries: unknown = message.entries;
  if (!Array.isArray(entries) || entries.length > SUMMARY_ENTRIES_MAX) return -1;
  if (typeof message.done !== 'boolean') return -1;
  let size = start + arrayHeaderSize(entries.length) + 1;
  for (let i = 0; i < entries.length; i++) {
    const entry = entrySize(entries[i]);
    if (entry < 0) return -1;
    size += entry;
  }
  return size;
}

/** Encoded bytes of one entry, or -1: the rules of the decoder's cellSummaryEntries. */
function entrySize(value: unknown): number {
  if (typeof value !== 'object' || value === null) return -1;
  const e = value as SyncCellSummaryEntry;
  if (!isValidSid(e.sid)) return -1;
  const bucket = uintSize(e.bucket, BUCKET_COUNT_MAX - 1);
  const cell = uintSize(e.cell, CELLS_PER_BUCKET - 1);
  const hashHi = uintSize(e.hashHi, HASH_WORD_MAX);
  const hashLo = uintSize(e.hashLo, HASH_WORD_MAX);
  // Each size is -1 or a small positive integer: one OR tells whether any is -1.
  if ((bucket | cell | hashHi | hashLo) < 0) return -1;
  return arrayHeaderSize(ENTRY_LENGTH) + bucket + cell + 1 + SID_LENGTH + hashHi + hashLo;
}
