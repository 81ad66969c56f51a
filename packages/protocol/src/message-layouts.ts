/**
 * Positional layouts of every message: `[PROTOCOL_VERSION, typeCode, ...fields]`, fields in
 * the order of docs/protocol/wire-format.md. One function pair per message: to the envelope
 * array (no checks), and from a decoded envelope array to a fresh, validated message.
 */
import { DecodeError, EncodeError } from './errors.js';
import {
  enumCode,
  readBool,
  readBytes,
  readEnum,
  readInt,
  readList,
  readSid,
  readString,
  readTuple,
  schemaError,
} from './field-readers.js';
import {
  BATCH_RECORDS_MAX,
  BUCKET_COUNT_MAX,
  BUCKET_COUNT_MIN,
  CELL_SUMMARY_BUCKETS_MAX,
  CELLS_PER_BUCKET,
  CHECKSUM_BYTES_MAX,
  COUNT_MAX,
  ERROR_MESSAGE_BYTES_MAX,
  FRAME_RECORDS_MAX,
  HASH_WORD_MAX,
  HLC_STAMP_MAX,
  INCARNATION_MAX,
  NODE_ID_BYTES_MAX,
  P2P_ADDR_BYTES_MAX,
  P2P_ADDRS_MAX,
  PEER_ID_BYTES_MAX,
  REGION_BYTES_MAX,
  REQUEST_ID_MAX,
  SEQ_MAX,
  SUMMARY_ENTRIES_MAX,
  SYNC_QUIET_MS_MAX,
  SYNC_SIDS_MAX,
  URL_BYTES_MAX,
  WEIGHT_MAX,
  WEIGHT_MIN,
} from './limits.js';
import {
  MESSAGE_TYPE_CODES as CODES,
  type HeartbeatMessage,
  MEMBER_STATES,
  type Message,
  PROTOCOL_VERSION,
  RPC_ERROR_CODES,
  type SuspectState,
  type SyncCellSummaryEntry,
  type SyncCellSummaryRequestMessage,
  type SyncSummaryEntry,
} from './messages.js';
import { recordsFromTuples, recordToTuple } from './record-codec.js';
import type { RoomRecord } from './room-record.js';

const VERSION = PROTOCOL_VERSION;

// ---------------------------------------------------------------------------------------------
// Shared field readers
// ---------------------------------------------------------------------------------------------

const nodeId = (v: unknown, field: string): string =>
  readString(v, field, NODE_ID_BYTES_MAX, 'NODE_ID_BYTES_MAX', false);
const stamp = (v: unknown, field: string): number =>
  readInt(v, field, 0, HLC_STAMP_MAX, 'HLC_STAMP_MAX');
const seq = (v: unknown, field: string): number => readInt(v, field, 0, SEQ_MAX, 'SEQ_MAX');
const count = (v: unknown, field: string): number => readInt(v, field, 0, COUNT_MAX, 'COUNT_MAX');
const incarnation = (v: unknown, field: string): number =>
  readInt(v, field, 0, INCARNATION_MAX, 'INCARNATION_MAX');
const requestId = (v: unknown): number =>
  readInt(v, 'requestId', 0, REQUEST_ID_MAX, 'REQUEST_ID_MAX');
const checksum = (v: unknown, field: string): string =>
  readString(v, field, CHECKSUM_BYTES_MAX, 'CHECKSUM_BYTES_MAX', true);

function records(v: unknown, countMax: number, limitName: string, countMin: number): RoomRecord[] {
  return recordsFromTuples(readList(v, 'records', countMax, limitName, countMin), 'records');
}

