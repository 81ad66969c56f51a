/**
 * fast-check arbitraries of VALID protocol values, for this package's tests and any other
 * package's (import from `../../protocol/test/arbitraries.js`). Everything generated here
 * passes encodeMessage()/encodeSnapshot(); sizes stay small so properties run fast.
 */
import fc from 'fast-check';
import {
  BUCKET_COUNT_MAX,
  CELL_SUMMARY_BUCKETS_MAX,
  CELLS_PER_BUCKET,
  type HeartbeatMessage,
  HLC_STAMP_MAX,
  type LeaveMessage,
  MEMBER_STATES,
  type MemberSuspectMessage,
  type Message,
  packHlc,
  type ReplicateAckMessage,
  type ReplicateMessage,
  type RoomBatchMessage,
  type RoomRecord,
  RPC_ERROR_CODES,
  type RpcErrorMessage,
  SID_ALPHABET,
  SID_PREFIX,
  SID_RANDOM_CHARS,
  SYNC_QUIET_MS_MAX,
  type SyncBucketRecordsMessage,
  type SyncBucketRequestMessage,
  type SyncCellSummariesMessage,
  type SyncCellSummaryEntry,
  type SyncCellSummaryRequestMessage,
  type SyncDigestMessage,
  type SyncSummariesMessage,
  type SyncSummaryEntry,
  type SyncSummaryRequestMessage,
  WEIGHT_MAX,
} from '../src/index.js';

const UINT32_MAX = 0xffff_ffff;

/** A valid sid: `RM_` + 12 base57 characters. */
export const arbSid: fc.Arbitrary<string> = fc
  .string({
    unit: fc.constantFrom(...SID_ALPHABET),
    minLength: SID_RANDOM_CHARS,
    maxLength: SID_RANDOM_CHARS,
  })
  .map((chars) => SID_PREFIX + chars);

/** Node ids: libp2p-like peer ids, short ASCII names, or any Unicode up to 128 bytes. */
export const arbNodeId: fc.Arbitrary<string> = fc.oneof(
  fc
    .string({ unit: fc.constantFrom(...SID_ALPHABET), minLength: 44, maxLength: 44 })
    .map((s) => `12D3KooW${s}`),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 16 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 32 }), // <= 32 x 4 = 128 bytes
);

export const arbRegion: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('eu-west-1', 'us-east-1', 'ap-south-1'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }), // <= 64 bytes
);

/** Room names are any Unicode, including keys that break plain objects. */
export const arbRoomName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', 'a'),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 64 }), // <= 256 bytes
);

export const arbHlc: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: HLC_STAMP_MAX }),
  fc.integer({ min: 0, max: 300 }),
);
const arbNonZeroHlc = fc.integer({ min: 1, max: HLC_STAMP_MAX });

export const arbUint32: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: UINT32_MAX }),
);

const arbSafeUint = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());

/** A version stamp and its writer: (0, '') for "never written", else both set. */
const arbStampPair: fc.Arbitrary<[number, string]> = fc.oneof(
  fc.constant<[number, string]>([0, '']),
  fc.tuple(arbNonZeroHlc, arbNodeId),
);

