import { createHash, hash } from 'node:crypto';
import type { RingMember } from './member.js';

/**
 * One region's consistent-hash ring: the ketama layout of `hashring` 3.2, which the placement
 * used until it was re-implemented here (hashring built a `Node` object per point and hashed
 * every member's points again on every rebuild, which a 1,000-node cluster forming does many
 * times a second). The placement function is unchanged, point for point; a test compares it
 * with hashring itself and with an independent reference (packages/ring/test):
 *
 * - Points. A member with weight w has w x pointsPerWeight points: for i < w x pointsPerWeight
 *   / 4, md5(`n:` + nodeId + `-` + i) cut into 4 little-endian 32-bit points (ketama's 4 points
 *   per digest). Its points depend on its own id and weight only, so one member leaving moves
 *   only that member's rooms.
 * - Order. Points sorted by value; equal values keep member order (node-id order) and then
 *   point order, so every node builds the same ring whatever order it learned members in.
 * - Room keys. A room hashes to the first 4 bytes (little-endian) of md5(`room:` + name) and
 *   belongs to the first point at or after it, wrapping past the last point to the first. The
 *   name is hashed as given; no per-name state is kept, so no name (`__proto__`, ...) can reach
 *   an object's prototype.
 *
 * A member's points are computed once and kept in a bounded cache shared by every ring of the
 * process (POINT_CACHE_POINTS_MAX by default), keyed by node id and digest count: rebuilding a ring after
 * a membership change hashes only the members it has not seen, then sorts all points with a
 * stable radix sort (linear in the points). The ring itself is two typed arrays: 6 bytes a point.
 */

/** md5 gives 16 bytes = 4 points of 32 bits per digest (ketama's 4). */
export const POINTS_PER_DIGEST = 4;
const SERVER_PREFIX = 'n:';
/** Part of the placement function: every node must hash `room:` + name to agree on owners. */
export const ROOM_KEY_PREFIX = 'room:';
/**
 * Ring points kept in the process-wide cache of members' points (4 bytes each: 16 MiB), enough
 * for the largest member (WEIGHT_MAX x POINTS_PER_WEIGHT_MAX = 1,638,400 points) or 1,000 members
 * of weight 2 at the default 2,048 points per weight. A member with more points than the bound is
 * computed each time and not kept; least recently used members leave first.
 */
export const POINT_CACHE_POINTS_MAX = 4_194_304;

const pointCache = new Map<string, Uint32Array>();
let pointCacheSize = 0;
let pointCacheMax = POINT_CACHE_POINTS_MAX;

/**
 * Sets the point cache's bound (0 keeps nothing; at most POINT_CACHE_POINTS_MAX) and evicts down
 * to it; returns the previous bound. For tests and for embedders that want the memory back.
 */
export function setRingPointCacheMax(points: number): number {
  if (!Number.isInteger(points) || points < 0 || points > POINT_CACHE_POINTS_MAX) {
    throw new RangeError(
      `the ring point cache bound must be an integer in 0..${POINT_CACHE_POINTS_MAX}, got ${points}`,
    );
  }
  const previous = pointCacheMax;
  pointCacheMax = points;
  evictPoints();
  return previous;
}

function evictPoints(): void {
  for (const [oldest, value] of pointCache) {
    if (pointCacheSize <= pointCacheMax) break;
    pointCache.delete(oldest);
    pointCacheSize -= value.length;
  }
}

/** A member's points in generation order (digest i, then its 4 points), cached. */
function memberPoints(nodeId: string, digests: number): Uint32Array {
  // The digest count is all digits, so `:` ends it: distinct (id, count) pairs never share a key.
  const key = `${digests}:${nodeId}`;
  const cached = pointCache.get(key);
  if (cached !== undefined) {
    pointCache.delete(key);
    pointCache.set(key, cached);
    return cached;
  }
  const points = new Uint32Array(digests * POINTS_PER_DIGEST);
  const prefix = `${SERVER_PREFIX}${nodeId}-`;
  for (let i = 0; i < digests; i++) {
    const digest = createHash('md5')
      .update(prefix + i)
      .digest();
    for (let j = 0; j < POINTS_PER_DIGEST; j++) {
      points[i * POINTS_PER_DIGEST + j] = digest.readUInt32LE(j * 4);
    }
  }
  if (points.length <= pointCacheMax) {
    pointCache.set(key, points);
    pointCacheSize += points.length;
    evictPoints();
  }
  return points;
}

/** The point cache's size, for tests and metrics: members kept and their points. */
export function ringPointCacheStats(): { members: number; points: number } {
  return { members: pointCache.size, points: pointCacheSize };
}

/** The room key's position on every ring: the first 4 bytes of md5(`room:` + name), LE.
 *  Every replicated record asks for its owner, so this is on the hot path: the one-shot
 *  `hash()` (Node >= 20.12) answering a 'binary' (latin1) string, one char per byte, with no
 *  Buffer, costs ~0.4 us per name; a Hash object with a Buffer digest ~3 us (measured here). */
export function roomKeyPoint(name: string): number {
  const digest = hash('md5', ROOM_KEY_PREFIX + name, 'binary');
  return (
    (digest.charCodeAt(0) |
      (digest.charCodeAt(1) << 8) |
      (digest.charCodeAt(2) << 16) |
      (digest.charCodeAt(3) << 24)) >>>
    0
  );
}

/**
 * Everything a region's ring depends on, exactly (no hash, so no collision can ever share the
 * wrong ring): points per weight and the sorted (nodeId, weight) list. Two placements whose
 * region rings have equal keys may share the ring object: rings are never mutated.
 */
