/**
 * Greedy packing of records into message-sized groups, for room-batch/replicate batches and
 * sync-bucket-records frames (DESIGN.md section 7, P6).
 */
import { estimateRecordBytes } from './record-codec.js';
import type { RoomRecord } from './room-record.js';

/**
 * Splits `records` (in order) into consecutive groups whose estimated encoded bytes
 * (estimateRecordBytes, exact for valid records) sum to at most `bytesMax` and that hold at
 * most `recordsMax` records. Use the budgets of limits.ts: BATCH_RECORD_BYTES_MAX with
 * BATCH_RECORDS_MAX, or FRAME_RECORD_BYTES_MAX with FRAME_RECORDS_MAX; they leave room for
 * the envelope, so every group encodes within its message limit.
 *
 * Throws RangeError (a programming error) for budgets below 1, or for a record larger than
 * `bytesMax`: with the budgets above that cannot happen, since RECORD_BYTES_MAX is far below.
 */
export function splitIntoFrames(
  records: readonly RoomRecord[],
  bytesMax: number,
  recordsMax: number,
): RoomRecord[][] {
  if (!(Number.isInteger(bytesMax) && bytesMax >= 1)) {
    throw new RangeError(`bytesMax must be a positive integer, got ${bytesMax}`);
  }
  if (!(Number.isInteger(recordsMax) && recordsMax >= 1)) {
    throw new RangeError(`recordsMax must be a positive integer, got ${recordsMax}`);
  }
  const frames: RoomRecord[][] = [];
  let frame: RoomRecord[] = [];
  let frameBytes = 0;
  for (const record of records) {
    const bytes = estimateRecordBytes(record);
    if (bytes > bytesMax) {
      throw new RangeError(`a record of ${bytes} bytes cannot fit in frames of ${bytesMax} bytes`);
    }
    if (frame.length === recordsMax || frameBytes + bytes > bytesMax) {
      frames.push(frame);
      frame = [];
      frameBytes = 0;
    }
    frame.push(record);
    frameBytes += bytes;
  }
  if (frame.length > 0) frames.push(frame);
  return frames;
}
