/**
 * Every limit of src/limits.ts, hit from both sides: a value AT the limit encodes and
 * round-trips; one PAST it is refused by encodeMessage (EncodeError) and, put on the wire by
 * hand, by decodeMessage (DecodeError), each with the right code and field.
 */
import { describe, expect, it } from 'vitest';
import {
  BATCH_RECORD_BYTES_MAX,
  BATCH_RECORDS_MAX,
  BUCKET_COUNT_DEFAULT,
  BUCKET_COUNT_MAX,
  BUCKET_COUNT_MIN,
  CELL_SUMMARY_BUCKETS_MAX,
  CELL_SUMMARY_ENTRY_BYTES_MAX,
  CELLS_PER_BUCKET,
  CHECKSUM_BYTES_MAX,
  COUNT_MAX,
  DEPARTURE_TIMEOUT_S_MAX,
  type DecodeError,
  decodeMessage,
  decodeSnapshot,
  EMPTY_TIMEOUT_S_MAX,
  EncodeError,
  ERROR_MESSAGE_BYTES_MAX,
  encodeMessage,
  estimateRecordBytes,
  FRAME_RECORD_BYTES_MAX,
  FRAME_RECORDS_MAX,
  GOSSIP_MESSAGE_BYTES_MAX,
  HASH_WORD_MAX,
  HLC_STAMP_MAX,
  INCARNATION_MAX,
  MAX_PARTICIPANTS_MAX,
  MESSAGE_BYTES_MAX,
  MESSAGE_TYPE_CODES,
  type Message,
  NESTING_DEPTH_MAX,
  NODE_ID_BYTES_MAX,
  P2P_ADDR_BYTES_MAX,
  P2P_ADDRS_MAX,
  PARTICIPANTS_MAX,
  PEER_ID_BYTES_MAX,
  PROTOCOL_VERSION,
  RECORD_BYTES_MAX,
  REGION_BYTES_MAX,
  REQUEST_ID_MAX,
  ROOM_METADATA_BYTES_MAX,
  ROOM_NAME_BYTES_MAX,
  type RoomRecord,
  SEQ_MAX,
  SID_ALPHABET,
  SID_PREFIX,
  SNAPSHOT_BYTES_MAX,
  SNAPSHOT_RECORDS_MAX,
  SNAPSHOT_TYPE_CODE,
  STREAM_FRAME_BYTES_MAX,
  SUMMARY_ENTRIES_MAX,
  SUMMARY_ENTRY_BYTES_MAX,
  SYNC_QUIET_MS_MAX,
  SYNC_SIDS_MAX,
  type SyncCellSummaryEntry,
  type SyncSummaryEntry,
  URL_BYTES_MAX,
  WEIGHT_MAX,
  WEIGHT_MIN,
} from '../src/index.js';
import { exampleRecord } from './arbitraries.js';
import { deepEqual } from './fuzz-properties.js';
import { rawMessage, rawPack } from './wire.js';

const s = (bytes: number, char = 'x'): string => char.repeat(bytes);
const TWO_53 = 2 ** 53;

const batch = (over: Partial<Extract<Message, { type: 'room-batch' }>> = {}): Message => ({
  type: 'room-batch',
  origin: 'node-a',
  seq: 1,
  sentAt: 1,
  records: [exampleRecord()],
  ...over,
});
const withRecord = (over: Partial<RoomRecord>): Message =>
  batch({ records: [exampleRecord(over)] });
const heartbeat = (over: Partial<Extract<Message, { type: 'heartbeat' }>> = {}): Message => ({
  type: 'heartbeat',
  nodeId: 'node-a',
  region: 'eu',
  incarnation: 1,
  state: 'alive',
  weight: 1,
  httpUrl: '',
  p2pAddrs: [],
  roomCount: 0,
  ringChecksum: '',
  storeDigest: '',
  sentAt: 1,
  seq: 1,
  historySinceMs: 0,
  ...over,
});
const digest = (bucketCount: number, digestBytes = bucketCount * 8): Message => ({
  type: 'sync-digest',
  nodeId: 'node-a',
  sentAt: 1,
  bucketCount,
  digests: new Uint8Array(digestBytes),
  storeDigest: '',
  recordCount: 0,
});
const records = (count: number): RoomRecord[] =>
  Array.from({ length: count }, () => exampleRecord());
