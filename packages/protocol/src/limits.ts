/**
 * EVERY limit on untrusted input, in one place (STYLE.md habit 2; DESIGN.md P6, P7).
 *
 * The decoder enforces each of these on every message and snapshot; the encoder enforces the
 * same ones, so a node can never emit what its peers would reject. docs/limits.md lists them
 * with their reasons, and a test fails when it misses one. Lengths of strings are UTF-8 bytes.
 * Changing a limit that a peer enforces is a wire change: see docs/protocol/wire-format.md.
 */
import { arrayHeaderBytes, strBytes, uintBytes } from './msgpack-sizes.js';
import { SID_LENGTH } from './sid.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const UINT32_MAX = 0xffff_ffff;

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

/** LiveKit's limit on room names (its `maxRoomNameLength`); names are any UTF-8, 1..256 B. */
export const ROOM_NAME_BYTES_MAX = 256;

/**
 * LiveKit allows 512 KiB of room metadata; we keep 64 KiB so one record stays well under a
 * gossip message: 64 KiB x 16 records = 1 MiB is the worst batch, and a typical record with
 * no metadata is ~200 B. Larger metadata belongs in an application store, not in a registry
 * every node replicates. The HTTP facade rejects larger metadata before it gets here.
 */
export const ROOM_METADATA_BYTES_MAX = 64 * KiB;

/**
 * Node ids are libp2p peer ids in practice: 52 characters for an Ed25519 key in base58
 * (`12D3KooW...`), 59 in base32 CIDv1. 128 B leaves room for an operator's own naming.
 */
export const NODE_ID_BYTES_MAX = 128;

/** Region names such as `eu-west-1` or `us-east4-a`: 64 B is twice the longest cloud name. */
export const REGION_BYTES_MAX = 64;

/** A node's advertised HTTP base URL ('' = none): 2,048 B, the common browser/proxy limit. */
export const URL_BYTES_MAX = 2_048;

/**
 * One multiaddr string, e.g. `/dns4/<253-byte name>/tcp/65535/p2p/<52-char id>` ~ 330 B at
 * most for the shapes we use; 512 B with margin.
 */
export const P2P_ADDR_BYTES_MAX = 512;

/** A transport peer id string (libp2p: 52-59 characters): 128 B with margin. */
export const PEER_ID_BYTES_MAX = 128;

/** Multiaddrs per heartbeat: ip4 + ip6 x tcp + ws x a few interfaces; 16 x 512 B = 8 KiB max. */
export const P2P_ADDRS_MAX = 16;

/** Ring checksums and store digests are hex or base64 hashes: a SHA-512 in hex is 128 B. */
export const CHECKSUM_BYTES_MAX = 128;

/** rpc-error messages are for logs: 512 B is a long sentence, not a stack trace. */
export const ERROR_MESSAGE_BYTES_MAX = 512;

// ---------------------------------------------------------------------------------------------
// Numbers (all integers; HLC stamps and counters are non-negative safe integers)
// ---------------------------------------------------------------------------------------------

/** LiveKit's CreateRoomRequest.empty_timeout is a uint32 (seconds): we accept its whole range. */
export const EMPTY_TIMEOUT_S_MAX = UINT32_MAX;

/** LiveKit's departure_timeout is a uint32 (seconds) too. */
export const DEPARTURE_TIMEOUT_S_MAX = UINT32_MAX;

/** LiveKit's max_participants is a uint32; 0 means unlimited. */
export const MAX_PARTICIPANTS_MAX = UINT32_MAX;

/** numParticipants and numPublishers: uint32 as LiveKit's Room.num_participants. */
export const PARTICIPANTS_MAX = UINT32_MAX;

/**
 * Packed HLC stamps (hlc.ts): 2^53 - 1 is the last exact integer, reached in ~2089 with the
 * 2020 epoch and 12 logical bits. Any larger value would lose precision in a JS number.
 */
export const HLC_STAMP_MAX = Number.MAX_SAFE_INTEGER;

/**
 * SWIM incarnation numbers. A node may seed its incarnation from wall-clock ms at start
 * (1.7e12 today) so a restarted node outranks its old self without any disk (P8); 2^53 - 1
 * leaves 5,000x headroom above that.
 */
export const INCARNATION_MAX = Number.MAX_SAFE_INTEGER;

/** A member's capacity weight: at least 1 (a zero-weight member would own nothing). */
export const WEIGHT_MIN = 1;

/** Weight scales a member's ring points (2,048 per unit in @roomring/ring): 100 x 2,048 =
 *  205k points for the largest member keeps a ring build under a second. */
export const WEIGHT_MAX = 100;

/** Per-origin gossip sequence numbers: 1e6 messages/s would take 285 years to reach 2^53. */
export const SEQ_MAX = Number.MAX_SAFE_INTEGER;

/** Counters of rooms and records in heartbeats and digests: exact JS integers. */
export const COUNT_MAX = Number.MAX_SAFE_INTEGER;

