/**
 * The replicated room registry state of one node: a pure state machine (no I/O, no timers;
 * time and randomness injected). DESIGN.md section 4 (data model, merge rule, HLC, GC
 * horizon) and section 7 (bucket digests for anti-entropy).
 *
 * Layout: `bucketCount` tables, one per digest bucket, keyed by the room name's hash
 * (name-table.ts: open addressing, and a Map by name for names that collide past PROBE_MAX;
 * names are untrusted: never a plain object's keys). A name's value is its single
 * incarnation, or an array when it holds several (a concurrent create, or re-creates after
 * deletes). Every change XORs the record's old 64-bit hash out of its bucket's digest
 * and the new one in: O(1) per change. Incarnations are made by newIncarnation() (incarnation.ts:
 * one object literal, which V8 then allocates in the old generation), or are records a
 * decoder made with the same keys in the same order, adopted by merge.
 */
import {
  CELLS_PER_BUCKET,
  compareStamps,
  detachString,
  hlcWallMs,
  packHlc,
  type RoomRecord,
} from '@roomring/protocol';
import type { Clock, Random } from './clock.js';
import { digestOfWords } from './digest.js';
import { InvalidBucketError, TooManyIncarnationsError } from './errors.js';
import { compareSettings, compareStats, compareTombstones, sameIdentity } from './field-merge.js';
import { createHybridLogicalClock, type HybridLogicalClock } from './hybrid-logical-clock.js';
import {
  compareCreation,
  deleteHorizonOf,
  type Entry,
  entrySize,
  findSid,
  type Incarnation,
  isBehind,
  newIncarnation,
  visibleOf,
} from './incarnation.js';
import { StringInterner } from './interner.js';
import { cellOfHash, roomNameHash32 } from './name-hash.js';
import { NameTable } from './name-table.js';
import { xorRecordHashTwice } from './record-hash.js';
import { newSid } from './sid.js';
import { encodeStoreSnapshot, loadStoreSnapshot, type SnapshotLoadResult } from './snapshot.js';
import { type RoomStoreConfig, type RoomStoreInit, resolveStoreConfig } from './store-config.js';
import {
  type CreateRoomInput,
  checkCreateSettings,
  checkMetadata,
  checkRoomName,
  checkStats,
  DEFAULT_DEPARTURE_TIMEOUT_S,
  DEFAULT_EMPTY_TIMEOUT_S,
  isPlausibleRecord,
  type RoomStatsInput,
} from './validate.js';

/**
 * A stored incarnation as the store hands it out: the live object, not a copy (get() must
 * not allocate). Never mutate it; it changes as later writes and merges apply. Copy it
 * (`{ ...room }`) to keep a value.
 */
export type StoredRoom = Readonly<RoomRecord>;

export interface GetOrCreateResult {
  /** The visible incarnation: the existing one, or the one just created. */
  room: StoredRoom;
  /** True when this call created the incarnation (it must then be replicated). */
  created: boolean;
}

export type MergeOutcomeKind = 'inserted' | 'updated' | 'unchanged' | 'rejected';

/**
 * Why a remote record was refused (each counted, see `rejections()`):
 * - `invalid`: breaks an invariant the merge relies on (see validate.ts isPlausibleRecord);
 * - `clock-bound`: a stamp more than maxClockOffsetMs ahead of local wall time;
 * - `gc-horizon`: a tombstone whose newest stamp (its last write of any kind) is older than
 *   the GC horizon: it would come back after GC;
 * - `identity-conflict`: same name and sid as a stored incarnation, different createdAt,
 *   creator or homeRegion (identity is immutable: corruption or forgery);
 * - `incarnation-limit`: the name holds incarnationsKeptPerName incarnations, all created
 *   after this one (it would be the first forgotten); also counted when a merge makes an
 *   older kept one forgotten.
 */
export type MergeRejection =
  | 'invalid'
  | 'clock-bound'
  | 'gc-horizon'
  | 'identity-conflict'
  | 'incarnation-limit';

export interface MergeOutcome {
  kind: MergeOutcomeKind;
  /** Set when kind is 'rejected'. */
  rejection: MergeRejection | undefined;
  /** The stored incarnation after the merge; undefined when rejected. */
  record: StoredRoom | undefined;
  /** Visible sid of the record's name before / after (both undefined when rejected). */
  visibleSidBefore: string | undefined;
  visibleSidAfter: string | undefined;
}

export interface StoreCounts {
  /** Names holding at least one incarnation (live or tombstoned). */
  names: number;
  /** Names with a visible room. */
  visible: number;
  incarnations: number;
  live: number;
  tombstones: number;
}

export type MergeRejectionCounts = Readonly<Record<MergeRejection, number>>;

export interface RoomStore {
  readonly nodeId: string;
  readonly bucketCount: number;
  readonly tombstoneTtlMs: number;
  readonly config: RoomStoreConfig;
  /** The store's clock: stamps every local write and observes every merged record. */
  readonly hlc: HybridLogicalClock;

