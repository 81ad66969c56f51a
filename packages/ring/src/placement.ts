import { ringChecksum } from './checksum.js';
import { compareStrings } from './compare.js';
import { InvalidPlacementConfigError } from './errors.js';
import { regionOrderFor } from './failover-order.js';
import { isOnRing, type RingMember, validateMembers } from './member.js';
import {
  PLACEMENT_POINTS_MAX,
  type PlacementConfig,
  type PlacementInit,
  REGIONS_MAX,
  resolvePlacementConfig,
} from './placement-init.js';
import { RegionRing, regionRingKey } from './region-ring.js';

/**
 * Room placement for one membership view (DESIGN.md section 5). Immutable: build a new one when
 * the membership changes. Every node that builds it from the same ring members and options
 * computes the same owners, whatever order the members were given in.
 */
export interface Placement {
  /** Owner of a room: `pinnedNode` if it is alive (or suspect) in the rings; else the home
   *  region's ring owner; if that region has no ring member, the next region in the failover
   *  order. undefined only when no member is alive anywhere. `''` means no pinned node. */
  owner(name: string, homeRegion: string, pinnedNode?: string): string | undefined;
  /** `owner(name, homeRegion, pinnedNode) === nodeId`, without the room's digest when nodeId
   *  is not on the room's owner ring or is alone on it: every node asks it of every room it
   *  merges, and hosts only its own region's share. */
  isOwner(nodeId: string, name: string, homeRegion: string, pinnedNode?: string): boolean;
  /** The room's owner on one region's ring; undefined when that region has no ring member. */
  ownerInRegion(name: string, region: string): string | undefined;
  /** Region order used for a home region (home first). Unknown home regions go first too. */
  regionOrder(homeRegion: string): readonly string[];
  /** Up to `count` distinct partners for write acks, never `self`: first the room's owner on
   *  each OTHER region's ring (in self's failover order), then other nodes of self's region
   *  (walking its ring from the room), then further nodes of other regions (walking their rings
   *  in failover order). Fewer only when the rings hold fewer members. Deterministic. */
  replicaPartners(name: string, self: string, count: number): string[];
  /** Ring members (alive or suspect), sorted by node id. */
  members(): readonly Readonly<RingMember>[];
  /** Regions with at least one ring member, sorted. */
  regions(): readonly string[];
  /** 16 hex digits over the sorted (nodeId, region, weight) of ring members and the placement
   *  options; equal for equal memberships whatever the insertion order. */
  checksum(): string;
  /** The same over one region's ring members (and pointsPerWeight). */
  regionChecksum(region: string): string;
  /** weight / total weight of its region's ring; 0 if not on a ring. */
  expectedShare(nodeId: string): number;
  /** Virtual points on its ring (weight x pointsPerWeight); 0 if not on a ring. */
  points(nodeId: string): number;
}

/** Builds the rings of a membership view; throws InvalidMemberError or
 *  InvalidPlacementConfigError on bad input. */
export function createPlacement(init: PlacementInit): Placement {
  return new RingPlacement(init);
}

class RingPlacement implements Placement {
  private readonly config: PlacementConfig;
  /** Every given member (any state), by node id: to find `self`'s region. */
  private readonly regionByNodeId = new Map<string, string>();
  private readonly ringMemberById = new Map<string, Readonly<RingMember>>();
  private readonly ringMembers: readonly Readonly<RingMember>[];
  private readonly rings = new Map<string, RegionRing>();
  private readonly ringRegions: readonly string[];
  /** Regions of all members plus the explicit failover list, sorted. */
  private readonly knownRegions: readonly string[];
  private readonly orderByHome = new Map<string, readonly string[]>();
  /** Home region -> the first ring in its order: owner() is one Map.get plus one ring lookup. */
  private readonly ownerRingByHome = new Map<string, RegionRing | undefined>();
  /** Order used for replica partners when `self` is not a known member. */
  private readonly unanchoredOrder: readonly string[];
  private readonly totalChecksum: string;
  private readonly regionChecksums = new Map<string, string>();