/** Request ids of the replicate protocol: a uint32 per node, wrapping, matched per stream. */
export const REQUEST_ID_MAX = UINT32_MAX;

// ---------------------------------------------------------------------------------------------
// Records, messages, frames
// ---------------------------------------------------------------------------------------------

/** Fields of the positional record tuple (docs/protocol/wire-format.md, "Record tuple"). */
const RECORD_TUPLE_FIELDS = 20;

/**
 * Largest encoded room record, DERIVED from the field limits above (not a separate check):
 * every string at its maximum (name 256, sid 15, metadata 64 KiB, six node ids / region at
 * theirs), four HLC stamps as float64 (9 B), five uint32 settings/stats (5 B), two booleans,
 * the array16 header. = 66,598 B. estimateRecordBytes() never exceeds it, and it is far below
 * a frame, so a single record always fits in one message (1 MiB / 66,598 B = 15 records).
 */
export const RECORD_BYTES_MAX =
  strBytes(ROOM_NAME_BYTES_MAX) + // name
  strBytes(15) + // sid: 'RM_' + 12 base57 characters
  strBytes(NODE_ID_BYTES_MAX) * 5 + // creator, settingsBy, pinnedNode, statsBy, deletedBy
  strBytes(REGION_BYTES_MAX) + // homeRegion
  strBytes(ROOM_METADATA_BYTES_MAX) + // metadata
  uintBytes(HLC_STAMP_MAX) * 4 + // createdAt, settingsAt, statsAt, deletedAt
  uintBytes(UINT32_MAX) * 5 + // emptyTimeoutS, departureTimeoutS, maxParticipants, 2 counts
  2 + // activeRecording, everOccupied
  arrayHeaderBytes(RECORD_TUPLE_FIELDS);

/**
 * Largest gossip message (room-batch, heartbeat, member-suspect, leave). 1 MiB keeps one
 * message under gossipsub's default inbound limit and its few-second cache small:
 * 4,096 records x ~200 B = 800 KiB, under the limit with typical records.
 */
export const GOSSIP_MESSAGE_BYTES_MAX = 1 * MiB;

/**
 * Largest frame on a request/response or sync stream (sync-*, replicate, rpc-error). 1 MiB
 * = 5,000 typical records per frame, ~1 ms of transfer at 1 GB/s, and a bounded buffer per
 * stream; well under @libp2p/utils lpStream's 4 MiB default.
 */
export const STREAM_FRAME_BYTES_MAX = 1 * MiB;

/** decodeMessage() refuses longer input before parsing: the larger of the two above. */
export const MESSAGE_BYTES_MAX = Math.max(GOSSIP_MESSAGE_BYTES_MAX, STREAM_FRAME_BYTES_MAX);

/**
 * Records per room-batch or replicate message. Bytes already bound a message; this bounds the
 * merge work one message can cost a receiver: 4,096 merges x ~0.5 us = 2 ms of event loop.
 * (Tiny valid records are ~60 B, so 1 MiB alone would admit 17,000.)
 */
export const BATCH_RECORDS_MAX = 4_096;

/**
 * Record bytes per room-batch/replicate, for batchers and splitIntoFrames(): the message
 * limit minus 1 KiB for the envelope (version, type, origin <= 130 B, seq, sentAt, requestId,
 * array headers: <= 170 B).
 */
export const BATCH_RECORD_BYTES_MAX = GOSSIP_MESSAGE_BYTES_MAX - 1 * KiB;

/**
 * Incarnations (live and tombstoned) one name keeps on any node. A merge that would pass it
 * keeps the INCARNATIONS_KEPT_PER_NAME_MAX newest by creation order `(createdAt, creator,
 * sid)` and forgets the rest, which is the same set on every node whatever the order of
 * arrival (top-k of a union by a fixed order is commutative, associative and idempotent).
 * Every node of a cluster must use the same value: it is not a setting. Local creates stop
 * far earlier (the store's incarnationsPerNameMax, 256), so only the union of many
 * partition sides each re-creating a name hundreds of times can reach it.
 * 1,024 x ~300 B = ~300 KiB for the worst name; a name's scan stays ~4 us.
 */
export const INCARNATIONS_KEPT_PER_NAME_MAX = 1_024;

/** Records per sync-bucket-records frame: same merge-work bound as BATCH_RECORDS_MAX. */
export const FRAME_RECORDS_MAX = 4_096;

/**
 * Record bytes per sync-bucket-records frame: the frame limit minus 256 KiB for the list of
 * completed buckets (65,536 ids x <= 3 B = 192 KiB) and the envelope (< 20 B).
 */
export const FRAME_RECORD_BYTES_MAX = STREAM_FRAME_BYTES_MAX - 256 * KiB;

/** Fewest anti-entropy buckets: 1 bucket = one digest over the whole store. */
export const BUCKET_COUNT_MIN = 1;

/**
 * Most anti-entropy buckets (a power of two): digests = 65,536 x 8 B = 512 KiB, half a frame.
 * More buckets only pay off past ~10M rooms (150 rooms per bucket at 10M).
 */
