/**
 * The fast path of decodeMessage for a room-batch, the message that carries every room change
 * to every node (a node of a 5-node cluster decodes 4 records for each one it creates).
 *
 * The general path pre-scans the bytes, has msgpackr build an array per record (and a slice
 * of one shared parent string for every string of 13 or more characters), then validates
 * those arrays into fresh records: about 0.8 KB allocated per record received, measured with
 * V8's sampling heap profiler in a node of the cluster benchmark. This path reads the bytes
 * once, straight into the same records, as our encoder writes them: fixarray/array16
 * headers, fixint/uint8/uint16/uint32/float64 integers, fixstr/str8/str16 ASCII strings,
 * booleans. It allocates the record, its name and its sid (flat strings of their own, no
 * parent), and nothing for the short strings every record repeats (node ids, regions): those
 * come from a small cache of decoded strings, the same string object each time.
 *
 * Contract: for any input, it returns either undefined (declined) or exactly the message the
 * general path returns. It declines anything outside that subset or outside a rule (another
 * encoder's int64, a non-ASCII name, a length over a limit, a bad sid, trailing bytes), and
 * the general path then decodes it or names the error. It never throws.
 * test/room-batch-fast.test.ts checks the contract on valid, mutated and random input.
 */
import { Buffer } from 'node:buffer';
import {
  BATCH_RECORDS_MAX,
  DEPARTURE_TIMEOUT_S_MAX,
  EMPTY_TIMEOUT_S_MAX,
  HLC_STAMP_MAX,
  MAX_PARTICIPANTS_MAX,
  NODE_ID_BYTES_MAX,
  PARTICIPANTS_MAX,
  REGION_BYTES_MAX,
  ROOM_METADATA_BYTES_MAX,
  ROOM_NAME_BYTES_MAX,
  SEQ_MAX,
} from './limits.js';
import type { RoomBatchMessage } from './messages.js';
import type { RoomRecord } from './room-record.js';
import { SID_ALPHABET, SID_LENGTH, SID_PREFIX } from './sid.js';

/** Elements of a record tuple (record-codec.ts RECORD_FIELDS). */
const RECORD_TUPLE_LENGTH = 20;
/** Elements of the room-batch envelope: version, type, origin, seq, sentAt, records. */
const ENVELOPE_LENGTH = 6;

/** Strings of at most this many bytes go through the cache (node ids, regions). */
const SHARED_STRING_BYTES_MAX = 64;
/** Cached strings at most: ~64 B each, so under 100 KiB. Past it, strings are allocated. */
export const SHARED_STRINGS_MAX = 1_024;

/** 1 for a byte of the sid alphabet (all ASCII). */
const SID_BYTES = new Uint8Array(128);
for (let i = 0; i < SID_ALPHABET.length; i++) SID_BYTES[SID_ALPHABET.charCodeAt(i)] = 1;
const SID_PREFIX_0 = SID_PREFIX.charCodeAt(0);
const SID_PREFIX_1 = SID_PREFIX.charCodeAt(1);
const SID_PREFIX_2 = SID_PREFIX.charCodeAt(2);

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

/** The input being read, one message at a time (decoding never re-enters). */
let src: Uint8Array = EMPTY;
let view: Buffer = EMPTY_BUFFER;
let pos = 0;
let end = 0;

/** Decoded short strings by a hash of their bytes (see sharedString). */
const shared = new Map<number, string>();

/**
 * The room-batch in `bytes`, or undefined to leave it to the general path. `start` is where
 * the envelope's third element (origin) begins: the caller has read the envelope header
 * (`count` elements), the version and the type code.
 */
export function decodeRoomBatchFast(
  bytes: Uint8Array,
  count: number,
  start: number,
): RoomBatchMessage | undefined {
  if (count !== ENVELOPE_LENGTH) return undefined;
  src = bytes;
  view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = start;
  end = bytes.length;
  try {
    const origin = str(NODE_ID_BYTES_MAX, false, true);
    if (origin === undefined) return undefined;
    const seq = uint(SEQ_MAX);
    if (seq < 0) return undefined;
    const sentAt = uint(HLC_STAMP_MAX);
    if (sentAt < 0) return undefined;
    const length = arrayHeader();
    if (length < 1 || length > BATCH_RECORDS_MAX) return undefined;
    const records = new Array<RoomRecord>(length);
    for (let i = 0; i < length; i++) {
      const record = readRecord();
      if (record === undefined) return undefined;
      records[i] = record;
    }
    if (pos !== end) return undefined;
    return { type: 'room-batch', origin, seq, sentAt, records };
  } finally {
    // Keep no reference to the message's bytes between calls.
    src = EMPTY;
    view = EMPTY_BUFFER;
  }
}

