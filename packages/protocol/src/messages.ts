/**
 * Every message replicating nodes exchange (docs/protocol/wire-format.md has the table of
 * senders, receivers, purposes and limits). On the wire each is a msgpack array
 * `[PROTOCOL_VERSION, typeCode, ...fields]`, fields in the order declared here.
 */
import type { RoomRecord } from './room-record.js';

/**
 * Version of the wire format (envelope, every layout, the record tuple). A decoder accepts
 * exactly the versions it knows and answers anything else with DecodeError 'version'.
 */
export const PROTOCOL_VERSION = 1;

/** Membership states, as carried by heartbeats (DESIGN.md section 6). Wire code = index. */
export const MEMBER_STATES = ['alive', 'suspect', 'dead', 'left'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

/** States one node may report about another in member-suspect. */
export type SuspectState = 'suspect' | 'dead';

/** Error codes of rpc-error. Wire code = index. */
export const RPC_ERROR_CODES = [
  'bad-request',
  'too-large',
  'overloaded',
  'unavailable',
  'internal',
  'version',
] as const;
export type RpcErrorCode = (typeof RPC_ERROR_CODES)[number];

/** Gossip, rooms topic: a batch of changed records from one origin. */
export interface RoomBatchMessage {
  type: 'room-batch';
  /** Node id of the node that built the batch. */
  origin: string;
  /** Per-origin counter: (origin, seq) identifies the message for gossipsub dedup. */
  seq: number;
  /** Packed HLC at send time. */
  sentAt: number;
  /** 1..BATCH_RECORDS_MAX records. */
  records: RoomRecord[];
}

/** Gossip, membership topic: a node's periodic liveness and load report. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  nodeId: string;
  region: string;
  /** SWIM incarnation: raised to refute a suspicion. */
  incarnation: number;
  state: MemberState;
  /** Capacity weight for placement, WEIGHT_MIN..WEIGHT_MAX. */
  weight: number;
  /** HTTP base URL of the node's API, '' if it has none. */
  httpUrl: string;
  /** libp2p multiaddrs the node listens on, 0..P2P_ADDRS_MAX. */
  p2pAddrs: string[];
  roomCount: number;
  /** Checksum of the sender's ring membership view, so operators can spot disagreement. */
  ringChecksum: string;
  /** Digest of the sender's whole store: equal digests mean converged replicas. */
  storeDigest: string;
  sentAt: number;
  seq: number;
  /**
   * Wall-clock ms since which the sender's store has held the cluster's state without a
   * gap: its start (it starts empty), or earlier once it has pulled everything from a peer
   * whose history is older. A node back from a long isolation compares it with the time it
   * was cut off (docs/protocol/sync.md, GC-horizon rule).
   */
  historySinceMs: number;
}

/** Gossip, membership topic: `reporter` suspects (or declares dead) `subject`. */
export interface MemberSuspectMessage {
  type: 'member-suspect';
  reporter: string;
  subject: string;
  /** The subject incarnation the reporter suspects; the subject refutes with a higher one. */
  subjectIncarnation: number;
  state: SuspectState;
  sentAt: number;
}

/** Membership topic: a graceful stop, published before the node goes. */
export interface LeaveMessage {
  type: 'leave';
  nodeId: string;
  incarnation: number;
  sentAt: number;
}

/** Sync stream: a node's bucket digests (both the request and its response). */
export interface SyncDigestMessage {
  type: 'sync-digest';
  nodeId: string;
  sentAt: number;
  /** A power of two in BUCKET_COUNT_MIN..BUCKET_COUNT_MAX. */
  bucketCount: number;
  /** bucketCount * 8 bytes: two uint32 per bucket, as the store lays them out. */
  digests: Uint8Array;
  storeDigest: string;
  recordCount: number;
}

/**
 * Sync stream: records to send. With no `sids`, every record of the buckets (the buckets
 * whose digests differ and where the asker holds nothing); with `sids`, only the records of
 * the buckets that have one of those sids (the ones a summary showed to differ).
 */
export interface SyncBucketRequestMessage {
  type: 'sync-bucket-request';
  /** Distinct bucket indexes below BUCKET_COUNT_MAX (the session checks its bucketCount). */
  buckets: number[];
  /** Distinct valid sids, 0..SYNC_SIDS_MAX; empty = every record of the buckets. */
  sids: string[];
}

/** Sync stream: one bounded frame of the answer to a sync-bucket-request. */
export interface SyncBucketRecordsMessage {
  type: 'sync-bucket-records';
  /** Buckets whose records are now all sent (distinct, below BUCKET_COUNT_MAX). */
  buckets: number[];
  /** 0..FRAME_RECORDS_MAX records. */
  records: RoomRecord[];
  /** True on the last frame of the answer. */
  done: boolean;
}

/** Sync stream: send a summary (sid and record hash) of every record of these buckets. */
export interface SyncSummaryRequestMessage {
  type: 'sync-summary-request';
  /** Distinct bucket indexes below BUCKET_COUNT_MAX (the session checks its bucketCount). */
  buckets: number[];
}

/**
 * One record in a summary; on the wire `[bucket, sid, hashHi, hashLo]`. The hash is the
 * 64-bit record hash the sender's bucket digests XOR together (`recordHash` of
 * @roomring/store), so equal records give equal entries on every node.
 */
