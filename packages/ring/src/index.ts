/**
 * @roomring/ring: placement of rooms on nodes (DESIGN.md section 5). Per-region consistent-hash
 * rings over alive and suspect members, region failover, pinned nodes, replica partners for
 * write acks, ring checksums and movement diffs. Pure: no I/O, no clock, no randomness.
 */
export { CHECKSUM_HEX_LENGTH } from './checksum.js';
export {
  DIFF_SAMPLE_DEFAULT,
  DIFF_SAMPLE_MAX,
  diffPlacement,
  type MovedRoom,
  type MovementDiff,
  type MovementPair,
  type NodeMovement,
  type RoomPlacementKey,
} from './diff.js';
export { InvalidMemberError, InvalidPlacementConfigError } from './errors.js';
export {
  MEMBER_ID_LENGTH_MAX,
  MEMBER_WEIGHT_MAX,
  MEMBERS_MAX,
  type MemberState,
  type RingMember,
} from './member.js';
export { createPlacement, type Placement } from './placement.js';
export {
  DEFAULT_POINTS_PER_WEIGHT,
  PLACEMENT_POINTS_MAX,
  type PlacementInit,
  POINTS_PER_WEIGHT_MAX,
  REGIONS_MAX,
} from './placement-init.js';
export {
  POINT_CACHE_POINTS_MAX,
  POINTS_PER_DIGEST,
  ringPointCacheStats,
  setRingPointCacheMax,
} from './region-ring.js';
