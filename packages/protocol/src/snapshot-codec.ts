/**
 * Snapshot files: a node's whole store, written optionally to local disk and read back at
 * start (DESIGN.md P8: a node must also start fine without one). Same envelope as a message,
 * `[PROTOCOL_VERSION, SNAPSHOT_TYPE_CODE, nodeId, takenAt, [record tuple, ...]]`, with its own
 * larger limits (SNAPSHOT_BYTES_MAX, SNAPSHOT_RECORDS_MAX) and the same typed-error contract:
 * a file is validated as untrusted input, since disks and older builds corrupt files too.
 *
 * Records are encoded and decoded a group at a time, so neither side ever holds a second
 * full-size copy of the record tuples (10M records as tuples would be gigabytes).
 */
import { asDecodeError, DecodeError, EncodeError, toEncodeError } from './errors.js';
import { readInt, readString } from './field-readers.js';
import {
  HLC_STAMP_MAX,
  NODE_ID_BYTES_MAX,
  SNAPSHOT_BYTES_MAX,
  SNAPSHOT_RECORDS_MAX,
} from './limits.js';
import { PROTOCOL_VERSION } from './messages.js';
import { packValue, unpackRange } from './msgpack-codec.js';
import { readArrayHeader, readSmallUint, skipValue } from './msgpack-scan.js';
import { arrayHeaderBytes } from './msgpack-sizes.js';
import {
  checkRecordTuple,
  estimateRecordBytes,
  type RoomRecordTuple,
  recordFromTuple,
  recordToTuple,
} from './record-codec.js';
import type { RoomRecord } from './room-record.js';
import { findLoneSurrogate } from './utf8.js';

/** Envelope type code of a snapshot; decodeMessage() reports it as 'unknown-type'. */
export const SNAPSHOT_TYPE_CODE = 100;

/** Envelope elements: version, type, nodeId, takenAt, records. */
const SNAPSHOT_FIELDS = 5;

/** Records are packed in groups of about this many bytes: 1 MiB keeps msgpackr's scratch
 * buffer (it grows to 4x the largest value packed) at a few MiB after a snapshot. */
const GROUP_BYTES = 1024 * 1024;

export interface Snapshot {
  /** Node that wrote the snapshot. */
  nodeId: string;
  /** Packed HLC (hlc.ts) of the moment the snapshot was taken. */
  takenAt: number;
  records: RoomRecord[];
}

/** What encodeSnapshot() takes: any iterable of records, e.g. a generator over the store. */
export interface SnapshotInit {
  nodeId: string;
  takenAt: number;
  records: Iterable<RoomRecord>;
}

export type SnapshotDecodeResult =
  | { ok: true; snapshot: Snapshot }
  | { ok: false; error: DecodeError };

function readNodeId(value: unknown): string {
  return readString(value, 'nodeId', NODE_ID_BYTES_MAX, 'NODE_ID_BYTES_MAX', false);
}

function checkNodeIdForEncode(value: string): string {
  const nodeId = readNodeId(value);
  if (findLoneSurrogate(nodeId) !== null) {
    throw new EncodeError(
      'schema',
      'nodeId',
      'holds a lone UTF-16 surrogate (not encodable as UTF-8)',
    );
  }
  return nodeId;
}

function readTakenAt(value: unknown): number {
  return readInt(value, 'takenAt', 0, HLC_STAMP_MAX, 'HLC_STAMP_MAX');
}

function tooLarge(bytes: number): EncodeError {
  return new EncodeError(
    'too-large',
    '',
    `snapshot of ${bytes}+ bytes, over SNAPSHOT_BYTES_MAX (${SNAPSHOT_BYTES_MAX})`,
  );
}

/**
 * Encodes a snapshot. Throws EncodeError when a record is invalid ('schema'/'limit', field
 * `records[i].x`), there are more than SNAPSHOT_RECORDS_MAX records ('limit') or the result
 * would exceed SNAPSHOT_BYTES_MAX ('too-large'). Peak memory: about twice the result.
 */
