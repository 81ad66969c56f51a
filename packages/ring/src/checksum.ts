import { createHash } from 'node:crypto';
import type { RingMember } from './member.js';

/**
 * Ring checksums (DESIGN.md section 5; ringpop's "servers added in any order give the same
 * checksum"). The input is canonical JSON of a version tag, the placement parameters that change
 * owners (points per weight; the explicit failover order for the whole-placement checksum) and
 * the ring members as [nodeId, region, weight] sorted by node id, so equal memberships give
 * equal checksums whatever the order they were added in, and two nodes that would place rooms
 * differently do not. JSON quoting keeps `a,b` + `c` apart from `a` + `b,c`.
 *
 * sha256, shown as its first 16 hex digits: 64 bits, so two different memberships share a
 * checksum with probability about 2^-64, and the value is short enough for every heartbeat.
 */
export const CHECKSUM_HEX_LENGTH = 16;
const CHECKSUM_VERSION = 'roomring-ring/1';

/** `members` must be sorted by node id. */
export function ringChecksum(
  members: readonly Readonly<RingMember>[],
  pointsPerWeight: number,
  failoverOrder: readonly string[] | null,
): string {
  const canonical = JSON.stringify([
    CHECKSUM_VERSION,
    pointsPerWeight,
    failoverOrder,
    members.map((m) => [m.nodeId, m.region, m.weight]),
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, CHECKSUM_HEX_LENGTH);
}