const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

/** The i-th of distinct valid sids: i written in base57, padded to 12 characters. */
function sidOf(i: number): string {
  let chars = '';
  for (let n = i, k = 0; k < 12; k++, n = Math.floor(n / 57)) chars = SID_ALPHABET[n % 57] + chars;
  return SID_PREFIX + chars;
}
const sids = (count: number): string[] => range(count).map(sidOf);
const sidRequest = (count: number): Message => ({
  type: 'sync-bucket-request',
  buckets: [0],
  sids: sids(count),
});
const entry = (over: Partial<SyncSummaryEntry> = {}): SyncSummaryEntry => ({
  bucket: 0,
  sid: 'RM_4kTfZbqW9xYd',
  hashHi: 1,
  hashLo: 2,
  ...over,
});
const summaries = (entries: SyncSummaryEntry[]): Message => ({
  type: 'sync-summaries',
  entries,
  done: true,
});
/** The largest summary entry: every field at its widest encoding. */
const widestEntry = (i = 0): SyncSummaryEntry => ({
  bucket: BUCKET_COUNT_MAX - 1,
  sid: sidOf(i),
  hashHi: HASH_WORD_MAX,
  hashLo: HASH_WORD_MAX,
});

const cellEntry = (over: Partial<SyncCellSummaryEntry> = {}): SyncCellSummaryEntry => ({
  ...entry(),
  cell: 0,
  ...over,
});
const cellSummaries = (entries: SyncCellSummaryEntry[]): Message => ({
  type: 'sync-cell-summaries',
  entries,
  done: true,
});
const cellRequest = (buckets: number[], digestBytes = buckets.length * CELLS_PER_BUCKET * 8) =>
  ({
    type: 'sync-cell-summary-request',
    buckets,
    cellDigests: new Uint8Array(digestBytes),
  }) as Message;

/** A cell summary request that also asks for cells quiet for 1 s (2 B per bucket more). */
const withQuiet = (request: Message): Message =>
  ({
    ...request,
    quiet: {
      ms: 1_000,
      changedCells: new Uint8Array(2 * (request as { buckets: number[] }).buckets.length),
    },
  }) as Message;

/** The largest cell summary entry. */
const widestCellEntry = (i = 0): SyncCellSummaryEntry => ({
  ...widestEntry(i),
  cell: CELLS_PER_BUCKET - 1,
});

interface LimitCase {
  limit: string;
  field: string;
  at: Message;
  over: Message;
}

