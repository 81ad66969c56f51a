import { InvalidPlacementConfigError, quote } from './errors.js';
import { MEMBER_ID_LENGTH_MAX, type RingMember } from './member.js';
import type { Placement } from './placement.js';
import { POINTS_PER_DIGEST } from './region-ring.js';

export interface PlacementInit {
  /** Every member the failure detector knows, in any order; `dead` and `left` ones are kept
   *  out of the rings but still name known regions. */
  members: Iterable<RingMember>;
  /**
   * Explicit region failover order. Default: all known regions sorted by name, rotated so the
   * list starts at the home region and wraps (home, then the regions after it by name). An
   * explicit list is rotated the same way; known regions it omits come last, by name.
   * Entries: distinct non-empty strings.
   */
  failoverOrder?: readonly string[];
  /**
   * Virtual ring points per unit of weight: a positive multiple of 4 (hashring cuts each md5
   * digest into 4 points), at most POINTS_PER_WEIGHT_MAX.
   * @default DEFAULT_POINTS_PER_WEIGHT (2,048)
   */
  pointsPerWeight?: number;
  /**
   * The placement this one replaces, if any: rings of regions whose ring members (ids and
   * weights) and pointsPerWeight are unchanged are shared with it instead of rebuilt. A
   * suspicion, or a change in one region, then costs nothing for the other rings (a ring of 10
   * members takes about 35 ms to build). Owners are the same with or without it.
   */
  previous?: Placement;
}

/**
 * Measured on this package's rings (exact arc shares of the 2^32 circle, 200 random node-id sets
 * per N, equal weights; see README.md):
 *
 *   points   N=3 p99   N=5 p99   N=10 p99   N=20 p99   (max/mean owned share)
 *      160     1.21      1.18      1.27       1.28
 *      640     1.09      1.13      1.13       1.15
 *    1,280     1.07      1.07      1.08       1.09
 *    2,048     1.05      1.06      1.07       1.08
 *
 * 2,048 keeps max/mean <= 1.1 in 99% of id sets up to 20 members with room to spare for the
 * sampling noise of a real room population (10k rooms per member add about +-1%). The price is
 * build time: about 35 ms for 10 members and 100 ms for 30 on this 2-core machine, paid once per
 * membership change, and lookups stay O(log points) (16 steps at 20 members).
 */
export const DEFAULT_POINTS_PER_WEIGHT = 2048;
/** 16,384 points per weight unit is 8x the default, far past where balance stops improving. */
export const POINTS_PER_WEIGHT_MAX = 16_384;
/** All rings of one placement together: 2^22 points is about 170 MB of ring entries and a few
 *  seconds of md5 (2,048 members at the default points), far beyond any one cluster. */
export const PLACEMENT_POINTS_MAX = 4_194_304;

/** Known regions (of members in any state, plus the failover list). Each gets a precomputed
 *  failover order, so the cost is regions^2: 256^2 = 65,536 entries at most. */
export const REGIONS_MAX = 256;

export interface PlacementConfig {
  readonly pointsPerWeight: number;
  readonly failoverOrder: readonly string[] | undefined;
}

export function resolvePlacementConfig(init: PlacementInit): PlacementConfig {
  const pointsPerWeight = init.pointsPerWeight ?? DEFAULT_POINTS_PER_WEIGHT;
  if (
    !Number.isInteger(pointsPerWeight) ||
    pointsPerWeight < POINTS_PER_DIGEST ||
    pointsPerWeight > POINTS_PER_WEIGHT_MAX ||
    pointsPerWeight % POINTS_PER_DIGEST !== 0
  ) {
    throw new InvalidPlacementConfigError(
      `pointsPerWeight must be a multiple of ${POINTS_PER_DIGEST} in ${POINTS_PER_DIGEST}..${POINTS_PER_WEIGHT_MAX}, got ${quote(pointsPerWeight)}`,
    );
  }
  let failoverOrder: readonly string[] | undefined;
  if (init.failoverOrder !== undefined) {
    const seen = new Set<string>();
    for (const region of init.failoverOrder) {
      if (
        typeof region !== 'string' ||
        region.length === 0 ||
        region.length > MEMBER_ID_LENGTH_MAX
      ) {
        throw new InvalidPlacementConfigError(
          `failoverOrder entries must be strings of 1..${MEMBER_ID_LENGTH_MAX} characters, got ${quote(region)}`,
        );
      }
      if (seen.has(region)) {
        throw new InvalidPlacementConfigError(`failoverOrder lists ${quote(region)} twice`);
      }
      seen.add(region);
    }
    if (seen.size > REGIONS_MAX) {
      throw new InvalidPlacementConfigError(`failoverOrder lists more than ${REGIONS_MAX} regions`);
    }
    failoverOrder = Object.freeze([...init.failoverOrder]);
  }
  return Object.freeze({ pointsPerWeight, failoverOrder });
}
