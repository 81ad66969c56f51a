/**
 * Options of `createRoomStore`, their defaults and their validation (one frozen config).
 */
import {
  BUCKET_COUNT_DEFAULT,
  BUCKET_COUNT_MAX,
  BUCKET_COUNT_MIN,
  INCARNATIONS_KEPT_PER_NAME_MAX,
} from '@roomring/protocol';
import type { Clock, Random } from './clock.js';
import { InvalidStoreInitError } from './errors.js';
import { DEFAULT_MAX_CLOCK_OFFSET_MS } from './hybrid-logical-clock.js';

/** Tombstones live 1 h: long enough for gossip + several anti-entropy rounds (5 s each) to
 *  spread every delete; a node cut off for longer must resync (GC-horizon rule). */
export const DEFAULT_TOMBSTONE_TTL_MS = 3_600_000;

/**
 * Incarnations one name may hold, tombstones included. 256 re-creates of one name within a
 * tombstone TTL is far past honest use (a room re-created every 14 s for an hour) and bounds
 * the scan behind `get()` of a name at 256 records, ~1 µs.
 */
export const DEFAULT_INCARNATIONS_PER_NAME_MAX = 256;

/**
 * Incarnations one name keeps after a merge (protocol's INCARNATIONS_KEPT_PER_NAME_MAX): the
 * newest by creation order stay, the same ones on every node. Only tests set another value.
 */
export { INCARNATIONS_KEPT_PER_NAME_MAX as DEFAULT_INCARNATIONS_KEPT_PER_NAME };

/** Distinct node ids and regions shared (interned) across records; see interner.ts. */
export const DEFAULT_INTERNED_STRINGS_MAX = 4_096;

export { BUCKET_COUNT_DEFAULT as DEFAULT_BUCKET_COUNT };

export interface RoomStoreInit {
  /** This node's id: creator / writer of local changes and tie-breaker of equal stamps. */
  nodeId: string;
  /** Wall time, for the HLC, the clock bound and the GC horizon. */
  clock: Clock;
  /** For new sids. */
  random: Random;
  /**
   * Anti-entropy buckets, a power of two in 1..65,536; every node of a cluster must use the
   * same value. More buckets resend fewer records per difference but exchange bigger digests
   * (8 B per bucket): 4,096 x 8 B = 32 KiB per sync, 24 rooms per bucket at 100k rooms.
   * @default 4096
   */
  bucketCount?: number;
  /**
   * How long tombstones are kept before `gc()` drops them. Shorter saves memory on churny
   * names but a partitioned node must resync sooner. @default 3600000 (1 h)
   */
  tombstoneTtlMs?: number;
  /** Remote stamps further ahead of local wall time are refused (see the HLC). @default 500 */
  maxClockOffsetMs?: number;
  /** Incarnations (live + tombstoned) a name may hold for a local create to be allowed
   *  (getOrCreate throws TooManyIncarnationsError past it). Never refuses a merge.
   *  @default 256 */
  incarnationsPerNameMax?: number;
  /** Incarnations a name keeps after merges: past it the oldest-created are forgotten, the
   *  same on every node. Must be equal on every node and >= incarnationsPerNameMax.
   *  @default INCARNATIONS_KEPT_PER_NAME_MAX (1024) */
  incarnationsKeptPerName?: number;
  /** Distinct node ids / regions interned. @default 4096 */
  internedStringsMax?: number;
}

export interface RoomStoreConfig {
  readonly nodeId: string;
  readonly bucketCount: number;
  readonly tombstoneTtlMs: number;
  readonly maxClockOffsetMs: number;
  readonly incarnationsPerNameMax: number;
  readonly incarnationsKeptPerName: number;
  readonly internedStringsMax: number;
}

function positiveInt(value: number, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidStoreInitError(`${field} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

export function resolveStoreConfig(init: RoomStoreInit): RoomStoreConfig {
  if (typeof init.nodeId !== 'string' || init.nodeId === '') {
    throw new InvalidStoreInitError('nodeId must be a non-empty string');
  }
  if (typeof init.clock?.nowMs !== 'function') {
    throw new InvalidStoreInitError('clock.nowMs must be a function');
  }
  if (typeof init.random?.nextUint32 !== 'function') {
    throw new InvalidStoreInitError('random.nextUint32 must be a function');
  }
  const bucketCount = positiveInt(
    init.bucketCount ?? BUCKET_COUNT_DEFAULT,
    'bucketCount',
    BUCKET_COUNT_MIN,
    BUCKET_COUNT_MAX,
  );
  if ((bucketCount & (bucketCount - 1)) !== 0) {
    throw new InvalidStoreInitError(`bucketCount must be a power of two, got ${bucketCount}`);
  }
  const incarnationsPerNameMax = positiveInt(
    init.incarnationsPerNameMax ?? DEFAULT_INCARNATIONS_PER_NAME_MAX,
    'incarnationsPerNameMax',
    1,
    65_536,
  );
  return Object.freeze({
    nodeId: init.nodeId,
    bucketCount,
    tombstoneTtlMs: positiveInt(
      init.tombstoneTtlMs ?? DEFAULT_TOMBSTONE_TTL_MS,
      'tombstoneTtlMs',
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    maxClockOffsetMs: positiveInt(
      init.maxClockOffsetMs ?? DEFAULT_MAX_CLOCK_OFFSET_MS,
      'maxClockOffsetMs',
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    incarnationsPerNameMax,
    incarnationsKeptPerName: positiveInt(
      init.incarnationsKeptPerName ?? INCARNATIONS_KEPT_PER_NAME_MAX,
      'incarnationsKeptPerName',
      incarnationsPerNameMax,
      65_536,
    ),
    internedStringsMax: positiveInt(
      init.internedStringsMax ?? DEFAULT_INTERNED_STRINGS_MAX,
      'internedStringsMax',
      0,
      1_000_000,
    ),
  });
}