export interface SyncSummaryEntry {
  /** Below BUCKET_COUNT_MAX. */
  bucket: number;
  sid: string;
  /** High and low uint32 words of the record hash (0..HASH_WORD_MAX). */
  hashHi: number;
  hashLo: number;
}

/** Sync stream: one bounded frame of the answer to a sync-summary-request. */
export interface SyncSummariesMessage {
  type: 'sync-summaries';
  /** 0..SUMMARY_ENTRIES_MAX entries; a sender lists each bucket's entries together. */
  entries: SyncSummaryEntry[];
  /** True on the last frame of the answer. */
  done: boolean;
}

/**
 * Sync stream: send a summary of the records of these buckets, but only of the cells whose
 * digests differ from the asker's (`cellDigests`). Answered with sync-cell-summaries frames.
 */
export interface SyncCellSummaryRequestMessage {
  type: 'sync-cell-summary-request';
  /** Distinct bucket indexes below BUCKET_COUNT_MAX, at most CELL_SUMMARY_BUCKETS_MAX. */
  buckets: number[];
  /** The asker's cell digests of those buckets, in their order: buckets.length x
   *  CELLS_PER_BUCKET x 8 bytes (two little-endian uint32 per cell, low word first, as the
   *  bucket digests of sync-digest). */
  cellDigests: Uint8Array;
  /**
   * Leave out the cells that were not quiet for `ms` (1..SYNC_QUIET_MS_MAX): those whose
   * digest changed at the responder within the last `ms`, and those the asker marks in
   * `changedCells` (changed there within `ms`), most likely gossip still in flight. Sent only
   * for buckets that never stop changing (docs/protocol/sync.md, the churn rule). On the
   * wire two more tuple elements, `ms` and `changedCells`: buckets.length x 2 bytes, a
   * little-endian uint16 per bucket in their order whose bit c marks cell c. A build from
   * before them refuses the longer tuple as a bad request.
   */
  quiet?: { ms: number; changedCells: Uint8Array };
}

/** One record in a cell summary; on the wire `[bucket, cell, sid, hashHi, hashLo]`. */
export interface SyncCellSummaryEntry extends SyncSummaryEntry {
  /** Below CELLS_PER_BUCKET. */
  cell: number;
}

/** Sync stream: one bounded frame of the answer to a sync-cell-summary-request. */
export interface SyncCellSummariesMessage {
  type: 'sync-cell-summaries';
  /** 0..SUMMARY_ENTRIES_MAX entries; a sender lists each cell's entries together. */
  entries: SyncCellSummaryEntry[];
  /** True on the last frame of the answer. */
  done: boolean;
}

/** Direct request: store these records and acknowledge (durable writes, DESIGN.md P4). */
export interface ReplicateMessage {
  type: 'replicate';
  /** uint32 chosen by the sender, echoed in the ack. */
  requestId: number;
  origin: string;
  sentAt: number;
  /** 1..BATCH_RECORDS_MAX records. */
  records: RoomRecord[];
}

/** Direct response to replicate. */
export interface ReplicateAckMessage {
  type: 'replicate-ack';
  requestId: number;
  nodeId: string;
  /** How many of the request's records the replica now holds (0..BATCH_RECORDS_MAX). */
  stored: number;
}

/** Direct response: the request failed. */
export interface RpcErrorMessage {
  type: 'rpc-error';
  requestId: number;
  code: RpcErrorCode;
  /** Short, for logs: at most ERROR_MESSAGE_BYTES_MAX bytes. */
  message: string;
}

/**
 * Direct response, one frame per member: what the answering node last heard from a member
 * (its heartbeat) and the peer id that member speaks with. A node joining a large cluster
 * learns every member at once this way instead of waiting for their periodic heartbeats.
 */
export interface MemberEntryMessage {
  type: 'member-entry';
  /** The member's transport identity: 1..PEER_ID_BYTES_MAX bytes. */
  peerId: string;
  heartbeat: HeartbeatMessage;
}

export type Message =
  | RoomBatchMessage
  | HeartbeatMessage
  | MemberEntryMessage
  | MemberSuspectMessage
  | LeaveMessage
  | SyncDigestMessage
  | SyncBucketRequestMessage
  | SyncBucketRecordsMessage
  | SyncSummaryRequestMessage
  | SyncSummariesMessage
  | SyncCellSummaryRequestMessage
  | SyncCellSummariesMessage
  | ReplicateMessage
  | ReplicateAckMessage
  | RpcErrorMessage;

export type MessageType = Message['type'];

/** Wire type codes. Never reuse a retired code. */
export const MESSAGE_TYPE_CODES = {
  'room-batch': 1,
  heartbeat: 2,
  'member-suspect': 3,
  leave: 4,
  'sync-digest': 5,
  'sync-bucket-request': 6,
  'sync-bucket-records': 7,
  replicate: 8,
  'replicate-ack': 9,
  'rpc-error': 10,
  'sync-summary-request': 11,
  'sync-summaries': 12,
  'member-entry': 13,
  'sync-cell-summary-request': 14,
  'sync-cell-summaries': 15,
} as const satisfies Record<MessageType, number>;

const TYPES_BY_CODE = new Map<number, MessageType>(
  Object.entries(MESSAGE_TYPE_CODES).map(([type, code]) => [code, type as MessageType]),
);

/** The message type of a wire type code, or undefined for a code this build does not know. */
export function messageTypeOfCode(code: number): MessageType | undefined {
  return TYPES_BY_CODE.get(code);
}