/** Distinct bucket indexes below BUCKET_COUNT_MAX, at most `countMax` of them. */
function buckets(
  v: unknown,
  countMax = BUCKET_COUNT_MAX,
  limitName = 'BUCKET_COUNT_MAX',
): number[] {
  const list = readList(v, 'buckets', countMax, limitName);
  const seen = new Uint8Array(BUCKET_COUNT_MAX); // 64 KiB; sync messages are rare
  const out = new Array<number>(list.length);
  for (let i = 0; i < list.length; i++) {
    const bucket = readInt(list[i], `buckets[${i}]`, 0, BUCKET_COUNT_MAX - 1, 'BUCKET_COUNT_MAX');
    if (seen[bucket] === 1) schemaError(`buckets[${i}]`, `duplicate bucket ${bucket}`);
    seen[bucket] = 1;
    out[i] = bucket;
  }
  return out;
}

/** Distinct valid sids, at most SYNC_SIDS_MAX. */
function sids(v: unknown): string[] {
  const list = readList(v, 'sids', SYNC_SIDS_MAX, 'SYNC_SIDS_MAX');
  const seen = new Set<string>();
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) {
    const sid = readSid(list[i], `sids[${i}]`);
    if (seen.has(sid)) schemaError(`sids[${i}]`, `duplicate sid ${sid}`);
    seen.add(sid);
    out[i] = sid;
  }
  return out;
}

const hashWord = (v: unknown, field: string): number =>
  readInt(v, field, 0, HASH_WORD_MAX, 'HASH_WORD_MAX');

/** Summary entries `[bucket, sid, hashHi, hashLo]`, at most SUMMARY_ENTRIES_MAX. Not
 *  distinct: two names of one bucket may (rarely) hold incarnations with the same sid. */
function summaryEntries(v: unknown): SyncSummaryEntry[] {
  const list = readList(v, 'entries', SUMMARY_ENTRIES_MAX, 'SUMMARY_ENTRIES_MAX');
  const out = new Array<SyncSummaryEntry>(list.length);
  for (let i = 0; i < list.length; i++) {
    const field = `entries[${i}]`;
    const e = readTuple(list[i], field, 4);
    out[i] = {
      bucket: readInt(e[0], `${field}.bucket`, 0, BUCKET_COUNT_MAX - 1, 'BUCKET_COUNT_MAX'),
      sid: readSid(e[1], `${field}.sid`),
      hashHi: hashWord(e[2], `${field}.hashHi`),
      hashLo: hashWord(e[3], `${field}.hashLo`),
    };
  }
  return out;
}

/** Cell summary entries `[bucket, cell, sid, hashHi, hashLo]`, at most SUMMARY_ENTRIES_MAX. */
function cellSummaryEntries(v: unknown): SyncCellSummaryEntry[] {
  const list = readList(v, 'entries', SUMMARY_ENTRIES_MAX, 'SUMMARY_ENTRIES_MAX');
  const out = new Array<SyncCellSummaryEntry>(list.length);
  for (let i = 0; i < list.length; i++) {
    const field = `entries[${i}]`;
    const e = readTuple(list[i], field, 5);
    out[i] = {
      bucket: readInt(e[0], `${field}.bucket`, 0, BUCKET_COUNT_MAX - 1, 'BUCKET_COUNT_MAX'),
      cell: readInt(e[1], `${field}.cell`, 0, CELLS_PER_BUCKET - 1, 'CELLS_PER_BUCKET'),
      sid: readSid(e[2], `${field}.sid`),
      hashHi: hashWord(e[3], `${field}.hashHi`),
      hashLo: hashWord(e[4], `${field}.hashLo`),
    };
  }
  return out;
}

function bucketCount(v: unknown): number {
  const n = readInt(
    v,
    'bucketCount',
    BUCKET_COUNT_MIN,
    BUCKET_COUNT_MAX,
    'BUCKET_COUNT_MIN..BUCKET_COUNT_MAX',
  );
  if ((n & (n - 1)) !== 0) schemaError('bucketCount', `${n} is not a power of two`);
  return n;
}