const arbMetadata = fc.oneof(
  fc.constant(''),
  fc.json({ maxDepth: 2 }),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

/** Any valid RoomRecord. */
export const arbRoomRecord: fc.Arbitrary<RoomRecord> = fc
  .record({
    name: arbRoomName,
    sid: arbSid,
    createdAt: arbHlc,
    creator: arbNodeId,
    homeRegion: arbRegion,
    settings: arbStampPair,
    emptyTimeoutS: arbUint32,
    departureTimeoutS: arbUint32,
    maxParticipants: arbUint32,
    metadata: arbMetadata,
    pinnedNode: fc.oneof(fc.constant(''), arbNodeId),
    stats: arbStampPair,
    numParticipants: arbUint32,
    numPublishers: arbUint32,
    activeRecording: fc.boolean(),
    everOccupied: fc.boolean(),
    deleted: arbStampPair,
  })
  .map(
    (r): RoomRecord => ({
      name: r.name,
      sid: r.sid,
      createdAt: r.createdAt,
      creator: r.creator,
      homeRegion: r.homeRegion,
      settingsAt: r.settings[0],
      settingsBy: r.settings[1],
      emptyTimeoutS: r.emptyTimeoutS,
      departureTimeoutS: r.departureTimeoutS,
      maxParticipants: r.maxParticipants,
      metadata: r.metadata,
      pinnedNode: r.pinnedNode,
      statsAt: r.stats[0],
      statsBy: r.stats[1],
      numParticipants: r.numParticipants,
      numPublishers: r.numPublishers,
      activeRecording: r.activeRecording,
      everOccupied: r.everOccupied,
      deletedAt: r.deleted[0],
      deletedBy: r.deleted[1],
    }),
  );

const arbRecords = (minLength: number): fc.Arbitrary<RoomRecord[]> =>
  fc.array(arbRoomRecord, { minLength, maxLength: 6 });

const arbBuckets = fc.uniqueArray(fc.nat({ max: BUCKET_COUNT_MAX - 1 }), { maxLength: 20 });

export const arbRoomBatch: fc.Arbitrary<RoomBatchMessage> = fc.record({
  type: fc.constant('room-batch'),
  origin: arbNodeId,
  seq: arbSafeUint,
  sentAt: arbHlc,
  records: arbRecords(1),
});

export const arbHeartbeat: fc.Arbitrary<HeartbeatMessage> = fc.record({
  type: fc.constant('heartbeat'),
  nodeId: arbNodeId,
  region: arbRegion,
  incarnation: arbSafeUint,
  state: fc.constantFrom(...MEMBER_STATES),
  weight: fc.integer({ min: 1, max: WEIGHT_MAX }),
  httpUrl: fc.oneof(fc.constant(''), fc.webUrl()),
  p2pAddrs: fc.array(
    fc
      .tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 }))
      .map(([ip, port]) => `/ip4/${ip}/tcp/${port}`),
    { maxLength: 4 },
  ),
  roomCount: arbSafeUint,
  ringChecksum: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 64 }),
  storeDigest: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 64 }),
  sentAt: arbHlc,
  seq: arbSafeUint,
  historySinceMs: arbSafeUint,
});

export const arbMemberSuspect: fc.Arbitrary<MemberSuspectMessage> = fc.record({
  type: fc.constant('member-suspect'),
  reporter: arbNodeId,
  subject: arbNodeId,
  subjectIncarnation: arbSafeUint,
  state: fc.constantFrom('suspect', 'dead'),
  sentAt: arbHlc,
});

export const arbLeave: fc.Arbitrary<LeaveMessage> = fc.record({
  type: fc.constant('leave'),
  nodeId: arbNodeId,
  incarnation: arbSafeUint,
  sentAt: arbHlc,
});

export const arbSyncDigest: fc.Arbitrary<SyncDigestMessage> = fc
  .integer({ min: 0, max: 8 })
  .chain((log2) =>
    fc.record({
      type: fc.constant('sync-digest' as const),
      nodeId: arbNodeId,
      sentAt: arbHlc,
      bucketCount: fc.constant(2 ** log2),
      digests: fc.uint8Array({ minLength: 2 ** log2 * 8, maxLength: 2 ** log2 * 8 }),
      storeDigest: fc.string({ maxLength: 64 }),
      recordCount: arbSafeUint,
    }),
  );

export const arbSyncBucketRequest: fc.Arbitrary<SyncBucketRequestMessage> = fc.record({
  type: fc.constant('sync-bucket-request'),
  buckets: arbBuckets,
  sids: fc.oneof(fc.constant<string[]>([]), fc.uniqueArray(arbSid, { maxLength: 20 })),
});

export const arbSyncBucketRecords: fc.Arbitrary<SyncBucketRecordsMessage> = fc.record({
  type: fc.constant('sync-bucket-records'),
  buckets: arbBuckets,
  records: arbRecords(0),
  done: fc.boolean(),
});

export const arbSyncSummaryRequest: fc.Arbitrary<SyncSummaryRequestMessage> = fc.record({
  type: fc.constant('sync-summary-request'),
  buckets: arbBuckets,
});

/** Any valid summary entry: bucket ids up to the limit, hash words over all of uint32. */
export const arbSyncSummaryEntry: fc.Arbitrary<SyncSummaryEntry> = fc.record({
  bucket: fc.oneof(fc.nat({ max: 63 }), fc.nat({ max: BUCKET_COUNT_MAX - 1 })),
  sid: arbSid,
  hashHi: arbUint32,
  hashLo: arbUint32,
});

export const arbSyncSummaries: fc.Arbitrary<SyncSummariesMessage> = fc.record({
  type: fc.constant('sync-summaries'),
  entries: fc.array(arbSyncSummaryEntry, { maxLength: 20 }),
  done: fc.boolean(),
});