export function regionRingKey(
  members: readonly Readonly<RingMember>[],
  pointsPerWeight: number,
): string {
  return JSON.stringify([pointsPerWeight, members.map((m) => [m.nodeId, m.weight])]);
}

/**
 * Sorts (values, owners) pairs by value in place, stably (equal values keep their input order),
 * with four 8-bit LSD counting passes through a scratch pair: an even number of passes, so the
 * last one writes back into the input arrays.
 */
function radixSort(values: Uint32Array, owners: Uint16Array): void {
  const n = values.length;
  const scratchValues = new Uint32Array(n);
  const scratchOwners = new Uint16Array(n);
  const counts = new Uint32Array(256);
  for (let shift = 0; shift < 32; shift += 8) {
    const toScratch = shift % 16 === 0;
    const srcValues = toScratch ? values : scratchValues;
    const srcOwners = toScratch ? owners : scratchOwners;
    const dstValues = toScratch ? scratchValues : values;
    const dstOwners = toScratch ? scratchOwners : owners;
    counts.fill(0);
    for (let k = 0; k < n; k++) counts[(srcValues[k]! >>> shift) & 0xff]!++;
    let total = 0;
    for (let b = 0; b < 256; b++) {
      const c = counts[b]!;
      counts[b] = total;
      total += c;
    }
    for (let k = 0; k < n; k++) {
      const v = srcValues[k]!;
      const at = counts[(v >>> shift) & 0xff]!++;
      dstValues[at] = v;
      dstOwners[at] = srcOwners[k]!;
    }
  }
}

export class RegionRing {
  readonly region: string;
  readonly key: string;
  readonly memberCount: number;
  readonly totalWeight: number;
  /** Point values, ascending. */
  private readonly values: Uint32Array;
  /** Per point, the index of its member in `nodeIds`. */
  private readonly owners: Uint16Array;
  private readonly nodeIds: readonly string[];
  private readonly memberIds: ReadonlySet<string>;
  /** walk()'s scratch: `seen[m] === epoch` marks member m as met in the current walk. */
  private readonly seen: Uint32Array;
  private epoch = 0;

  /** `members`: non-empty, all of `region`, sorted by node id, validated (at most 65,536, so a
   *  member index fits 16 bits; MEMBERS_MAX is 4,096). Only ids and weights are used (states
   *  may differ between placements sharing this ring). */
  constructor(
    region: string,
    members: readonly Readonly<RingMember>[],
    pointsPerWeight: number,
    key: string,
  ) {
    if (members.length > 0x10000) {
      throw new RangeError(`a ring holds at most 65,536 members, got ${members.length}`);
    }
    this.region = region;
    this.key = key;
    this.memberCount = members.length;
    const perMember: Uint32Array[] = [];
    let total = 0;
    let totalWeight = 0;
    for (const member of members) {
      const points = memberPoints(
        member.nodeId,
        (member.weight * pointsPerWeight) / POINTS_PER_DIGEST,
      );
      perMember.push(points);
      total += points.length;
      totalWeight += member.weight;
    }
    this.totalWeight = totalWeight;
    const values = new Uint32Array(total);
    const owners = new Uint16Array(total);
    let at = 0;
    for (let m = 0; m < perMember.length; m++) {
      const points = perMember[m]!;
      values.set(points, at);
      owners.fill(m, at, at + points.length);
      at += points.length;
    }
    radixSort(values, owners);
    this.values = values;
    this.owners = owners;
    this.nodeIds = members.map((m) => m.nodeId);
    this.memberIds = new Set(this.nodeIds);
    this.seen = new Uint32Array(members.length);
  }

  /** Ring points (the sum of weight x pointsPerWeight over the members). */
  get size(): number {
    return this.values.length;
  }

  /** Index of the first point at or after `point`, wrapping to 0 past the last. */
  private find(point: number): number {
    const values = this.values;
    let lo = 0;
    let hi = values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid]! < point) lo = mid + 1;
      else hi = mid;
    }
    return lo === values.length ? 0 : lo;
  }

  /** The room's owner on this ring: the first point clockwise from md5(`room:` + name). Every
   *  point of a one-member ring is that member's (a weight is at least 1), so it owns every
   *  room without the digest. */
  owner(name: string): string {
    if (this.memberCount === 1) return this.nodeIds[0]!;
    return this.nodeIds[this.owners[this.find(roomKeyPoint(name))]!]!;
  }

  /** Whether `nodeId` is a member of this ring. */
  has(nodeId: string): boolean {
    return this.memberIds.has(nodeId);
  }

  /**
   * Walks the ring clockwise from the room's position and appends distinct members to `out`
   * until it holds `count` entries, skipping `self` and ids already in `out`.
   */
  walk(name: string, self: string, out: string[], count: number): void {
    // Everything this ring can add is at most every member but one already excluded, so the
    // walk stops after meeting that many distinct members (or after one full turn).
    const wanted = Math.min(this.memberCount, count - out.length + 1);
    if (wanted <= 0) return;
    if (this.epoch === 0xffffffff) {
      this.seen.fill(0);
      this.epoch = 0;
    }
    const epoch = ++this.epoch;
    const n = this.values.length;
    const start = this.find(roomKeyPoint(name));
    let met = 0;
    for (let k = 0; k < n; k++) {
      const at = start + k < n ? start + k : start + k - n;
      const m = this.owners[at]!;
      if (this.seen[m] === epoch) continue;
      this.seen[m] = epoch;
      const nodeId = this.nodeIds[m]!;
      if (nodeId !== self && !out.includes(nodeId)) {
        out.push(nodeId);
        if (out.length >= count) return;
      }
      if (++met >= wanted) return;
    }
  }
}