  /** The visible incarnation of `name`, or undefined. O(1), allocates nothing. */
  get(name: string): StoredRoom | undefined;
  /**
   * LiveKit get-or-create: the visible room unchanged (the other input fields are then
   * ignored, not validated), or a new incarnation (fresh sid, createdAt = hlc.now(),
   * creator = nodeId, LiveKit defaults for omitted settings).
   * Throws InvalidRoomNameError, InvalidRoomSettingsError, MetadataTooLargeError, or
   * TooManyIncarnationsError.
   */
  getOrCreate(input: CreateRoomInput): GetOrCreateResult;
  /** New metadata for the visible room (settings group write); undefined if none. */
  updateMetadata(name: string, metadata: string): StoredRoom | undefined;
  /**
   * A hosting node's stats report for the visible room (stats group write); `everOccupied`
   * becomes true once numParticipants > 0. Undefined if no visible room.
   */
  updateStats(name: string, stats: RoomStatsInput): StoredRoom | undefined;
  /**
   * Tombstones every live incarnation of `name` (so no losing incarnation of a concurrent
   * create becomes visible after the delete). Returns them, the visible one first; empty
   * when the name has no live incarnation. Each must be replicated.
   */
  delete(name: string): StoredRoom[];
  /**
   * Removes one incarnation of `name` as if it had never been stored: no tombstone. Only for
   * the GC-horizon rule, when a node back from a long isolation learns that a peer whose
   * history covers the isolation no longer holds it (deleted and collected meanwhile).
   * Returns the removed incarnation, or undefined when `name` holds no such sid.
   */
  forget(name: string, sid: string): StoredRoom | undefined;
  /** Live incarnations of `name` that lost to the visible one (a concurrent create), in
   *  creation order; not those behind the name's delete horizon. */
  losers(name: string): StoredRoom[];
  /** Every stored incarnation of `name` (live and tombstoned), in creation order. */
  incarnations(name: string): StoredRoom[];
  /**
   * Merges a remote (already schema-validated) record. Never throws for bad input.
   *
   * `adopt`: the store may keep `record` itself as a new incarnation instead of a copy (its
   * node ids and regions swapped for the interned ones). Only for a record from
   * decodeMessage, whose strings share memory with no other string, and that the caller
   * then gives up: it keeps no reference (a later change to the room changes the object in
   * place) and writes no field. Saves the copy of every new room a node receives (an object,
   * its name and its sid).
   */
  merge(record: RoomRecord, adopt?: boolean): MergeOutcome;

  counts(): StoreCounts;
  /** Remote records refused by `merge` since creation, by reason. */
  rejections(): MergeRejectionCounts;
  /** Every visible room, bucket by bucket. */
  visibleRooms(): IterableIterator<StoredRoom>;
  /** Every stored name, including names holding only tombstones. */
  names(): IterableIterator<string>;

  /** The digest bucket of a name: roomNameHash32(name) masked to bucketCount. */
  bucketOf(name: string): number;
  /** A copy of the digests: words 2b and 2b+1 are the low / high half of bucket b's. */
  bucketDigests(): Uint32Array;
  /** 16 hex characters over all bucket digests: equal stores give equal strings. */
  digest(): string;
  /** Names with an incarnation (live or tombstone) in `bucket`; O(1). */
  namesInBucket(bucket: number): number;
  /** Every incarnation (tombstones included) stored in `bucket`. */
  recordsInBucket(bucket: number): IterableIterator<StoredRoom>;
  /**
   * A copy of `bucket`'s cell digests (docs/protocol/sync.md): words 2c and 2c+1 are the low
   * / high half of cell c's, the XOR of the hashes of its records, as for a bucket. The
   * cells' digests XOR together to the bucket's.
   */
  cellDigests(bucket: number): Uint32Array;
  /** Every incarnation (tombstones included) stored in one cell of `bucket`. */
  recordsInCell(bucket: number, cell: number): StoredRoom[];
  /**
   * The cells of `bucket` whose digest changed later than `afterMs` (the store's clock), as a
   * mask: bit c for cell c. Anti-entropy leaves out of a comparison under the churn rule the
   * cells that changed within its settle period (docs/protocol/sync.md).
   */
  cellsChangedAfter(bucket: number, afterMs: number): number;
  /** Every stored incarnation, tombstones included, bucket by bucket. */
  records(): IterableIterator<StoredRoom>;

  /**
   * Drops tombstones whose newest stamp is older than the GC horizon, sweeping `bucketsMax` buckets from where the
   * previous call stopped (all of them by default), so a caller can bound the work per tick.
   * Returns how many tombstones it dropped.
   */
  gc(bucketsMax?: number): number;
  /** packHlc(wall now - tombstoneTtlMs, 0): tombstones older than this are dropped/refused. */
  gcHorizon(): number;
  /** Forgets every record (before a full resync). Keeps the HLC and the rejection counts. */
  clear(): void;