export const arbSyncCellSummaryRequest: fc.Arbitrary<SyncCellSummaryRequestMessage> = fc
  .uniqueArray(fc.oneof(fc.nat({ max: 63 }), fc.nat({ max: BUCKET_COUNT_MAX - 1 })), {
    maxLength: Math.min(20, CELL_SUMMARY_BUCKETS_MAX),
  })
  .chain((buckets) =>
    fc.record({
      type: fc.constant('sync-cell-summary-request' as const),
      buckets: fc.constant(buckets),
      cellDigests: fc.uint8Array({
        minLength: buckets.length * CELLS_PER_BUCKET * 8,
        maxLength: buckets.length * CELLS_PER_BUCKET * 8,
      }),
      quiet: fc.option(
        fc.record({
          ms: fc.integer({ min: 1, max: SYNC_QUIET_MS_MAX }),
          changedCells: fc.uint8Array({
            minLength: buckets.length * 2,
            maxLength: buckets.length * 2,
          }),
        }),
        { nil: undefined },
      ),
    }),
  )
  // An absent quiet period is no field at all, as decoded.
  .map(({ quiet, ...rest }) => (quiet === undefined ? rest : { ...rest, quiet }));

/** Any valid cell summary entry. */
export const arbSyncCellSummaryEntry: fc.Arbitrary<SyncCellSummaryEntry> = fc.record({
  bucket: fc.oneof(fc.nat({ max: 63 }), fc.nat({ max: BUCKET_COUNT_MAX - 1 })),
  cell: fc.nat({ max: CELLS_PER_BUCKET - 1 }),
  sid: arbSid,
  hashHi: arbUint32,
  hashLo: arbUint32,
});

export const arbSyncCellSummaries: fc.Arbitrary<SyncCellSummariesMessage> = fc.record({
  type: fc.constant('sync-cell-summaries'),
  entries: fc.array(arbSyncCellSummaryEntry, { maxLength: 20 }),
  done: fc.boolean(),
});

export const arbReplicate: fc.Arbitrary<ReplicateMessage> = fc.record({
  type: fc.constant('replicate'),
  requestId: arbUint32,
  origin: arbNodeId,
  sentAt: arbHlc,
  records: arbRecords(1),
});

export const arbReplicateAck: fc.Arbitrary<ReplicateAckMessage> = fc.record({
  type: fc.constant('replicate-ack'),
  requestId: arbUint32,
  nodeId: arbNodeId,
  stored: fc.nat({ max: 4096 }),
});

export const arbRpcError: fc.Arbitrary<RpcErrorMessage> = fc.record({
  type: fc.constant('rpc-error'),
  requestId: arbUint32,
  code: fc.constantFrom(...RPC_ERROR_CODES),
  message: fc.string({ unit: 'binary', maxLength: 100 }), // <= 400 bytes
});

export const arbMemberEntry: fc.Arbitrary<Message> = fc.record({
  type: fc.constant('member-entry' as const),
  peerId: fc.string({
    unit: fc.constantFrom(...'123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'),
    minLength: 1,
    maxLength: 60,
  }),
  heartbeat: arbHeartbeat,
});

/** Any valid message of any type. */
export const arbMessage: fc.Arbitrary<Message> = fc.oneof(
  arbRoomBatch,
  arbHeartbeat,
  arbMemberEntry,
  arbMemberSuspect,
  arbLeave,
  arbSyncDigest,
  arbSyncBucketRequest,
  arbSyncBucketRecords,
  arbSyncSummaryRequest,
  arbSyncSummaries,
  arbSyncCellSummaryRequest,
  arbSyncCellSummaries,
  arbReplicate,
  arbReplicateAck,
  arbRpcError,
);

/** A fixed, typical record (~215 B encoded: a fresh room) for examples and benchmarks. */
export function exampleRecord(overrides: Partial<RoomRecord> = {}): RoomRecord {
  const creator = '12D3KooWGzR8bWqTUVvVxWbYcZd9fEhKjLmNpQrStUvWxYz2a3b4';
  const createdAt = packHlc(Date.UTC(2026, 10, 29, 6, 30), 7);
  return {
    name: 'acme/standup-room-42',
    sid: 'RM_4kTfZbqW9xYd',
    createdAt,
    creator,
    homeRegion: 'eu-west-1',
    settingsAt: createdAt,
    settingsBy: creator,
    emptyTimeoutS: 300,
    departureTimeoutS: 20,
    maxParticipants: 0,
    metadata: '{"topic":"daily standup"}',
    pinnedNode: '',
    statsAt: 0, // no stats reported yet; a stats report adds ~60 B (stamp + node id)
    statsBy: '',
    numParticipants: 0,
    numPublishers: 0,
    activeRecording: false,
    everOccupied: false,
    deletedAt: 0,
    deletedBy: '',
    ...overrides,
  };
}