export function encodeSnapshot(init: SnapshotInit): Uint8Array {
  try {
    const head = packValue([
      PROTOCOL_VERSION,
      SNAPSHOT_TYPE_CODE,
      checkNodeIdForEncode(init.nodeId),
      readTakenAt(init.takenAt),
    ]);
    const parts: Uint8Array[] = [];
    let total = head.length + 5; // + array32 header of the record list
    let count = 0;
    let group: RoomRecordTuple[] = [];
    let groupBytes = 0;
    const flush = (): void => {
      if (group.length === 0) return;
      const packed = packValue(group);
      parts.push(packed.subarray(arrayHeaderBytes(group.length))); // keep the tuples only
      total += packed.length - arrayHeaderBytes(group.length);
      group = [];
      groupBytes = 0;
    };
    for (const record of init.records) {
      if (count === SNAPSHOT_RECORDS_MAX) {
        throw new EncodeError(
          'limit',
          'records',
          `more than SNAPSHOT_RECORDS_MAX (${SNAPSHOT_RECORDS_MAX}) records`,
        );
      }
      const tuple = recordToTuple(record);
      try {
        checkRecordTuple(tuple);
      } catch (error) {
        if (error instanceof DecodeError) throw error.withPrefix(`records[${count}]`);
        throw error;
      }
      group.push(tuple);
      groupBytes += estimateRecordBytes(record);
      count += 1;
      if (total + groupBytes > SNAPSHOT_BYTES_MAX) throw tooLarge(total + groupBytes);
      if (groupBytes >= GROUP_BYTES) flush();
    }
    flush();
    if (total > SNAPSHOT_BYTES_MAX) throw tooLarge(total);
    const out = new Uint8Array(total);
    out.set(head, 0);
    out[0] = 0x90 | SNAPSHOT_FIELDS; // head was packed as a fixarray of 4
    let pos = head.length;
    out[pos] = 0xdd; // array32: the count is known only at the end
    new DataView(out.buffer).setUint32(pos + 1, count);
    pos += 5;
    for (const part of parts) {
      out.set(part, pos);
      pos += part.length;
    }
    return out;
  } catch (error) {
    throw toEncodeError(error);
  }
}

/** Decodes a snapshot. Never throws: any input gives a snapshot or a DecodeError. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotDecodeResult {
  try {
    return { ok: true, snapshot: readSnapshot(bytes) };
  } catch (error) {
    return { ok: false, error: asDecodeError(error) };
  }
}

function readSnapshot(bytes: Uint8Array): Snapshot {
  if (!(bytes instanceof Uint8Array)) {
    throw new DecodeError('malformed', '', 'input is not a Uint8Array');
  }
  const end = bytes.length;
  if (end > SNAPSHOT_BYTES_MAX) {
    throw new DecodeError(
      'too-large',
      '',
      `${end} bytes, over SNAPSHOT_BYTES_MAX (${SNAPSHOT_BYTES_MAX})`,
    );
  }
  const envelope = readArrayHeader(bytes, 0, end);
  if (envelope.count < 2) {
    throw new DecodeError('malformed', '', 'envelope has no version and type');
  }
  const version = readSmallUint(bytes, envelope.next, end);
  if (version.value < 0) throw new DecodeError('malformed', '', 'version is not a uint32');
  if (version.value !== PROTOCOL_VERSION) {
    throw new DecodeError('version', '', `version ${version.value}, expected ${PROTOCOL_VERSION}`);
  }
  const type = readSmallUint(bytes, version.next, end);
  if (type.value < 0) throw new DecodeError('malformed', '', 'type code is not a uint32');
  if (type.value !== SNAPSHOT_TYPE_CODE) {
    throw new DecodeError('unknown-type', '', `type code ${type.value} is not a snapshot`);
  }
  if (envelope.count !== SNAPSHOT_FIELDS) {
    throw new DecodeError(
      'schema',
      '',
      `expected ${SNAPSHOT_FIELDS} elements, got ${envelope.count}`,
    );
  }
  let pos = type.next;
  let next = skipValue(bytes, pos, end, 0);
  const nodeId = readNodeId(unpackRange(bytes, pos, next));
  pos = next;
  next = skipValue(bytes, pos, end, 0);
  const takenAt = readTakenAt(unpackRange(bytes, pos, next));
  pos = next;
  const list = readArrayHeader(bytes, pos, end);
  if (list.count > SNAPSHOT_RECORDS_MAX) {
    throw new DecodeError(
      'limit',
      'records',
      `${list.count} records, over SNAPSHOT_RECORDS_MAX (${SNAPSHOT_RECORDS_MAX})`,
    );
  }
  pos = list.next;
  if (list.count > end - pos) {
    throw new DecodeError(
      'malformed',
      '',
      `array of ${list.count} exceeds the input at byte ${pos}`,
    );
  }
  const records = new Array<RoomRecord>(list.count);
  for (let i = 0; i < list.count; i++) {
    next = skipValue(bytes, pos, end, 1); // a record tuple holds scalars only
    try {
      records[i] = recordFromTuple(unpackRange(bytes, pos, next));
    } catch (error) {
      if (error instanceof DecodeError) throw error.withPrefix(`records[${i}]`);
      throw error;
    }
    pos = next;
  }
  if (pos !== end) {
    throw new DecodeError('malformed', '', `${end - pos} trailing bytes at byte ${pos}`);
  }
  return { nodeId, takenAt, records };
}