const CASES: LimitCase[] = [
  {
    limit: 'ROOM_NAME_BYTES_MAX',
    field: 'records[0].name',
    at: withRecord({ name: s(ROOM_NAME_BYTES_MAX) }),
    over: withRecord({ name: s(ROOM_NAME_BYTES_MAX + 1) }),
  },
  {
    limit: 'ROOM_NAME_BYTES_MAX (2-byte characters)',
    field: 'records[0].name',
    at: withRecord({ name: s(ROOM_NAME_BYTES_MAX / 2, 'é') }),
    over: withRecord({ name: `${s(ROOM_NAME_BYTES_MAX / 2, 'é')}x` }),
  },
  {
    limit: 'ROOM_NAME_BYTES_MAX (4-byte characters)',
    field: 'records[0].name',
    at: withRecord({ name: s(ROOM_NAME_BYTES_MAX / 4, '😀') }),
    over: withRecord({ name: `${s(ROOM_NAME_BYTES_MAX / 4, '😀')}x` }),
  },
  {
    limit: 'ROOM_METADATA_BYTES_MAX',
    field: 'records[0].metadata',
    at: withRecord({ metadata: s(ROOM_METADATA_BYTES_MAX) }),
    over: withRecord({ metadata: s(ROOM_METADATA_BYTES_MAX + 1) }),
  },
  {
    limit: 'NODE_ID_BYTES_MAX',
    field: 'origin',
    at: batch({ origin: s(NODE_ID_BYTES_MAX) }),
    over: batch({ origin: s(NODE_ID_BYTES_MAX + 1) }),
  },
  {
    limit: 'NODE_ID_BYTES_MAX (record)',
    field: 'records[0].deletedBy',
    at: withRecord({ deletedAt: 1, deletedBy: s(NODE_ID_BYTES_MAX) }),
    over: withRecord({ deletedAt: 1, deletedBy: s(NODE_ID_BYTES_MAX + 1) }),
  },
  {
    limit: 'REGION_BYTES_MAX',
    field: 'region',
    at: heartbeat({ region: s(REGION_BYTES_MAX) }),
    over: heartbeat({ region: s(REGION_BYTES_MAX + 1) }),
  },
  {
    limit: 'REGION_BYTES_MAX (record)',
    field: 'records[0].homeRegion',
    at: withRecord({ homeRegion: s(REGION_BYTES_MAX) }),
    over: withRecord({ homeRegion: s(REGION_BYTES_MAX + 1) }),
  },
  {
    limit: 'URL_BYTES_MAX',
    field: 'httpUrl',
    at: heartbeat({ httpUrl: s(URL_BYTES_MAX) }),
    over: heartbeat({ httpUrl: s(URL_BYTES_MAX + 1) }),
  },
  {
    limit: 'P2P_ADDR_BYTES_MAX',
    field: 'p2pAddrs[0]',
    at: heartbeat({ p2pAddrs: [s(P2P_ADDR_BYTES_MAX)] }),
    over: heartbeat({ p2pAddrs: [s(P2P_ADDR_BYTES_MAX + 1)] }),
  },
  {
    limit: 'PEER_ID_BYTES_MAX',
    field: 'peerId',
    at: { type: 'member-entry', peerId: s(PEER_ID_BYTES_MAX), heartbeat: heartbeat() as never },
    over: {
      type: 'member-entry',
      peerId: s(PEER_ID_BYTES_MAX + 1),
      heartbeat: heartbeat() as never,
    },
  },
  {
    limit: 'P2P_ADDRS_MAX',
    field: 'p2pAddrs',
    at: heartbeat({ p2pAddrs: range(P2P_ADDRS_MAX).map((i) => `/ip4/10.0.0.${i}/tcp/1`) }),
    over: heartbeat({ p2pAddrs: range(P2P_ADDRS_MAX + 1).map((i) => `/ip4/10.0.0.${i}/tcp/1`) }),
  },
  {
    limit: 'CHECKSUM_BYTES_MAX',
    field: 'ringChecksum',
    at: heartbeat({ ringChecksum: s(CHECKSUM_BYTES_MAX) }),
    over: heartbeat({ ringChecksum: s(CHECKSUM_BYTES_MAX + 1) }),
  },
  {
    limit: 'CHECKSUM_BYTES_MAX (digest)',
    field: 'storeDigest',
    at: heartbeat({ storeDigest: s(CHECKSUM_BYTES_MAX) }),
    over: heartbeat({ storeDigest: s(CHECKSUM_BYTES_MAX + 1) }),
  },
  {
    limit: 'ERROR_MESSAGE_BYTES_MAX',
    field: 'message',
    at: { type: 'rpc-error', requestId: 1, code: 'internal', message: s(ERROR_MESSAGE_BYTES_MAX) },
    over: {
      type: 'rpc-error',
      requestId: 1,
      code: 'internal',
      message: s(ERROR_MESSAGE_BYTES_MAX + 1),
    },
  },
  {
    limit: 'EMPTY_TIMEOUT_S_MAX',
    field: 'records[0].emptyTimeoutS',
    at: withRecord({ emptyTimeoutS: EMPTY_TIMEOUT_S_MAX }),
    over: withRecord({ emptyTimeoutS: EMPTY_TIMEOUT_S_MAX + 1 }),
  },
  {
    limit: 'DEPARTURE_TIMEOUT_S_MAX',
    field: 'records[0].departureTimeoutS',
    at: withRecord({ departureTimeoutS: DEPARTURE_TIMEOUT_S_MAX }),
    over: withRecord({ departureTimeoutS: DEPARTURE_TIMEOUT_S_MAX + 1 }),
  },
  {
    limit: 'MAX_PARTICIPANTS_MAX',
    field: 'records[0].maxParticipants',
    at: withRecord({ maxParticipants: MAX_PARTICIPANTS_MAX }),
    over: withRecord({ maxParticipants: MAX_PARTICIPANTS_MAX + 1 }),
  },
  {
    limit: 'PARTICIPANTS_MAX',
    field: 'records[0].numPublishers',
    at: withRecord({
      statsAt: 1,
      statsBy: 'n',
      numParticipants: PARTICIPANTS_MAX,
      numPublishers: PARTICIPANTS_MAX,
    }),
    over: withRecord({ statsAt: 1, statsBy: 'n', numPublishers: PARTICIPANTS_MAX + 1 }),
  },
  {
    limit: 'HLC_STAMP_MAX',
    field: 'sentAt',
    at: batch({ sentAt: HLC_STAMP_MAX }),
    over: batch({ sentAt: TWO_53 }),
  },
  {
    limit: 'HLC_STAMP_MAX (record)',
    field: 'records[0].createdAt',
    at: withRecord({ createdAt: HLC_STAMP_MAX }),
    over: withRecord({ createdAt: TWO_53 }),
  },
  {
    limit: 'INCARNATION_MAX',
    field: 'incarnation',
    at: { type: 'leave', nodeId: 'n', incarnation: INCARNATION_MAX, sentAt: 1 },
    over: { type: 'leave', nodeId: 'n', incarnation: TWO_53, sentAt: 1 },
  },
  {
    limit: 'WEIGHT_MIN',
    field: 'weight',
    at: heartbeat({ weight: WEIGHT_MIN }),
    over: heartbeat({ weight: WEIGHT_MIN - 1 }),
  },
  {
    limit: 'WEIGHT_MAX',
    field: 'weight',
    at: heartbeat({ weight: WEIGHT_MAX }),
    over: heartbeat({ weight: WEIGHT_MAX + 1 }),
  },
  { limit: 'SEQ_MAX', field: 'seq', at: batch({ seq: SEQ_MAX }), over: batch({ seq: TWO_53 }) },
  {
    limit: 'COUNT_MAX',
    field: 'roomCount',
    at: heartbeat({ roomCount: COUNT_MAX }),
    over: heartbeat({ roomCount: TWO_53 }),
  },
  {
    limit: 'REQUEST_ID_MAX',
    field: 'requestId',
    at: { type: 'replicate-ack', requestId: REQUEST_ID_MAX, nodeId: 'n', stored: 0 },
    over: { type: 'replicate-ack', requestId: REQUEST_ID_MAX + 1, nodeId: 'n', stored: 0 },
  },
  {
    limit: 'BATCH_RECORDS_MAX',
    field: 'records',
    at: batch({ records: records(BATCH_RECORDS_MAX) }),
    over: batch({ records: records(BATCH_RECORDS_MAX + 1) }),
  },
  {
    limit: 'BATCH_RECORDS_MAX (replicate)',
    field: 'records',
    at: {
      type: 'replicate',
      requestId: 1,
      origin: 'n',
      sentAt: 1,
      records: records(BATCH_RECORDS_MAX),
    },
    over: {
      type: 'replicate',
      requestId: 1,
      origin: 'n',
      sentAt: 1,
      records: records(BATCH_RECORDS_MAX + 1),
    },
  },
  {
    limit: 'BATCH_RECORDS_MAX (replicate-ack)',
    field: 'stored',
    at: { type: 'replicate-ack', requestId: 1, nodeId: 'n', stored: BATCH_RECORDS_MAX },
    over: { type: 'replicate-ack', requestId: 1, nodeId: 'n', stored: BATCH_RECORDS_MAX + 1 },
  },
  {
    limit: 'FRAME_RECORDS_MAX',
    field: 'records',
    at: {
      type: 'sync-bucket-records',
      buckets: [],
      records: records(FRAME_RECORDS_MAX),
      done: true,
    },
    over: {
      type: 'sync-bucket-records',
      buckets: [],
      records: records(FRAME_RECORDS_MAX + 1),
      done: true,
    },
  },
  {
    limit: 'BUCKET_COUNT_MIN',
    field: 'bucketCount',
    at: digest(BUCKET_COUNT_MIN),
    over: digest(BUCKET_COUNT_MIN - 1, 8),
  },
  {
    limit: 'BUCKET_COUNT_MAX',
    field: 'bucketCount',
    at: digest(BUCKET_COUNT_MAX),
    over: digest(BUCKET_COUNT_MAX * 2, 8),
  },
  {
    limit: 'BUCKET_COUNT_MAX (bucket index)',
    field: 'buckets[0]',
    at: { type: 'sync-bucket-request', buckets: [BUCKET_COUNT_MAX - 1], sids: [] },
    over: { type: 'sync-bucket-request', buckets: [BUCKET_COUNT_MAX], sids: [] },
  },
  {
    limit: 'BUCKET_COUNT_MAX (bucket list)',
    field: 'buckets',
    at: { type: 'sync-bucket-request', buckets: range(BUCKET_COUNT_MAX), sids: [] },
    over: { type: 'sync-bucket-request', buckets: range(BUCKET_COUNT_MAX + 1), sids: [] },
  },
  {
    limit: 'BUCKET_COUNT_MAX (summary request)',
    field: 'buckets',
    at: { type: 'sync-summary-request', buckets: range(BUCKET_COUNT_MAX) },
    over: { type: 'sync-summary-request', buckets: range(BUCKET_COUNT_MAX + 1) },
  },
  {
    limit: 'CELL_SUMMARY_BUCKETS_MAX',
    field: 'buckets',
    at: cellRequest(range(CELL_SUMMARY_BUCKETS_MAX)),
    over: cellRequest(range(CELL_SUMMARY_BUCKETS_MAX + 1)),
  },
  {
    limit: 'CELL_SUMMARY_BUCKETS_MAX (with a quiet period)',
    field: 'buckets',
    at: withQuiet(cellRequest(range(CELL_SUMMARY_BUCKETS_MAX))),
    over: withQuiet(cellRequest(range(CELL_SUMMARY_BUCKETS_MAX + 1))),
  },
  {
    limit: 'CELLS_PER_BUCKET (cell id)',
    field: 'entries[0].cell',
    at: cellSummaries([cellEntry({ cell: CELLS_PER_BUCKET - 1 })]),
    over: cellSummaries([cellEntry({ cell: CELLS_PER_BUCKET })]),
  },
  {
    limit: 'SUMMARY_ENTRIES_MAX (cell summaries)',
    field: 'entries',
    at: cellSummaries(range(SUMMARY_ENTRIES_MAX).map((i) => widestCellEntry(i))),
    over: cellSummaries(range(SUMMARY_ENTRIES_MAX + 1).map((i) => widestCellEntry(i))),
  },
  {
    limit: 'BUCKET_COUNT_MAX (summary entry)',
    field: 'entries[0].bucket',
    at: summaries([entry({ bucket: BUCKET_COUNT_MAX - 1 })]),
    over: summaries([entry({ bucket: BUCKET_COUNT_MAX })]),
  },
  {
    limit: 'HASH_WORD_MAX',
    field: 'entries[0].hashHi',
    at: summaries([entry({ hashHi: HASH_WORD_MAX, hashLo: HASH_WORD_MAX })]),
    over: summaries([entry({ hashHi: HASH_WORD_MAX + 1 })]),
  },
  {
    limit: 'HASH_WORD_MAX (low word)',
    field: 'entries[1].hashLo',
    at: summaries([entry(), entry({ hashLo: HASH_WORD_MAX })]),
    over: summaries([entry(), entry({ hashLo: HASH_WORD_MAX + 1 })]),
  },
  {
    limit: 'SUMMARY_ENTRIES_MAX',
    field: 'entries',
    at: summaries(range(SUMMARY_ENTRIES_MAX).map((i) => widestEntry(i))),
    over: summaries(range(SUMMARY_ENTRIES_MAX + 1).map((i) => widestEntry(i))),
  },
  {
    limit: 'SYNC_QUIET_MS_MAX',
    field: 'quiet.ms',
    at: {
      ...cellRequest([1]),
      quiet: { ms: SYNC_QUIET_MS_MAX, changedCells: new Uint8Array(2) },
    } as Message,
    over: {
      ...cellRequest([1]),
      quiet: { ms: SYNC_QUIET_MS_MAX + 1, changedCells: new Uint8Array(2) },
    } as Message,
  },
  {
    limit: 'SYNC_SIDS_MAX',
    field: 'sids',
    at: sidRequest(SYNC_SIDS_MAX),
    over: sidRequest(SYNC_SIDS_MAX + 1),
  },
];

