/**
 * RoomRecord <-> positional tuple, with validation (docs/protocol/wire-format.md, "Record
 * tuple"). A tuple has no map keys, so it is compact (a typical record is ~150-250 B) and
 * gives `__proto__` or any other room name nothing to collide with.
 */
import { detachString } from './detach-string.js';
import { DecodeError } from './errors.js';
import { readBool, readInt, readSid, readString, readTuple, schemaError } from './field-readers.js';
import {
  DEPARTURE_TIMEOUT_S_MAX,
  EMPTY_TIMEOUT_S_MAX,
  HLC_STAMP_MAX,
  MAX_PARTICIPANTS_MAX,
  NODE_ID_BYTES_MAX,
  PARTICIPANTS_MAX,
  REGION_BYTES_MAX,
  ROOM_METADATA_BYTES_MAX,
  ROOM_NAME_BYTES_MAX,
} from './limits.js';
import { arrayHeaderBytes, strBytes, uintBytes } from './msgpack-sizes.js';
import type { RoomRecord } from './room-record.js';
import { findLoneSurrogate, utf8ByteLength } from './utf8.js';

/** The tuple layout, in wire order. Any change to it is a new PROTOCOL_VERSION. */
export const RECORD_FIELDS = [
  'name',
  'sid',
  'createdAt',
  'creator',
  'homeRegion',
  'settingsAt',
  'settingsBy',
  'emptyTimeoutS',
  'departureTimeoutS',
  'maxParticipants',
  'metadata',
  'pinnedNode',
  'statsAt',
  'statsBy',
  'numParticipants',
  'numPublishers',
  'activeRecording',
  'everOccupied',
  'deletedAt',
  'deletedBy',
] as const satisfies readonly (keyof RoomRecord)[];

export type RoomRecordTuple = [
  name: string,
  sid: string,
  createdAt: number,
  creator: string,
  homeRegion: string,
  settingsAt: number,
  settingsBy: string,
  emptyTimeoutS: number,
  departureTimeoutS: number,
  maxParticipants: number,
  metadata: string,
  pinnedNode: string,
  statsAt: number,
  statsBy: string,
  numParticipants: number,
  numPublishers: number,
  activeRecording: boolean,
  everOccupied: boolean,
  deletedAt: number,
  deletedBy: string,
];

const FIELD_COUNT = RECORD_FIELDS.length;

/** The record's fields in wire order. Does not validate: encoders validate the tuple. */
export function recordToTuple(record: RoomRecord): RoomRecordTuple {
  return [
    record.name,
    record.sid,
    record.createdAt,
    record.creator,
    record.homeRegion,
    record.settingsAt,
    record.settingsBy,
    record.emptyTimeoutS,
    record.departureTimeoutS,
    record.maxParticipants,
    record.metadata,
    record.pinnedNode,
    record.statsAt,
    record.statsBy,
    record.numParticipants,
    record.numPublishers,
    record.activeRecording,
    record.everOccupied,
    record.deletedAt,
    record.deletedBy,
  ];
}

const stamp = (value: unknown, field: string): number =>
  readInt(value, field, 0, HLC_STAMP_MAX, 'HLC_STAMP_MAX');

const nodeId = (value: unknown, field: string, allowEmpty: boolean): string =>
  readString(value, field, NODE_ID_BYTES_MAX, 'NODE_ID_BYTES_MAX', allowEmpty);

/** A version stamp of 0 means "never written", and only then is its writer ''. */
function checkStampPair(at: number, by: string, atField: string, byField: string): void {
  if ((at === 0) !== (by === '')) {
    schemaError(byField, `${atField} ${at} and ${byField} '${by}': set both or neither`);
  }
}

/**
 * A fresh, validated RoomRecord from a decoded tuple. Throws DecodeError naming the field.
 * Its name, sid and metadata share memory with no other string (detach-string.ts: msgpackr
 * hands out a string of 13 or more characters as a slice of up to 6 KB of the message), so
 * a store may keep the record itself (RoomStore.merge's `adopt`); its node ids and regions
 * are short strings a store interns.
 *
 * Rules beyond types and limits: sid format; name, creator and homeRegion non-empty; every
 * HLC stamp a non-negative safe integer; `xxxAt` is 0 exactly when `xxxBy` is '' for the
 * settings, stats and tombstone groups (deletedAt 0 <=> deletedBy '').
 */