/** One record tuple, validated as recordFromTuple does, or undefined. */
function readRecord(): RoomRecord | undefined {
  if (arrayHeader() !== RECORD_TUPLE_LENGTH) return undefined;
  const name = str(ROOM_NAME_BYTES_MAX, false, false);
  if (name === undefined) return undefined;
  const sid = sidString();
  if (sid === undefined) return undefined;
  const createdAt = uint(HLC_STAMP_MAX);
  if (createdAt < 0) return undefined;
  const creator = str(NODE_ID_BYTES_MAX, false, true);
  if (creator === undefined) return undefined;
  const homeRegion = str(REGION_BYTES_MAX, false, true);
  if (homeRegion === undefined) return undefined;
  const settingsAt = uint(HLC_STAMP_MAX);
  if (settingsAt < 0) return undefined;
  const settingsBy = str(NODE_ID_BYTES_MAX, true, true);
  if (settingsBy === undefined || (settingsAt === 0) !== (settingsBy === '')) return undefined;
  const emptyTimeoutS = uint(EMPTY_TIMEOUT_S_MAX);
  if (emptyTimeoutS < 0) return undefined;
  const departureTimeoutS = uint(DEPARTURE_TIMEOUT_S_MAX);
  if (departureTimeoutS < 0) return undefined;
  const maxParticipants = uint(MAX_PARTICIPANTS_MAX);
  if (maxParticipants < 0) return undefined;
  const metadata = str(ROOM_METADATA_BYTES_MAX, true, false);
  if (metadata === undefined) return undefined;
  const pinnedNode = str(NODE_ID_BYTES_MAX, true, true);
  if (pinnedNode === undefined) return undefined;
  const statsAt = uint(HLC_STAMP_MAX);
  if (statsAt < 0) return undefined;
  const statsBy = str(NODE_ID_BYTES_MAX, true, true);
  if (statsBy === undefined || (statsAt === 0) !== (statsBy === '')) return undefined;
  const numParticipants = uint(PARTICIPANTS_MAX);
  if (numParticipants < 0) return undefined;
  const numPublishers = uint(PARTICIPANTS_MAX);
  if (numPublishers < 0) return undefined;
  const activeRecording = bool();
  if (activeRecording < 0) return undefined;
  const everOccupied = bool();
  if (everOccupied < 0) return undefined;
  const deletedAt = uint(HLC_STAMP_MAX);
  if (deletedAt < 0) return undefined;
  const deletedBy = str(NODE_ID_BYTES_MAX, true, true);
  if (deletedBy === undefined || (deletedAt === 0) !== (deletedBy === '')) return undefined;
  // The same keys in the same order as recordFromTuple's literal (one object shape).
  return {
    name,
    sid,
    createdAt,
    creator,
    homeRegion,
    settingsAt,
    settingsBy,
    emptyTimeoutS,
    departureTimeoutS,
    maxParticipants,
    metadata,
    pinnedNode,
    statsAt,
    statsBy,
    numParticipants,
    numPublishers,
    activeRecording: activeRecording === 1,
    everOccupied: everOccupied === 1,
    deletedAt,
    deletedBy,
  };
}

/** A fixarray or array16 header's element count, or -1. */
function arrayHeader(): number {
  if (pos >= end) return -1;
  const token = src[pos]!;
  if (token >= 0x90 && token <= 0x9f) {
    pos += 1;
    return token & 0x0f;
  }
  if (token === 0xdc && end - pos >= 3) {
    const count = (src[pos + 1]! << 8) | src[pos + 2]!;
    pos += 3;
    return count;
  }
  return -1;
}

/**
 * An integer in [0, max] as readInt accepts it (-0 read as 0), in one of the forms our
 * encoder writes (fixint, uint8/16/32, float64 for integers past 2^32), or -1.
 */