export const BUCKET_COUNT_MAX = 65_536;

/**
 * Default bucket count (DESIGN.md section 7): 4,096 x 8 B = 32 KiB of digests per exchange;
 * with 100k rooms, 24 rooms per bucket, so one lost update costs resending ~5 KiB.
 */
export const BUCKET_COUNT_DEFAULT = 4_096;

// ---------------------------------------------------------------------------------------------
// Anti-entropy summaries (docs/protocol/sync.md: summary step, then a pull of wanted sids)
// ---------------------------------------------------------------------------------------------

/**
 * Largest word of a record hash: sync-summaries carries each 64-bit record hash (the one the
 * bucket digests XOR together) as two uint32 words, high then low.
 */
export const HASH_WORD_MAX = UINT32_MAX;

/**
 * Largest encoded summary entry `[bucket, sid, hashHi, hashLo]`, DERIVED from the limits
 * above (not a separate check): fixarray header 1 B + bucket id below 65,536 as uint16 3 B +
 * sid 16 B + two uint32 words 5 B each = 30 B. A typical record is ~225 B, so a summary costs
 * ~1/8 of resending the record.
 */
export const SUMMARY_ENTRY_BYTES_MAX =
  arrayHeaderBytes(4) +
  uintBytes(BUCKET_COUNT_MAX - 1) +
  strBytes(SID_LENGTH) +
  2 * uintBytes(HASH_WORD_MAX);

/**
 * Entries per sync-summaries frame: 16,384 x 30 B = 480 KiB, under half of
 * STREAM_FRAME_BYTES_MAX; the same frame of records would be ~3.5 MiB. Also bounds the work
 * one frame costs the receiver: 16,384 hash compares x ~0.3 us = ~5 ms.
 */
export const SUMMARY_ENTRIES_MAX = 16_384;

/**
 * Cells per anti-entropy bucket. A bucket's records are split into cells by the top 4 bits of
 * their name's 32-bit hash (the bucket takes the low bits), and each node keeps a digest per
 * cell beside its bucket digests (XOR of the same record hashes, 16 x 8 B per bucket: 512 KiB
 * for 4,096 buckets). A cell summary (sync-cell-summary-request) carries the asker's cell
 * digests, and the answer lists only the records of cells that differ: during a fill most
 * buckets differ by a record or two of gossip in flight, and a summary of the whole bucket
 * (~250 records at 1M rooms) was re-read for it.
 */
export const CELLS_PER_BUCKET = 16;

/**
 * Buckets per sync-cell-summary-request: 4,096 x (16 x 8 B of cell digests + 3 B of bucket
 * id + 2 B of changed cells with a quiet period) = ~532 KiB, about half of MESSAGE_BYTES_MAX.
 */
export const CELL_SUMMARY_BUCKETS_MAX = 4_096;

/**
 * Longest quiet period a sync-cell-summary-request may ask for (`quiet.ms`): a node asks for
 * its settle period (at most 1 s); 60 s bounds what a peer can make a responder skip.
 */
export const SYNC_QUIET_MS_MAX = 60_000;

/**
 * Largest encoded cell summary entry `[bucket, cell, sid, hashHi, hashLo]`, DERIVED like
 * SUMMARY_ENTRY_BYTES_MAX: 1 + 3 + 1 (cell below 16, a fixint) + 16 + 2 x 5 = 31 B.
 */
export const CELL_SUMMARY_ENTRY_BYTES_MAX =
  arrayHeaderBytes(5) +
  uintBytes(BUCKET_COUNT_MAX - 1) +
  uintBytes(CELLS_PER_BUCKET - 1) +
  strBytes(SID_LENGTH) +
  2 * uintBytes(HASH_WORD_MAX);

/**
 * Sids per sync-bucket-request (the records a summary showed to differ): 16,384 x 16 B =
 * 256 KiB, plus at most 65,536 bucket ids x 3 B = 192 KiB, is 448 KiB, under a frame. A
 * session asks for more in several requests.
 */
export const SYNC_SIDS_MAX = 16_384;

/**
 * Deepest array nesting in any message: envelope > records > record tuple (or envelope >
 * entries > summary entry). Deeper input is rejected by the pre-scan before msgpackr's
 * recursive reader sees it (no stack exhaustion).
 */
export const NESTING_DEPTH_MAX = 3;

// ---------------------------------------------------------------------------------------------
// Snapshots (local files written by a node itself; still validated as untrusted on load)
// ---------------------------------------------------------------------------------------------

/**
 * Largest snapshot file: 2 GiB - 1 is Node's fs.readFile limit (kIoMaxLength), and
 * 10M rooms x ~200 B = 2 GB. A store that outgrows it fails to snapshot (EncodeError
 * 'too-large'), which is allowed: snapshots are optional (P8).
 */
export const SNAPSHOT_BYTES_MAX = 2 ** 31 - 1;

/** Records per snapshot: 10M rooms x ~1 KiB in memory = ~10 GiB, past any node we plan for. */
export const SNAPSHOT_RECORDS_MAX = 10_000_000;