function encodeError(message: Message): EncodeError {
  try {
    encodeMessage(message);
  } catch (error) {
    if (error instanceof EncodeError) return error;
    throw error;
  }
  throw new Error('expected an EncodeError');
}

function decodeError(bytes: Uint8Array): DecodeError {
  const result = decodeMessage(bytes);
  if (result.ok) throw new Error(`expected a DecodeError, got a ${result.message.type}`);
  return result.error;
}

describe('every field limit, at and one past', () => {
  it.each(CASES.map((c) => [c.limit, c] as const))('%s', (_name, c) => {
    const result = decodeMessage(encodeMessage(c.at));
    // deepEqual: vitest's toEqual takes seconds on 512 KiB of digests or 4,096 records.
    expect(result.ok && deepEqual(result.message, c.at)).toBe(true);
    expect(encodeError(c.over)).toMatchObject({
      name: 'EncodeError',
      code: 'limit',
      field: c.field,
    });
    expect(decodeError(rawMessage(c.over))).toMatchObject({
      name: 'DecodeError',
      code: 'limit',
      field: c.field,
    });
    expect(decodeError(rawMessage(c.over)).message).toContain(c.limit.split(' ')[0]!);
  });
});

describe('message size limits', () => {
  /** A room-batch of exactly `bytes` encoded bytes: 17 big records and one sized to fit. */
  function batchOfBytes(bytes: number): Message {
    const big = records(17).map((r) => ({ ...r, metadata: s(60_000) }));
    const make = (metadataBytes: number): Message =>
      batch({ records: [...big, exampleRecord({ metadata: s(metadataBytes) })] });
    const base = encodeMessage(make(1_000)).length;
    return make(1_000 + bytes - base);
  }

  it('MESSAGE_BYTES_MAX (= GOSSIP_MESSAGE_BYTES_MAX = STREAM_FRAME_BYTES_MAX): at the limit ok, one past too-large', () => {
    expect(MESSAGE_BYTES_MAX).toBe(Math.max(GOSSIP_MESSAGE_BYTES_MAX, STREAM_FRAME_BYTES_MAX));
    const at = batchOfBytes(MESSAGE_BYTES_MAX);
    const bytes = encodeMessage(at);
    expect(bytes.length).toBe(MESSAGE_BYTES_MAX);
    expect(decodeMessage(bytes)).toEqual({ ok: true, message: at });

    const over = batchOfBytes(MESSAGE_BYTES_MAX + 1);
    expect(encodeError(over)).toMatchObject({ code: 'too-large' });
    const raw = rawMessage(over);
    expect(raw.length).toBe(MESSAGE_BYTES_MAX + 1);
    expect(decodeError(raw)).toMatchObject({ code: 'too-large', field: '' });
    // Checked before parsing: garbage of that length is too-large, not malformed.
    expect(decodeError(new Uint8Array(MESSAGE_BYTES_MAX + 1)).code).toBe('too-large');
  });

  it('RECORD_BYTES_MAX is the exact size of the largest valid record', () => {
    const largest = exampleRecord({
      name: s(ROOM_NAME_BYTES_MAX),
      createdAt: HLC_STAMP_MAX,
      creator: s(NODE_ID_BYTES_MAX),
      homeRegion: s(REGION_BYTES_MAX),
      settingsAt: HLC_STAMP_MAX,
      settingsBy: s(NODE_ID_BYTES_MAX),
      emptyTimeoutS: EMPTY_TIMEOUT_S_MAX,
      departureTimeoutS: DEPARTURE_TIMEOUT_S_MAX,
      maxParticipants: MAX_PARTICIPANTS_MAX,
      metadata: s(ROOM_METADATA_BYTES_MAX),
      pinnedNode: s(NODE_ID_BYTES_MAX),
      statsAt: HLC_STAMP_MAX,
      statsBy: s(NODE_ID_BYTES_MAX),
      numParticipants: PARTICIPANTS_MAX,
      numPublishers: PARTICIPANTS_MAX,
      deletedAt: HLC_STAMP_MAX,
      deletedBy: s(NODE_ID_BYTES_MAX),
    });
    expect(estimateRecordBytes(largest)).toBe(RECORD_BYTES_MAX);
    expect(RECORD_BYTES_MAX).toBe(66_598);
    const oneRecord = encodeMessage(batch({ records: [largest] })).length;
    const emptyish = encodeMessage(batch({ records: [exampleRecord()] })).length;
    expect(oneRecord - emptyish).toBe(RECORD_BYTES_MAX - estimateRecordBytes(exampleRecord()));
  });

  it('record budgets leave room for the envelope (BATCH_RECORD_BYTES_MAX, FRAME_RECORD_BYTES_MAX)', () => {
    expect(BATCH_RECORD_BYTES_MAX).toBeLessThan(GOSSIP_MESSAGE_BYTES_MAX);
    expect(GOSSIP_MESSAGE_BYTES_MAX - BATCH_RECORD_BYTES_MAX).toBeGreaterThanOrEqual(200);
    // 65,536 bucket ids of up to 3 bytes, plus the array header and envelope.
    expect(STREAM_FRAME_BYTES_MAX - FRAME_RECORD_BYTES_MAX).toBeGreaterThan(
      BUCKET_COUNT_MAX * 3 + 64,
    );
    // Frames that fill these budgets are encoded in frames.test.ts.
  });

  it('SUMMARY_ENTRY_BYTES_MAX is the exact size of the largest summary entry', () => {
    expect(SUMMARY_ENTRY_BYTES_MAX).toBe(30);
    const one = encodeMessage(summaries([widestEntry()])).length;
    const none = encodeMessage(summaries([])).length;
    expect(one - none).toBe(SUMMARY_ENTRY_BYTES_MAX);
  });

  it('CELL_SUMMARY_ENTRY_BYTES_MAX is the exact size of the largest cell summary entry', () => {
    expect(CELL_SUMMARY_ENTRY_BYTES_MAX).toBe(31);
    const one = encodeMessage(cellSummaries([widestCellEntry()])).length;
    const none = encodeMessage(cellSummaries([])).length;
    expect(one - none).toBe(CELL_SUMMARY_ENTRY_BYTES_MAX);
  });

  it('the largest cell summary request and frame fit within a stream frame', () => {
    const request = encodeMessage(
      cellRequest(range(CELL_SUMMARY_BUCKETS_MAX).map((i) => BUCKET_COUNT_MAX - 1 - i)),
    );
    expect(request.length).toBeLessThan(STREAM_FRAME_BYTES_MAX * 0.6);
    const frame = encodeMessage(
      cellSummaries(range(SUMMARY_ENTRIES_MAX).map((i) => widestCellEntry(i))),
    );
    expect(frame.length).toBeLessThanOrEqual(
      SUMMARY_ENTRIES_MAX * CELL_SUMMARY_ENTRY_BYTES_MAX + 16,
    );
    expect(frame.length).toBeLessThan(STREAM_FRAME_BYTES_MAX / 2);
  });

  it('the largest summary frame and sid request fit well within a stream frame', () => {
    const frame = encodeMessage(summaries(range(SUMMARY_ENTRIES_MAX).map((i) => widestEntry(i))));
    expect(frame.length).toBeLessThanOrEqual(SUMMARY_ENTRIES_MAX * SUMMARY_ENTRY_BYTES_MAX + 16);
    expect(frame.length).toBeLessThan(STREAM_FRAME_BYTES_MAX / 2);
    const request = encodeMessage({
      type: 'sync-bucket-request',
      buckets: range(BUCKET_COUNT_MAX),
      sids: sids(SYNC_SIDS_MAX),
    });
    expect(request.length).toBeLessThan(STREAM_FRAME_BYTES_MAX / 2);
  });

  it('NESTING_DEPTH_MAX: records are as deep as a message goes', () => {
    expect(NESTING_DEPTH_MAX).toBe(3);
    const deep = rawPack([PROTOCOL_VERSION, MESSAGE_TYPE_CODES['sync-bucket-request'], [[[]]]]);
    expect(decodeError(deep)).toMatchObject({ code: 'malformed' });
    expect(decodeError(deep).message).toContain(`nested deeper than ${NESTING_DEPTH_MAX}`);
  });

  it('BUCKET_COUNT_DEFAULT is a power of two within the limits; other counts are schema errors', () => {
    expect(Number.isInteger(Math.log2(BUCKET_COUNT_DEFAULT))).toBe(true);
    expect(BUCKET_COUNT_DEFAULT).toBeGreaterThanOrEqual(BUCKET_COUNT_MIN);
    expect(BUCKET_COUNT_DEFAULT).toBeLessThanOrEqual(BUCKET_COUNT_MAX);
    expect(decodeError(rawMessage(digest(6)))).toMatchObject({
      code: 'schema',
      field: 'bucketCount',
    });
  });
});

