import { compareStrings } from './compare.js';
import type { Placement } from './placement.js';

/** What `owner()` needs to place one room. */
export interface RoomPlacementKey {
  name: string;
  homeRegion: string;
  /** `''` or absent: not pinned. */
  pinnedNode?: string;
}

/** Rooms that moved from `from` to `to`; undefined = no owner (no member alive anywhere). */
export interface MovementPair {
  from: string | undefined;
  to: string | undefined;
  count: number;
}

export interface NodeMovement {
  nodeId: string;
  ownedBefore: number;
  ownedAfter: number;
  /** Rooms it owned before and not after. */
  lost: number;
  /** Rooms it owns after and did not before. */
  gained: number;
}

export interface MovedRoom {
  name: string;
  homeRegion: string;
  from: string | undefined;
  to: string | undefined;
}

export interface MovementDiff {
  roomCount: number;
  movedCount: number;
  /** movedCount / roomCount; 0 when there are no rooms. */
  movedFraction: number;
  /** One entry per (from, to) pair with moves, most moves first, then by from and to. */
  pairs: readonly MovementPair[];
  /** Every node that owns a room before or after, sorted by node id. */
  nodes: readonly NodeMovement[];
  /** The first `sampleMax` moved rooms, in the order `rooms` gave them. */
  sample: readonly MovedRoom[];
}

/** Rooms named in a diff's sample by default. */
export const DIFF_SAMPLE_DEFAULT = 20;
/** The sample is for operators' eyes (`roomring whatif`); 1,000 names x 256 B = 256 kB at most. */
export const DIFF_SAMPLE_MAX = 1000;

interface NodeTally {
  ownedBefore: number;
  ownedAfter: number;
  lost: number;
  gained: number;
}

/**
 * Which rooms move from whom to whom between two memberships (`before` -> `after`): the
 * "what if node X dies" answer, and the size of the hand-over a membership change causes.
 * Two owner lookups per room (about 0.4 s per 100k rooms).
 */
export function diffPlacement(
  before: Placement,
  after: Placement,
  rooms: Iterable<RoomPlacementKey>,
  sampleMax: number = DIFF_SAMPLE_DEFAULT,
): MovementDiff {
  if (!Number.isInteger(sampleMax) || sampleMax < 0 || sampleMax > DIFF_SAMPLE_MAX) {
    throw new RangeError(`sampleMax must be an integer in 0..${DIFF_SAMPLE_MAX}, got ${sampleMax}`);
  }
  // Maps, never plain objects: node ids and room names are keys of nothing user-controlled.
  const tallies = new Map<string, NodeTally>();
  const pairCounts = new Map<string | undefined, Map<string | undefined, number>>();
  const sample: MovedRoom[] = [];
  let roomCount = 0;
  let movedCount = 0;
  const tally = (nodeId: string): NodeTally => {
    let entry = tallies.get(nodeId);
    if (entry === undefined) {
      entry = { ownedBefore: 0, ownedAfter: 0, lost: 0, gained: 0 };
      tallies.set(nodeId, entry);
    }
    return entry;
  };

  for (const room of rooms) {
    roomCount++;
    const from = before.owner(room.name, room.homeRegion, room.pinnedNode);
    const to = after.owner(room.name, room.homeRegion, room.pinnedNode);
    if (from !== undefined) tally(from).ownedBefore++;
    if (to !== undefined) tally(to).ownedAfter++;
    if (from === to) continue;
    movedCount++;
    if (from !== undefined) tally(from).lost++;
    if (to !== undefined) tally(to).gained++;
    let toCounts = pairCounts.get(from);
    if (toCounts === undefined) {
      toCounts = new Map();
      pairCounts.set(from, toCounts);
    }
    toCounts.set(to, (toCounts.get(to) ?? 0) + 1);
    if (sample.length < sampleMax) {
      sample.push({ name: room.name, homeRegion: room.homeRegion, from, to });
    }
  }

  const pairs: MovementPair[] = [];
  for (const [from, toCounts] of pairCounts) {
    for (const [to, count] of toCounts) pairs.push({ from, to, count });
  }
  pairs.sort(
    (a, b) => b.count - a.count || compareOptional(a.from, b.from) || compareOptional(a.to, b.to),
  );
  const nodes: NodeMovement[] = [...tallies.keys()]
    .sort(compareStrings)
    .map((nodeId) => ({ nodeId, ...tallies.get(nodeId)! }));
  return {
    roomCount,
    movedCount,
    movedFraction: roomCount === 0 ? 0 : movedCount / roomCount,
    pairs,
    nodes,
    sample,
  };
}

/** undefined (no owner) sorts first. */
function compareOptional(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return compareStrings(a, b);
}