export function recordFromTuple(value: unknown): RoomRecord {
  const t = readTuple(value, '', FIELD_COUNT);
  const record: RoomRecord = {
    name: detachString(readString(t[0], 'name', ROOM_NAME_BYTES_MAX, 'ROOM_NAME_BYTES_MAX', false)),
    sid: detachString(readSid(t[1], 'sid')),
    createdAt: stamp(t[2], 'createdAt'),
    creator: nodeId(t[3], 'creator', false),
    homeRegion: readString(t[4], 'homeRegion', REGION_BYTES_MAX, 'REGION_BYTES_MAX', false),
    settingsAt: stamp(t[5], 'settingsAt'),
    settingsBy: nodeId(t[6], 'settingsBy', true),
    emptyTimeoutS: readInt(t[7], 'emptyTimeoutS', 0, EMPTY_TIMEOUT_S_MAX, 'EMPTY_TIMEOUT_S_MAX'),
    departureTimeoutS: readInt(
      t[8],
      'departureTimeoutS',
      0,
      DEPARTURE_TIMEOUT_S_MAX,
      'DEPARTURE_TIMEOUT_S_MAX',
    ),
    maxParticipants: readInt(
      t[9],
      'maxParticipants',
      0,
      MAX_PARTICIPANTS_MAX,
      'MAX_PARTICIPANTS_MAX',
    ),
    metadata: detachString(
      readString(t[10], 'metadata', ROOM_METADATA_BYTES_MAX, 'ROOM_METADATA_BYTES_MAX', true),
    ),
    pinnedNode: nodeId(t[11], 'pinnedNode', true),
    statsAt: stamp(t[12], 'statsAt'),
    statsBy: nodeId(t[13], 'statsBy', true),
    numParticipants: readInt(t[14], 'numParticipants', 0, PARTICIPANTS_MAX, 'PARTICIPANTS_MAX'),
    numPublishers: readInt(t[15], 'numPublishers', 0, PARTICIPANTS_MAX, 'PARTICIPANTS_MAX'),
    activeRecording: readBool(t[16], 'activeRecording'),
    everOccupied: readBool(t[17], 'everOccupied'),
    deletedAt: stamp(t[18], 'deletedAt'),
    deletedBy: nodeId(t[19], 'deletedBy', true),
  };
  checkStampPair(record.settingsAt, record.settingsBy, 'settingsAt', 'settingsBy');
  checkStampPair(record.statsAt, record.statsBy, 'statsAt', 'statsBy');
  checkStampPair(record.deletedAt, record.deletedBy, 'deletedAt', 'deletedBy');
  return record;
}

/** Validates a list of record tuples, prefixing errors with `field[i]`. */
export function recordsFromTuples(list: readonly unknown[], field: string): RoomRecord[] {
  const records = new Array<RoomRecord>(list.length);
  for (let i = 0; i < list.length; i++) {
    try {
      records[i] = recordFromTuple(list[i]);
    } catch (error) {
      if (error instanceof DecodeError) throw error.withPrefix(`${field}[${i}]`);
      throw error;
    }
  }
  return records;
}

/**
 * Throws DecodeError when `record` would not survive the wire (limits, formats, pairings):
 * the check encodeMessage() and encodeSnapshot() run. The store can run it on records it
 * builds from API input.
 */
export function checkRecord(record: RoomRecord): void {
  checkRecordTuple(recordToTuple(record));
}

/** Validates a tuple about to be encoded: the decoder's rules, plus well-formed strings. */
export function checkRecordTuple(tuple: RoomRecordTuple): void {
  recordFromTuple(tuple);
  const surrogate = findLoneSurrogate(tuple);
  if (surrogate !== null) {
    schemaError(
      RECORD_FIELDS[surrogate[0]!]!,
      'holds a lone UTF-16 surrogate (not encodable as UTF-8)',
    );
  }
}

/** Bytes of a string field; a lone surrogate is written as 3 bytes, as msgpackr does. */
function stringBytes(value: string): number {
  const bytes = utf8ByteLength(value);
  return strBytes(bytes < 0 ? value.length * 3 : bytes);
}

/**
 * Encoded size of a record tuple in bytes: exact for a valid record as our Packr writes it
 * (an upper bound for one with bad numbers); never above RECORD_BYTES_MAX for a valid record.
 * Costs one pass over the record's strings (~0.1 us for a typical record), no encoding.
 * For batching and splitIntoFrames().
 */
export function estimateRecordBytes(record: RoomRecord): number {
  return (
    arrayHeaderBytes(FIELD_COUNT) +
    stringBytes(record.name) +
    stringBytes(record.sid) +
    uintBytes(record.createdAt) +
    stringBytes(record.creator) +
    stringBytes(record.homeRegion) +
    uintBytes(record.settingsAt) +
    stringBytes(record.settingsBy) +
    uintBytes(record.emptyTimeoutS) +
    uintBytes(record.departureTimeoutS) +
    uintBytes(record.maxParticipants) +
    stringBytes(record.metadata) +
    stringBytes(record.pinnedNode) +
    uintBytes(record.statsAt) +
    stringBytes(record.statsBy) +
    uintBytes(record.numParticipants) +
    uintBytes(record.numPublishers) +
    2 + // activeRecording, everOccupied
    uintBytes(record.deletedAt) +
    stringBytes(record.deletedBy)
  );
}