  /**
   * The whole store (tombstones included) as a snapshot file's bytes, via the protocol's
   * codec; takenAt = hlc.now(). Throws the protocol's EncodeError past its size limits.
   */
  encodeSnapshot(): Uint8Array;
  /**
   * Merges a snapshot's records into the store, unless the snapshot is older than the GC
   * horizon (then nothing is loaded and `loaded` is false: resync from a peer instead).
   * Throws InvalidSnapshotError (the protocol's DecodeError as `cause`) for bad bytes.
   */
  loadSnapshot(bytes: Uint8Array): SnapshotLoadResult;
}

const NO_ROOMS: StoredRoom[] = [];

/**
 * The newest stamp of a record: its last write of any kind. A tombstone is kept until this is
 * older than the GC horizon, not merely its delete: a write made before the delete reached
 * its writer (an update at a node that had not heard it, or of an incarnation a name's delete
 * horizon ended) can still be in flight after the delete, and arriving where the tombstone is
 * gone it would bring the room back (swarm seed 1273).
 */
function maxStamp(record: RoomRecord): number {
  return Math.max(record.createdAt, record.settingsAt, record.statsAt, record.deletedAt);
}

/** Every incarnation of a table, in one array (a bucket holds a few hundred at most; an
 *  array's own iterator walks them faster than a generator resumed per incarnation). */
function recordsOf(table: NameTable): StoredRoom[] {
  const out: StoredRoom[] = [];
  for (const entry of table.values()) {
    if (Array.isArray(entry)) for (const room of entry) out.push(room);
    else out.push(entry);
  }
  return out;
}

/** The first-created incarnation of an entry (the one the incarnation cap forgets). */
function oldestOf(entry: Entry): Incarnation {
  if (!Array.isArray(entry)) return entry;
  let oldest = entry[0]!;
  for (let i = 1; i < entry.length; i++) {
    if (compareCreation(entry[i]!, oldest) < 0) oldest = entry[i]!;
  }
  return oldest;
}

function sortedByCreation(list: Incarnation[]): Incarnation[] {
  return list.sort(compareCreation);
}

export class RoomStoreImpl implements RoomStore {
  readonly nodeId: string;
  readonly bucketCount: number;
  readonly tombstoneTtlMs: number;
  readonly hlc: HybridLogicalClock;

  private readonly mask: number;
  private readonly random: Random;
  private readonly interner: StringInterner;
  private buckets: NameTable[];
  private readonly digests: Uint32Array;
  /** CELLS_PER_BUCKET digests per bucket, laid out as `digests`: cell c of bucket b at
   *  2 * (b * CELLS_PER_BUCKET + c). 512 KiB for 4,096 buckets. */
  private readonly cells: Uint32Array;
  /** When each cell's digest last changed (the clock's ms; 0: never), cell c of bucket b at
   *  b * CELLS_PER_BUCKET + c. 512 KiB for 4,096 buckets. */
  private readonly cellChangedAt: Float64Array;
  private readonly clock: Clock;
  private nameCount = 0;
  private visibleCount = 0;
  private incarnationCount = 0;
  private liveCount = 0;
  private gcCursor = 0;
  private readonly rejected: Record<MergeRejection, number> = {
    invalid: 0,
    'clock-bound': 0,
    'gc-horizon': 0,
    'identity-conflict': 0,
    'incarnation-limit': 0,
  };

  constructor(
    readonly config: RoomStoreConfig,
    clock: Clock,
    random: Random,
  ) {
    this.bucketCount = config.bucketCount;
    this.tombstoneTtlMs = config.tombstoneTtlMs;
    this.mask = config.bucketCount - 1;
    this.random = random;
    this.interner = new StringInterner(config.internedStringsMax);
    this.nodeId = this.interner.intern(config.nodeId);
    this.hlc = createHybridLogicalClock({
      nodeId: this.nodeId,
      clock,
      maxClockOffsetMs: config.maxClockOffsetMs,
    });
    this.buckets = RoomStoreImpl.emptyBuckets(config.bucketCount);
    this.digests = new Uint32Array(config.bucketCount * 2);
    this.cells = new Uint32Array(config.bucketCount * CELLS_PER_BUCKET * 2);
    this.cellChangedAt = new Float64Array(config.bucketCount * CELLS_PER_BUCKET);
    this.clock = clock;
  }

  private static emptyBuckets(count: number): NameTable[] {
    return Array.from({ length: count }, () => new NameTable());
  }

  // --- reads -------------------------------------------------------------------------------

  get(name: string): StoredRoom | undefined {
    const entry = this.entryOf(name);
    return entry === undefined ? undefined : visibleOf(entry);
  }