/** member-suspect uses the heartbeat state codes, limited to suspect (1) and dead (2). */
function suspectState(v: unknown): SuspectState {
  const state = readEnum(v, 'state', MEMBER_STATES);
  if (state !== 'suspect' && state !== 'dead') {
    schemaError('state', `expected suspect (1) or dead (2), got ${state}`);
  }
  return state;
}

/** A heartbeat's 13 fields, from `e[at]` on (heartbeat: at 2; member-entry: at 3). */
function readHeartbeat(e: readonly unknown[], at: number): HeartbeatMessage {
  return {
    type: 'heartbeat',
    nodeId: nodeId(e[at], 'nodeId'),
    region: readString(e[at + 1], 'region', REGION_BYTES_MAX, 'REGION_BYTES_MAX', false),
    incarnation: incarnation(e[at + 2], 'incarnation'),
    state: readEnum(e[at + 3], 'state', MEMBER_STATES),
    weight: readInt(e[at + 4], 'weight', WEIGHT_MIN, WEIGHT_MAX, 'WEIGHT_MIN..WEIGHT_MAX'),
    httpUrl: readString(e[at + 5], 'httpUrl', URL_BYTES_MAX, 'URL_BYTES_MAX', true),
    p2pAddrs: p2pAddrs(e[at + 6]),
    roomCount: count(e[at + 7], 'roomCount'),
    ringChecksum: checksum(e[at + 8], 'ringChecksum'),
    storeDigest: checksum(e[at + 9], 'storeDigest'),
    sentAt: stamp(e[at + 10], 'sentAt'),
    seq: seq(e[at + 11], 'seq'),
    historySinceMs: count(e[at + 12], 'historySinceMs'),
  };
}

/** A heartbeat's fields after version and type (unchecked; the decoder validates). */
function heartbeatFields(m: HeartbeatMessage): unknown[] {
  return [
    m.nodeId,
    m.region,
    m.incarnation,
    enumCode(m.state, 'state', MEMBER_STATES),
    m.weight,
    m.httpUrl,
    m.p2pAddrs,
    m.roomCount,
    m.ringChecksum,
    m.storeDigest,
    m.sentAt,
    m.seq,
    m.historySinceMs,
  ];
}

function p2pAddrs(v: unknown): string[] {
  const list = readList(v, 'p2pAddrs', P2P_ADDRS_MAX, 'P2P_ADDRS_MAX');
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) {
    out[i] = readString(list[i], `p2pAddrs[${i}]`, P2P_ADDR_BYTES_MAX, 'P2P_ADDR_BYTES_MAX', false);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Message -> envelope array (unchecked; encodeMessage validates by decoding the array)
// ---------------------------------------------------------------------------------------------

/** Records as tuples; a non-array is passed through for the validator to name. */
function tuples(list: readonly RoomRecord[]): unknown {
  return Array.isArray(list) ? list.map(recordToTuple) : list;
}

/** Summary entries as tuples; a non-object is passed through for the validator to name. */
function entryTuples(list: readonly SyncSummaryEntry[]): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((e: SyncSummaryEntry | null) =>
    typeof e === 'object' && e !== null ? [e.bucket, e.sid, e.hashHi, e.hashLo] : e,
  );
}

/** Cell summary entries as tuples; a non-object is passed through for the validator. */
function cellEntryTuples(list: readonly SyncCellSummaryEntry[]): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((e: SyncCellSummaryEntry | null) =>
    typeof e === 'object' && e !== null ? [e.bucket, e.cell, e.sid, e.hashHi, e.hashLo] : e,
  );
}