describe('snapshot limits', () => {
  const head = [0x95, PROTOCOL_VERSION, SNAPSHOT_TYPE_CODE, 0xa1, 0x6e, 0x01];
  const claimRecords = (count: number): Uint8Array =>
    Uint8Array.from([
      ...head,
      0xdd,
      count >>> 24,
      (count >>> 16) & 0xff,
      (count >>> 8) & 0xff,
      count & 0xff,
      0x00,
    ]);

  it('SNAPSHOT_RECORDS_MAX: a count past it is refused before any record is read', () => {
    const over = decodeSnapshot(claimRecords(SNAPSHOT_RECORDS_MAX + 1));
    expect(over).toMatchObject({ ok: false, error: { code: 'limit', field: 'records' } });
    // At the limit the count passes and the (missing) records are what fails.
    const at = decodeSnapshot(claimRecords(SNAPSHOT_RECORDS_MAX));
    expect(at).toMatchObject({ ok: false, error: { code: 'malformed' } });
  });

  it('SNAPSHOT_BYTES_MAX: a longer input is refused before parsing', () => {
    // A stand-in that claims 2 GiB, so the test does not allocate it.
    const huge = Object.defineProperty(new Uint8Array(8), 'length', {
      value: SNAPSHOT_BYTES_MAX + 1,
    });
    expect(decodeSnapshot(huge)).toMatchObject({ ok: false, error: { code: 'too-large' } });
    expect(SNAPSHOT_BYTES_MAX).toBe(2 ** 31 - 1);
  });
});