function uint(max: number): number {
  if (pos >= end) return -1;
  const token = src[pos]!;
  let value: number;
  if (token <= 0x7f) {
    value = token;
    pos += 1;
  } else if (token === 0xcc && end - pos >= 2) {
    value = src[pos + 1]!;
    pos += 2;
  } else if (token === 0xcd && end - pos >= 3) {
    value = (src[pos + 1]! << 8) | src[pos + 2]!;
    pos += 3;
  } else if (token === 0xce && end - pos >= 5) {
    value =
      src[pos + 1]! * 0x100_0000 + ((src[pos + 2]! << 16) | (src[pos + 3]! << 8) | src[pos + 4]!);
    pos += 5;
  } else if (token === 0xcb && end - pos >= 9) {
    value = view.readDoubleBE(pos + 1);
    if (!Number.isInteger(value)) return -1;
    pos += 9;
  } else {
    return -1;
  }
  if (value < 0 || value > max) return -1;
  return value === 0 ? 0 : value;
}

/** 1 for true, 0 for false, -1 for anything else. */
function bool(): number {
  if (pos >= end) return -1;
  const token = src[pos]!;
  if (token !== 0xc2 && token !== 0xc3) return -1;
  pos += 1;
  return token === 0xc3 ? 1 : 0;
}

/**
 * An ASCII string of at most `bytesMax` bytes (empty only when `allowEmpty`), as readString
 * accepts it, or undefined. ASCII only: one byte per UTF-16 unit, so the byte count is the
 * limit readString applies; other UTF-8 goes the general way. `cached`: a short string
 * every record repeats (node id, region).
 */
function str(bytesMax: number, allowEmpty: boolean, cached: boolean): string | undefined {
  if (pos >= end) return undefined;
  const token = src[pos]!;
  let length: number;
  let start: number;
  if (token >= 0xa0 && token <= 0xbf) {
    length = token & 0x1f;
    start = pos + 1;
  } else if (token === 0xd9 && end - pos >= 2) {
    length = src[pos + 1]!;
    start = pos + 2;
  } else if (token === 0xda && end - pos >= 3) {
    length = (src[pos + 1]! << 8) | src[pos + 2]!;
    start = pos + 3;
  } else {
    return undefined;
  }
  const stop = start + length;
  if (stop > end || length > bytesMax) return undefined;
  if (length === 0) {
    if (!allowEmpty) return undefined;
    pos = stop;
    return '';
  }
  for (let i = start; i < stop; i++) if (src[i]! >= 0x80) return undefined;
  pos = stop;
  if (cached && length <= SHARED_STRING_BYTES_MAX) return sharedString(start, stop);
  return view.toString('latin1', start, stop);
}

/** A sid ('RM_' + 12 characters of the alphabet, as isValidSid), or undefined. */
function sidString(): string | undefined {
  if (end - pos < 1 + SID_LENGTH || src[pos] !== (0xa0 | SID_LENGTH)) return undefined;
  const start = pos + 1;
  if (
    src[start] !== SID_PREFIX_0 ||
    src[start + 1] !== SID_PREFIX_1 ||
    src[start + 2] !== SID_PREFIX_2
  ) {
    return undefined;
  }
  for (let i = start + SID_PREFIX.length; i < start + SID_LENGTH; i++) {
    const byte = src[i]!;
    if (byte >= 0x80 || SID_BYTES[byte] === 0) return undefined;
  }
  pos = start + SID_LENGTH;
  return view.toString('latin1', start, pos);
}

/**
 * The ASCII string in src[start, stop): the cached one with the same bytes when there is one,
 * else a new one (cached while the cache has room). A hash collision only costs the
 * allocation: the cached string is compared byte by byte before it is returned.
 */
function sharedString(start: number, stop: number): string {
  let hash = 0x811c9dc5 ^ (stop - start);
  for (let i = start; i < stop; i++) hash = Math.imul(hash ^ src[i]!, 0x01000193);
  const key = hash >>> 2; // a small integer key: no string hashed or compared to find it
  const cached = shared.get(key);
  if (cached !== undefined && cached.length === stop - start) {
    let same = true;
    for (let i = 0; i < cached.length; i++) {
      if (cached.charCodeAt(i) !== src[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cached;
  }
  const value = view.toString('latin1', start, stop);
  if (cached === undefined && shared.size < SHARED_STRINGS_MAX) shared.set(key, value);
  return value;
}