export function messageToEnvelope(m: Message): unknown[] {
  switch (m.type) {
    case 'room-batch':
      return [VERSION, CODES[m.type], m.origin, m.seq, m.sentAt, tuples(m.records)];
    case 'member-entry':
      return [VERSION, CODES[m.type], m.peerId, ...heartbeatFields(m.heartbeat)];
    case 'heartbeat':
      return [VERSION, CODES[m.type], ...heartbeatFields(m)];
    case 'member-suspect':
      return [
        VERSION,
        CODES[m.type],
        m.reporter,
        m.subject,
        m.subjectIncarnation,
        enumCode(m.state, 'state', MEMBER_STATES),
        m.sentAt,
      ];
    case 'leave':
      return [VERSION, CODES[m.type], m.nodeId, m.incarnation, m.sentAt];
    case 'sync-digest':
      return [
        VERSION,
        CODES[m.type],
        m.nodeId,
        m.sentAt,
        m.bucketCount,
        m.digests,
        m.storeDigest,
        m.recordCount,
      ];
    case 'sync-bucket-request':
      return [VERSION, CODES[m.type], m.buckets, m.sids];
    case 'sync-bucket-records':
      return [VERSION, CODES[m.type], m.buckets, tuples(m.records), m.done];
    case 'sync-summary-request':
      return [VERSION, CODES[m.type], m.buckets];
    case 'sync-summaries':
      return [VERSION, CODES[m.type], entryTuples(m.entries), m.done];
    case 'sync-cell-summary-request':
      return m.quiet === undefined
        ? [VERSION, CODES[m.type], m.buckets, m.cellDigests]
        : [VERSION, CODES[m.type], m.buckets, m.cellDigests, m.quiet.ms, m.quiet.changedCells];
    case 'sync-cell-summaries':
      return [VERSION, CODES[m.type], cellEntryTuples(m.entries), m.done];
    case 'replicate':
      return [VERSION, CODES[m.type], m.requestId, m.origin, m.sentAt, tuples(m.records)];
    case 'replicate-ack':
      return [VERSION, CODES[m.type], m.requestId, m.nodeId, m.stored];
    case 'rpc-error':
      return [
        VERSION,
        CODES[m.type],
        m.requestId,
        enumCode(m.code, 'code', RPC_ERROR_CODES),
        m.message,
      ];
    default: {
      const type = (m as { type?: unknown }).type;
      throw new EncodeError('unknown-type', 'type', `unknown message type ${String(type)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Envelope array -> fresh, validated message
// ---------------------------------------------------------------------------------------------

/**
 * The message of a decoded envelope whose version was already checked. Throws DecodeError
 * for an unknown type code or any invalid field.
 */
export function messageFromEnvelope(code: number, envelope: unknown): Message {
  switch (code) {
    case CODES['room-batch']: {
      const e = readTuple(envelope, '', 6);
      return {
        type: 'room-batch',
        origin: nodeId(e[2], 'origin'),
        seq: seq(e[3], 'seq'),
        sentAt: stamp(e[4], 'sentAt'),
        records: records(e[5], BATCH_RECORDS_MAX, 'BATCH_RECORDS_MAX', 1),
      };
    }
    case CODES.heartbeat:
      return readHeartbeat(readTuple(envelope, '', 15), 2);
    case CODES['member-entry']: {
      const e = readTuple(envelope, '', 16);
      return {
        type: 'member-entry',
        peerId: readString(e[2], 'peerId', PEER_ID_BYTES_MAX, 'PEER_ID_BYTES_MAX', false),
        heartbeat: readHeartbeat(e, 3),
      };
    }
    case CODES['member-suspect']: {
      const e = readTuple(envelope, '', 7);
      return {
        type: 'member-suspect',
        reporter: nodeId(e[2], 'reporter'),
        subject: nodeId(e[3], 'subject'),
        subjectIncarnation: incarnation(e[4], 'subjectIncarnation'),
        state: suspectState(e[5]),
        sentAt: stamp(e[6], 'sentAt'),
      };
    }
    case CODES.leave: {
      const e = readTuple(envelope, '', 5);
      return {
        type: 'leave',
        nodeId: nodeId(e[2], 'nodeId'),
        incarnation: incarnation(e[3], 'incarnation'),
        sentAt: stamp(e[4], 'sentAt'),
      };
    }
    case CODES['sync-digest']: {
      const e = readTuple(envelope, '', 8);
      const buckets = bucketCount(e[4]);
      return {
        type: 'sync-digest',
        nodeId: nodeId(e[2], 'nodeId'),
        sentAt: stamp(e[3], 'sentAt'),
        bucketCount: buckets,
        digests: readBytes(e[5], 'digests', buckets * 8),
        storeDigest: checksum(e[6], 'storeDigest'),
        recordCount: count(e[7], 'recordCount'),
      };
    }
    case CODES['sync-bucket-request']: {
      const e = readTuple(envelope, '', 4);
      return { type: 'sync-bucket-request', buckets: buckets(e[2]), sids: sids(e[3]) };
    }
    case CODES['sync-bucket-records']: {
      const e = readTuple(envelope, '', 5);
      return {
        type: 'sync-bucket-records',
        buckets: buckets(e[2]),
        records: records(e[3], FRAME_RECORDS_MAX, 'FRAME_RECORDS_MAX', 0),
        done: readBool(e[4], 'done'),
      };
    }
    case CODES['sync-summary-request']: {
      const e = readTuple(envelope, '', 3);
      return { type: 'sync-summary-request', buckets: buckets(e[2]) };
    }
    case CODES['sync-summaries']: {
      const e = readTuple(envelope, '', 4);
      return {
        type: 'sync-summaries',
        entries: summaryEntries(e[2]),
        done: readBool(e[3], 'done'),
      };
    }
    case CODES['sync-cell-summary-request']: {
      // 4 elements, or 6 with the quiet period and the asker's changed cells.
      const e = readTuple(envelope, '', Array.isArray(envelope) && envelope.length === 6 ? 6 : 4);
      const list = buckets(e[2], CELL_SUMMARY_BUCKETS_MAX, 'CELL_SUMMARY_BUCKETS_MAX');
      const message: SyncCellSummaryRequestMessage = {
        type: 'sync-cell-summary-request',
        buckets: list,
        cellDigests: readBytes(e[3], 'cellDigests', list.length * CELLS_PER_BUCKET * 8),
      };
      if (e.length === 6) {
        message.quiet = {
          ms: readInt(e[4], 'quiet.ms', 1, SYNC_QUIET_MS_MAX, 'SYNC_QUIET_MS_MAX'),
          changedCells: readBytes(e[5], 'quiet.changedCells', list.length * 2),
        };
      }
      return message;
    }
    case CODES['sync-cell-summaries']: {
      const e = readTuple(envelope, '', 4);
      return {
        type: 'sync-cell-summaries',
        entries: cellSummaryEntries(e[2]),
        done: readBool(e[3], 'done'),
      };
    }
    case CODES.replicate: {
      const e = readTuple(envelope, '', 6);
      return {
        type: 'replicate',
        requestId: requestId(e[2]),
        origin: nodeId(e[3], 'origin'),
        sentAt: stamp(e[4], 'sentAt'),
        records: records(e[5], BATCH_RECORDS_MAX, 'BATCH_RECORDS_MAX', 1),
      };
    }
    case CODES['replicate-ack']: {
      const e = readTuple(envelope, '', 5);
      return {
        type: 'replicate-ack',
        requestId: requestId(e[2]),
        nodeId: nodeId(e[3], 'nodeId'),
        stored: readInt(e[4], 'stored', 0, BATCH_RECORDS_MAX, 'BATCH_RECORDS_MAX'),
      };
    }
    case CODES['rpc-error']: {
      const e = readTuple(envelope, '', 5);
      return {
        type: 'rpc-error',
        requestId: requestId(e[2]),
        code: readEnum(e[3], 'code', RPC_ERROR_CODES),
        message: readString(
          e[4],
          'message',
          ERROR_MESSAGE_BYTES_MAX,
          'ERROR_MESSAGE_BYTES_MAX',
          true,
        ),
      };
    }
    default:
      throw new DecodeError('unknown-type', '', `unknown message type code ${code}`);
  }
}