  losers(name: string): StoredRoom[] {
    const entry = this.entryOf(name);
    if (entry === undefined || !Array.isArray(entry)) return [];
    const visible = visibleOf(entry);
    if (visible === undefined) return [];
    const horizon = deleteHorizonOf(entry);
    return sortedByCreation(
      entry.filter((r) => r.deletedAt === 0 && r !== visible && !isBehind(r, horizon)),
    );
  }

  incarnations(name: string): StoredRoom[] {
    const entry = this.entryOf(name);
    if (entry === undefined) return [];
    return Array.isArray(entry) ? sortedByCreation(entry.slice()) : [entry];
  }

  counts(): StoreCounts {
    return {
      names: this.nameCount,
      visible: this.visibleCount,
      incarnations: this.incarnationCount,
      live: this.liveCount,
      tombstones: this.incarnationCount - this.liveCount,
    };
  }

  rejections(): MergeRejectionCounts {
    return { ...this.rejected };
  }

  *visibleRooms(): IterableIterator<StoredRoom> {
    for (const table of this.buckets) {
      for (const entry of table.values()) {
        const visible = visibleOf(entry);
        if (visible !== undefined) yield visible;
      }
    }
  }

  *names(): IterableIterator<string> {
    for (const bucket of this.buckets) yield* bucket.names();
  }

  bucketOf(name: string): number {
    return roomNameHash32(name) & this.mask;
  }

  bucketDigests(): Uint32Array {
    return this.digests.slice();
  }

  digest(): string {
    return digestOfWords(this.digests);
  }

  namesInBucket(bucket: number): number {
    this.checkBucket(bucket);
    return this.buckets[bucket]!.size;
  }

  recordsInBucket(bucket: number): IterableIterator<StoredRoom> {
    // Checked here, not inside the generator, so a bad index throws at the call.
    this.checkBucket(bucket);
    return recordsOf(this.buckets[bucket]!).values();
  }

  cellDigests(bucket: number): Uint32Array {
    this.checkBucket(bucket);
    const first = 2 * bucket * CELLS_PER_BUCKET;
    return this.cells.slice(first, first + 2 * CELLS_PER_BUCKET);
  }

  cellsChangedAfter(bucket: number, afterMs: number): number {
    this.checkBucket(bucket);
    let mask = 0;
    const first = bucket * CELLS_PER_BUCKET;
    for (let cell = 0; cell < CELLS_PER_BUCKET; cell++) {
      if (this.cellChangedAt[first + cell]! > afterMs) mask |= 1 << cell;
    }
    return mask;
  }

  recordsInCell(bucket: number, cell: number): StoredRoom[] {
    this.checkBucket(bucket);
    if (!Number.isInteger(cell) || cell < 0 || cell >= CELLS_PER_BUCKET) {
      throw new InvalidBucketError(`cell ${cell} is not in 0..${CELLS_PER_BUCKET - 1}`);
    }
    const out: StoredRoom[] = [];
    for (const entry of this.buckets[bucket]!.entriesInCell(cell)) {
      if (Array.isArray(entry)) out.push(...entry);
      else out.push(entry);
    }
    return out;
  }