  constructor(init: PlacementInit) {
    this.config = resolvePlacementConfig(init);
    const { pointsPerWeight, failoverOrder } = this.config;
    const all = validateMembers(init.members);

    const known = new Set<string>(failoverOrder);
    const byRegion = new Map<string, Readonly<RingMember>[]>();
    const ringMembers: Readonly<RingMember>[] = [];
    let totalPoints = 0;
    for (const member of all) {
      this.regionByNodeId.set(member.nodeId, member.region);
      known.add(member.region);
      if (!isOnRing(member.state)) continue;
      ringMembers.push(member);
      this.ringMemberById.set(member.nodeId, member);
      totalPoints += member.weight * pointsPerWeight;
      const list = byRegion.get(member.region);
      if (list) list.push(member);
      else byRegion.set(member.region, [member]);
    }
    if (totalPoints > PLACEMENT_POINTS_MAX) {
      throw new InvalidPlacementConfigError(
        `the ring members need ${totalPoints} ring points, more than ${PLACEMENT_POINTS_MAX}: lower pointsPerWeight or weights`,
      );
    }
    if (known.size > REGIONS_MAX) {
      throw new InvalidPlacementConfigError(`more than ${REGIONS_MAX} regions`);
    }
    this.ringMembers = Object.freeze(ringMembers);
    this.ringRegions = Object.freeze([...byRegion.keys()].sort(compareStrings));
    const previous = init.previous instanceof RingPlacement ? init.previous : undefined;
    for (const region of this.ringRegions) {
      const members = Object.freeze(byRegion.get(region)!);
      const key = regionRingKey(members, pointsPerWeight);
      const reusable = previous?.rings.get(region);
      this.rings.set(
        region,
        reusable?.key === key ? reusable : new RegionRing(region, members, pointsPerWeight, key),
      );
      this.regionChecksums.set(region, ringChecksum(members, pointsPerWeight, null));
    }
    this.knownRegions = Object.freeze([...known].sort(compareStrings));
    for (const home of this.knownRegions) {
      const order = Object.freeze(regionOrderFor(home, this.knownRegions, failoverOrder));
      this.orderByHome.set(home, order);
      this.ownerRingByHome.set(home, this.firstRing(order));
    }
    this.unanchoredOrder = Object.freeze(
      failoverOrder === undefined
        ? this.knownRegions
        : [...failoverOrder, ...this.knownRegions.filter((r) => !failoverOrder.includes(r))],
    );
    this.totalChecksum = ringChecksum(ringMembers, pointsPerWeight, failoverOrder ?? null);
  }

  owner(name: string, homeRegion: string, pinnedNode?: string): string | undefined {
    if (pinnedNode !== undefined && pinnedNode !== '' && this.ringMemberById.has(pinnedNode)) {
      return pinnedNode;
    }
    const ring = this.ownerRingByHome.get(homeRegion);
    if (ring !== undefined) return ring.owner(name);
    if (this.ringRegions.length === 0) return undefined;
    // An unknown home region (a room record can name any region): rare, so computed per call.
    return this.firstRing(this.regionOrder(homeRegion))?.owner(name);
  }

  isOwner(nodeId: string, name: string, homeRegion: string, pinnedNode?: string): boolean {
    if (pinnedNode !== undefined && pinnedNode !== '' && this.ringMemberById.has(pinnedNode)) {
      return pinnedNode === nodeId;
    }
    const ring = this.ownerRingByHome.get(homeRegion);
    // No ring for the home region (unknown, or no ring at all): owner() decides, rarely.
    if (ring === undefined) return this.owner(name, homeRegion) === nodeId;
    return ring.has(nodeId) && ring.owner(name) === nodeId;
  }

  ownerInRegion(name: string, region: string): string | undefined {
    return this.rings.get(region)?.owner(name);
  }

  regionOrder(homeRegion: string): readonly string[] {
    // Unknown home regions (from a room record) are computed, not cached: the cache stays
    // bounded by the membership.
    return (
      this.orderByHome.get(homeRegion) ??
      regionOrderFor(homeRegion, this.knownRegions, this.config.failoverOrder)
    );
  }

  replicaPartners(name: string, self: string, count: number): string[] {
    if (!Number.isInteger(count) || count < 0) {
      throw new RangeError(`replicaPartners count must be a non-negative integer, got ${count}`);
    }
    const partners: string[] = [];
    if (count === 0) return partners;
    const selfRegion = this.regionByNodeId.get(self);
    const order = selfRegion === undefined ? this.unanchoredOrder : this.regionOrder(selfRegion);
    // 1. One copy per other region first: a region failing takes at most one ack with it.
    for (const region of order) {
      if (region === selfRegion) continue;
      const owner = this.rings.get(region)?.owner(name);
      if (owner === undefined || owner === self) continue;
      partners.push(owner);
      if (partners.length >= count) return partners;
    }
    // 2. Then self's own region, near the room on the ring (its next owners).
    if (selfRegion !== undefined) this.rings.get(selfRegion)?.walk(name, self, partners, count);
    if (partners.length >= count) return partners;
    // 3. Then whatever else is on the rings, so `count` <= members - 1 is always met.
    for (const region of order) {
      if (region === selfRegion) continue;
      this.rings.get(region)?.walk(name, self, partners, count);
      if (partners.length >= count) return partners;
    }
    return partners;
  }

  members(): readonly Readonly<RingMember>[] {
    return this.ringMembers;
  }

  regions(): readonly string[] {
    return this.ringRegions;
  }

  checksum(): string {
    return this.totalChecksum;
  }

  regionChecksum(region: string): string {
    return this.regionChecksums.get(region) ?? ringChecksum([], this.config.pointsPerWeight, null);
  }

  expectedShare(nodeId: string): number {
    const member = this.ringMemberById.get(nodeId);
    if (member === undefined) return 0;
    return member.weight / this.rings.get(member.region)!.totalWeight;
  }

  points(nodeId: string): number {
    const member = this.ringMemberById.get(nodeId);
    return member === undefined ? 0 : member.weight * this.config.pointsPerWeight;
  }

  private firstRing(order: readonly string[]): RegionRing | undefined {
    for (const region of order) {
      const ring = this.rings.get(region);
      if (ring !== undefined) return ring;
    }
    return undefined;
  }
}
