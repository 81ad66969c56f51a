export { detachString } from './detach-string.js';
export {
  DecodeError,
  type DecodeErrorCode,
  EncodeError,
  type EncodeErrorCode,
} from './errors.js';
export { splitIntoFrames } from './frames.js';
export * from './hlc.js';
export * from './limits.js';
export {
  type DecodeResult,
  decodeMessage,
  encodeMessage,
  encodeMessageGeneral,
} from './message-codec.js';
export * from './messages.js';
export {
  checkRecord,
  estimateRecordBytes,
  RECORD_FIELDS,
  type RoomRecordTuple,
  recordFromTuple,
  recordToTuple,
} from './record-codec.js';
export type { RoomRecord } from './room-record.js';
export { isValidSid, SID_ALPHABET, SID_LENGTH, SID_PREFIX, SID_RANDOM_CHARS } from './sid.js';
export {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_TYPE_CODE,
  type Snapshot,
  type SnapshotDecodeResult,
  type SnapshotInit,
} from './snapshot-codec.js';
export { utf8ByteLength } from './utf8.js';