  private checkBucket(bucket: number): void {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= this.bucketCount) {
      throw new InvalidBucketError(`bucket ${bucket} is not in 0..${this.bucketCount - 1}`);
    }
  }

  *records(): IterableIterator<StoredRoom> {
    for (const table of this.buckets) yield* recordsOf(table);
  }

  encodeSnapshot(): Uint8Array {
    return encodeStoreSnapshot(this);
  }

  loadSnapshot(bytes: Uint8Array): SnapshotLoadResult {
    return loadStoreSnapshot(this, bytes);
  }

  // --- local writes ------------------------------------------------------------------------

  getOrCreate(input: CreateRoomInput): GetOrCreateResult {
    const name = input.name;
    if (typeof name !== 'string') checkRoomName(name);
    const hash = roomNameHash32(name);
    const table = this.buckets[hash & this.mask]!;
    const entry = table.get(name, hash);
    // The hit path validates nothing: an existing room is returned unchanged and every other
    // input field is ignored (LiveKit), and a stored name was valid when it was stored.
    if (entry === undefined) {
      checkRoomName(name);
    } else {
      const visible = visibleOf(entry);
      if (visible !== undefined) return { room: visible, created: false };
      if (entrySize(entry) >= this.config.incarnationsPerNameMax) {
        const retryAfterMs = this.msUntilFirstCollected(entry);
        throw new TooManyIncarnationsError(
          `the room name holds ${entrySize(entry)} incarnations, the limit ` +
            `(incarnationsPerNameMax = ${this.config.incarnationsPerNameMax}); a create can ` +
            `succeed once GC collects its oldest tombstone, in ${retryAfterMs} ms at the earliest`,
          retryAfterMs,
        );
      }
    }
    checkCreateSettings(input);
    const stamp = this.hlc.now();
    // Detached: a name parsed from a request body or built by a template literal can be a
    // slice of the body or a cons string; the store keeps it as long as the room lives.
    const room = newIncarnation(
      detachString(name),
      this.freshSid(entry),
      stamp,
      this.nodeId,
      this.interner.intern(input.homeRegion),
    );
    room.emptyTimeoutS = input.emptyTimeoutS ?? DEFAULT_EMPTY_TIMEOUT_S;
    room.departureTimeoutS = input.departureTimeoutS ?? DEFAULT_DEPARTURE_TIMEOUT_S;
    room.maxParticipants = input.maxParticipants ?? 0;
    room.metadata = detachString(input.metadata ?? '');
    room.pinnedNode = this.interner.intern(input.pinnedNode ?? '');
    this.insert(table, hash, entry, room);
    return { room, created: true };
  }

  updateMetadata(name: string, metadata: string): StoredRoom | undefined {
    checkMetadata(metadata);
    const room = this.visibleFor(name);
    if (room === undefined) return undefined;
    const hash = roomNameHash32(name);
    this.xorDigests(room, hash);
    room.settingsAt = this.hlc.now();
    room.settingsBy = this.nodeId;
    room.metadata = detachString(metadata);
    this.xorDigests(room, hash);
    return room;
  }

  updateStats(name: string, stats: RoomStatsInput): StoredRoom | undefined {
    checkStats(stats);
    const room = this.visibleFor(name);
    if (room === undefined) return undefined;
    const hash = roomNameHash32(name);
    this.xorDigests(room, hash);
    room.statsAt = this.hlc.now();
    room.statsBy = this.nodeId;
    room.numParticipants = stats.numParticipants;
    room.numPublishers = stats.numPublishers;
    room.activeRecording = stats.activeRecording;
    room.everOccupied = room.everOccupied || stats.numParticipants > 0;
    this.xorDigests(room, hash);
    return room;
  }

  delete(name: string): StoredRoom[] {
    const entry = this.entryOf(name);
    if (entry === undefined) return NO_ROOMS;
    const visible = visibleOf(entry);
    if (visible === undefined) return NO_ROOMS;
    const hash = roomNameHash32(name);
    const stamp = this.hlc.now();
    const deleted: Incarnation[] = [visible];
    if (Array.isArray(entry)) {
      // The losers of a concurrent create go too (incarnations behind the horizon already
      // are over: no need to write them again).
      const horizon = deleteHorizonOf(entry);
      for (const other of sortedByCreation(entry.slice())) {
        if (other.deletedAt === 0 && other !== visible && !isBehind(other, horizon)) {
          deleted.push(other);
        }
      }
    }
    for (const room of deleted) this.tombstone(room, stamp, hash);
    // Older tombstones of the name take the new horizon too, as on every node that merges
    // this delete (no need to send them: each node derives the same values).
    this.closeBehindHorizon(entry, hash);
    this.visibleCount--;
    return deleted;
  }

  forget(name: string, sid: string): StoredRoom | undefined {
    const hash = roomNameHash32(name);
    const table = this.buckets[hash & this.mask]!;
    const entry = table.get(name, hash);
    const target = entry === undefined ? undefined : findSid(entry, sid);
    if (entry === undefined || target === undefined) return undefined;
    this.evict(table, hash, entry, target);
    return target;
  }

  // --- remote writes -----------------------------------------------------------------------

  merge(record: RoomRecord, adopt = false): MergeOutcome {
    if (!isPlausibleRecord(record)) return this.reject('invalid');
    if (record.deletedAt !== 0 && maxStamp(record) < this.gcHorizon()) {
      return this.reject('gc-horizon');
    }
    if (!this.hlc.observe(maxStamp(record))) return this.reject('clock-bound');

    const name = record.name;
    const hash = roomNameHash32(name);
    const bucket = hash & this.mask;
    const table = this.buckets[bucket]!;
    const entry = table.get(name, hash);
    const before = entry === undefined ? undefined : visibleOf(entry);
    const local = entry === undefined ? undefined : findSid(entry, record.sid);

    if (local === undefined) {
      let target = entry;
      let evicted: Incarnation | undefined;
      if (target !== undefined && entrySize(target) >= this.config.incarnationsKeptPerName) {
        // Keep the newest-created, the same set on every node whatever the arrival order: a
        // record older than all kept ones is forgotten at once, otherwise the oldest kept one.
        const oldest = oldestOf(target);
        if (compareCreation(record, oldest) < 0) {
          // Forgotten at once, but its tombstone still moves the name's delete horizon over
          // what is kept, as it would have had it arrived first.
          if (record.deletedAt !== 0) {
            this.closeBehindHorizon(target, hash, record);
            const after = visibleOf(target);
            if (before !== undefined && after === undefined) this.visibleCount--;
          }
          return this.reject('incarnation-limit');
        }
        target = this.evict(table, hash, target, oldest);
        this.rejected['incarnation-limit']++;
        evicted = oldest;
      }
      const room = adopt ? this.adopted(record) : this.copyOf(record);
      let after = this.insert(table, hash, target, room);
      if (evicted !== undefined && evicted.deletedAt !== 0) {
        // The forgotten tombstone's horizon still holds over what is kept (and the newcomer).
        const now = table.get(name, hash)!;
        this.closeBehindHorizon(now, hash, evicted);
        const hidden = visibleOf(now);
        if (after !== undefined && hidden === undefined) this.visibleCount--;
        after = hidden;
      }
      return this.outcome('inserted', room, before, after);
    }

    if (!sameIdentity(local, record)) return this.reject('identity-conflict');
    const settingsWin = compareSettings(record, local) > 0;
    const statsWin = compareStats(record, local) > 0;
    const tombstoneWins = compareTombstones(record, local) > 0;
    if (!settingsWin && !statsWin && !tombstoneWins) {
      return this.outcome('unchanged', local, before, before);
    }
    this.xorDigests(local, hash);
    if (settingsWin) {
      local.settingsAt = record.settingsAt;
      local.settingsBy = this.interner.intern(record.settingsBy);
      local.emptyTimeoutS = record.emptyTimeoutS;
      local.departureTimeoutS = record.departureTimeoutS;
      local.maxParticipants = record.maxParticipants;
      local.metadata = detachString(record.metadata);
      local.pinnedNode = this.interner.intern(record.pinnedNode);
    }
    if (statsWin) {
      local.statsAt = record.statsAt;
      local.statsBy = this.interner.intern(record.statsBy);
      local.numParticipants = record.numParticipants;
      local.numPublishers = record.numPublishers;
      local.activeRecording = record.activeRecording;
      local.everOccupied = record.everOccupied;
    }
    if (tombstoneWins) {
      if (local.deletedAt === 0) this.liveCount--;
      local.deletedAt = record.deletedAt;
      local.deletedBy = this.interner.intern(record.deletedBy);
    }
    this.xorDigests(local, hash);
    if (tombstoneWins) this.closeBehindHorizon(entry!, hash);
    const after = tombstoneWins ? visibleOf(entry!) : before;
    if (before !== undefined && after === undefined) this.visibleCount--;
    return this.outcome('updated', local, before, after);
  }

  // --- garbage collection ------------------------------------------------------------------

  gcHorizon(): number {
    return packHlc(this.hlc.wallMs() - this.tombstoneTtlMs, 0);
  }

  gc(bucketsMax: number = this.bucketCount): number {
    const horizon = this.gcHorizon();
    const sweep = Math.min(Math.max(0, Math.floor(bucketsMax)), this.bucketCount);
    let dropped = 0;
    for (let i = 0; i < sweep; i++) {
      dropped += this.gcBucket(this.gcCursor, horizon);
      this.gcCursor = (this.gcCursor + 1) & this.mask;
    }
    return dropped;
  }

  clear(): void {
    this.buckets = RoomStoreImpl.emptyBuckets(this.bucketCount);
    this.digests.fill(0);
    this.cells.fill(0);
    // Every cell that held a record changed just now.
    const now = this.clock.nowMs();
    for (let unit = 0; unit < this.cellChangedAt.length; unit++) {
      if (this.cellChangedAt[unit]! > 0) this.cellChangedAt[unit] = now;
    }
    this.nameCount = 0;
    this.visibleCount = 0;
    this.incarnationCount = 0;
    this.liveCount = 0;
    this.gcCursor = 0;
  }

  // --- internals ---------------------------------------------------------------------------

  /** XORs `room`'s record hash into its bucket's and its cell's digests (`hash`: its name's
   *  roomNameHash32): before a change to take the old hash out, after it to put the new in. */
  private xorDigests(room: RoomRecord, hash: number): void {
    const bucket = hash & this.mask;
    const unit = bucket * CELLS_PER_BUCKET + cellOfHash(hash);
    xorRecordHashTwice(room, this.digests, 2 * bucket, this.cells, 2 * unit);
    this.cellChangedAt[unit] = this.clock.nowMs();
  }

  private entryOf(name: string): Entry | undefined {
    const hash = roomNameHash32(name);
    return this.buckets[hash & this.mask]!.get(name, hash);
  }

  private visibleFor(name: string): Incarnation | undefined {
    const entry = this.entryOf(name);
    return entry === undefined ? undefined : visibleOf(entry);
  }

  /** Adds `room` to its name's entry; returns the name's visible incarnation afterwards. */
  private insert(
    table: NameTable,
    hash: number,
    entry: Entry | undefined,
    room: Incarnation,
  ): Incarnation | undefined {
    let after: Incarnation | undefined;
    if (entry === undefined) {
      table.set(room.name, hash, room);
      this.nameCount++;
      after = room.deletedAt === 0 ? room : undefined;
    } else {
      const before = visibleOf(entry);
      let next: Incarnation[];
      if (!Array.isArray(entry)) {
        next = [entry, room];
        table.set(room.name, hash, next);
      } else {
        entry.push(room);
        next = entry;
      }
      // A tombstone may move the name's delete horizon past the visible one, a live record
      // may come first or lie behind the horizon: derived from the whole entry again.
      after = visibleOf(next);
      if (before !== undefined) this.visibleCount--; // re-added below when still visible
    }
    this.incarnationCount++;
    if (room.deletedAt === 0) this.liveCount++;
    if (after !== undefined) this.visibleCount++;
    this.xorDigests(room, hash);
    // A name's first incarnation has no other to close (and no second lookup is needed).
    if (entry !== undefined) this.closeBehindHorizon(table.get(room.name, hash)!, hash);
    return after;
  }

  /**
   * Gives every incarnation created before the name's delete horizon (its newest tombstone)
   * the horizon's own tombstone `(deletedAt, deletedBy)`: live ones (a concurrent create the
   * deleting node never saw) and older tombstones alike. The result is a function of the set
   * of records alone, so every node that holds the same records holds the same values (no
   * write to replicate, merge stays commutative), and everything behind a horizon is
   * collected together with it. A hidden incarnation left live would outlive the tombstone
   * that hides it on a node whose GC ran first, and come back from a peer that still held it
   * (found by the swarm, seed 44). Never changes which room is visible.
   */
  private closeBehindHorizon(entry: Entry, hash: number, refused?: RoomRecord): void {
    // A lone incarnation is its own horizon or has none: nothing to close (no array built).
    if (!Array.isArray(entry) && refused === undefined) return;
    const list = Array.isArray(entry) ? entry : [entry];
    let horizon: RoomRecord | undefined = deleteHorizonOf(list);
    if (
      refused !== undefined &&
      (horizon === undefined ||
        compareStamps(refused.deletedAt, refused.deletedBy, horizon.deletedAt, horizon.deletedBy) >
          0)
    ) {
      horizon = refused;
    }
    if (horizon === undefined) return;
    for (const room of list) {
      if (room === horizon || !isBehind(room, horizon)) continue;
      if (room.deletedAt === horizon.deletedAt && room.deletedBy === horizon.deletedBy) continue;
      this.xorDigests(room, hash);
      if (room.deletedAt === 0) this.liveCount--;
      room.deletedAt = horizon.deletedAt;
      room.deletedBy = this.interner.intern(horizon.deletedBy);
      this.xorDigests(room, hash);
    }
  }

  /** Removes one incarnation of a name (the incarnation cap of merge, forget()); returns the
   *  name's entry afterwards, undefined when it held only that one. */
  private evict(
    table: NameTable,
    hash: number,
    entry: Entry,
    victim: Incarnation,
  ): Entry | undefined {
    const visibleBefore = visibleOf(entry);
    const kept = Array.isArray(entry) ? entry.filter((room) => room !== victim) : [];
    this.xorDigests(victim, hash);
    this.incarnationCount--;
    if (victim.deletedAt === 0) this.liveCount--;
    let next: Entry | undefined;
    if (kept.length === 0) {
      table.delete(victim.name, hash);
      this.nameCount--;
    } else {
      next = kept.length === 1 ? kept[0]! : kept;
      table.set(victim.name, hash, next);
    }
    const visibleAfter = next === undefined ? undefined : visibleOf(next);
    if (visibleBefore !== undefined) this.visibleCount--;
    if (visibleAfter !== undefined) this.visibleCount++;
    return next;
  }

  private tombstone(room: Incarnation, stamp: number, hash: number): void {
    this.xorDigests(room, hash);
    room.deletedAt = stamp;
    room.deletedBy = this.nodeId;
    this.xorDigests(room, hash);
    this.liveCount--;
  }

  /**
   * Ms until gc() may drop the first of an entry's tombstones: one whose newest stamp is
   * older than the horizon, wall now - tombstoneTtlMs. A lower bound: gc() sweeps a slice of
   * the buckets at a time. Cold path (a refused create): a scan of at most
   * incarnationsKeptPerName (1,024) records.
   */
  private msUntilFirstCollected(entry: Entry): number {
    let first = Number.POSITIVE_INFINITY;
    for (const room of Array.isArray(entry) ? entry : [entry]) {
      if (room.deletedAt !== 0) first = Math.min(first, hlcWallMs(maxStamp(room)));
    }
    if (first === Number.POSITIVE_INFINITY) return this.tombstoneTtlMs;
    return Math.max(1, first + this.tombstoneTtlMs + 1 - this.hlc.wallMs());
  }

  private gcBucket(bucket: number, horizon: number): number {
    const table = this.buckets[bucket]!;
    let dropped = 0;
    for (const entry of table.values()) dropped += this.gcEntry(table, entry, horizon);
    this.incarnationCount -= dropped;
    return dropped;
  }

  /** Drops an entry's tombstones past the GC horizon; returns how many. */
  private gcEntry(table: NameTable, entry: Entry, horizon: number): number {
    if (!Array.isArray(entry)) {
      if (entry.deletedAt === 0 || maxStamp(entry) >= horizon) return 0;
      const hash = roomNameHash32(entry.name);
      this.xorDigests(entry, hash);
      table.delete(entry.name, hash);
      this.nameCount--;
      return 1;
    }
    // Tombstones past the GC horizon go (no live incarnation lies behind a delete horizon:
    // closeBehindHorizon gave each the horizon's own tombstone).
    const expires = (room: Incarnation): boolean =>
      room.deletedAt !== 0 && maxStamp(room) < horizon;
    let expired = 0;
    for (const room of entry) if (expires(room)) expired++;
    if (expired === 0) return 0;
    const name = entry[0]!.name;
    const hash = roomNameHash32(name);
    const kept: Incarnation[] = [];
    for (const room of entry) {
      if (expires(room)) this.xorDigests(room, hash);
      else kept.push(room);
    }
    if (kept.length === 0) {
      table.delete(name, hash);
      this.nameCount--;
    } else table.set(name, hash, kept.length === 1 ? kept[0]! : kept);
    return expired;
  }

  /** A sid no incarnation of this name holds (a repeat has odds of ~1e-21 per draw). */
  private freshSid(entry: Entry | undefined): string {
    for (;;) {
      const sid = newSid(this.random);
      if (entry === undefined || findSid(entry, sid) === undefined) return sid;
    }
  }

  /**
   * The stored copy of a remote record: our fixed shape, node ids and regions interned, and
   * no string that shares memory with the decoded batch (detach-string.ts: a decoded name or
   * sid is a slice of up to 6 KB of its batch; kept as is, ~100-250 B per room at 1M rooms).
   */
  private copyOf(record: RoomRecord): Incarnation {
    const intern = this.interner;
    const room = newIncarnation(
      detachString(record.name),
      detachString(record.sid),
      record.createdAt,
      intern.intern(record.creator),
      intern.intern(record.homeRegion),
    );
    // The constructor set settingsAt and statsAt to createdAt, sharing its heap number; keep
    // that sharing when the values are equal (a new room's are): 32 B per room (measured).
    if (record.settingsAt !== record.createdAt) room.settingsAt = record.settingsAt;
    room.settingsBy = intern.intern(record.settingsBy);
    room.emptyTimeoutS = record.emptyTimeoutS;
    room.departureTimeoutS = record.departureTimeoutS;
    room.maxParticipants = record.maxParticipants;
    room.metadata = detachString(record.metadata);
    room.pinnedNode = intern.intern(record.pinnedNode);
    if (record.statsAt !== record.createdAt) room.statsAt = record.statsAt;
    room.statsBy = intern.intern(record.statsBy);
    room.numParticipants = record.numParticipants;
    room.numPublishers = record.numPublishers;
    room.activeRecording = record.activeRecording;
    room.everOccupied = record.everOccupied;
    room.deletedAt = record.deletedAt;
    room.deletedBy = intern.intern(record.deletedBy);
    return room;
  }

  /**
   * `record` itself as a stored incarnation (merge's `adopt`): node ids and regions interned
   * in place, and settingsAt and statsAt sharing createdAt's heap number when they are equal,
   * as copyOf keeps them (a decoder boxes each stamp it reads on its own: 32 B per room).
   * Its object shape is newIncarnation's: both decoders' literals list the same keys in the
   * same order, so V8 gives them one map, with the fields newIncarnation made tagged.
   */
  private adopted(record: RoomRecord): Incarnation {
    const intern = this.interner;
    record.creator = intern.intern(record.creator);
    record.homeRegion = intern.intern(record.homeRegion);
    if (record.settingsAt === record.createdAt) record.settingsAt = record.createdAt;
    record.settingsBy = intern.intern(record.settingsBy);
    record.pinnedNode = intern.intern(record.pinnedNode);
    if (record.statsAt === record.createdAt) record.statsAt = record.createdAt;
    record.statsBy = intern.intern(record.statsBy);
    record.deletedBy = intern.intern(record.deletedBy);
    return record;
  }

  private reject(rejection: MergeRejection): MergeOutcome {
    this.rejected[rejection]++;
    return {
      kind: 'rejected',
      rejection,
      record: undefined,
      visibleSidBefore: undefined,
      visibleSidAfter: undefined,
    };
  }

  private outcome(
    kind: MergeOutcomeKind,
    record: Incarnation,
    before: Incarnation | undefined,
    after: Incarnation | undefined,
  ): MergeOutcome {
    return {
      kind,
      rejection: undefined,
      record,
      visibleSidBefore: before?.sid,
      visibleSidAfter: after?.sid,
    };
  }
}

export function createRoomStore(init: RoomStoreInit): RoomStore {
  return new RoomStoreImpl(resolveStoreConfig(init), init.clock, init.random);
}
