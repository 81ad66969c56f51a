/**
 * Field-group merge of two copies of the same incarnation (same name and sid), DESIGN.md
 * section 4: each mutable group is last-writer-wins over `(xxxAt, xxxBy)`; the tombstone is
 * the max `(deletedAt, deletedBy)`; identity fields never change.
 *
 * Two writes never share `(stamp, nodeId)` (an HLC issues each stamp once), so equal stamps
 * mean equal values. A forged or buggy record could break that; the group comparisons below
 * then fall back to the values themselves, which keeps the merge a total order per group and
 * so commutative, associative and idempotent even for such input.
 */
import type { RoomRecord } from '@roomring/protocol';
import { compareStamps } from '@roomring/protocol';

function compareNumbers(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function compareStrings(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function compareBooleans(a: boolean, b: boolean): number {
  return a === b ? 0 : a ? 1 : -1;
}

/** Positive when `a`'s settings group wins over `b`'s. */
export function compareSettings(a: RoomRecord, b: RoomRecord): number {
  return (
    compareStamps(a.settingsAt, a.settingsBy, b.settingsAt, b.settingsBy) ||
    compareNumbers(a.emptyTimeoutS, b.emptyTimeoutS) ||
    compareNumbers(a.departureTimeoutS, b.departureTimeoutS) ||
    compareNumbers(a.maxParticipants, b.maxParticipants) ||
    compareStrings(a.metadata, b.metadata) ||
    compareStrings(a.pinnedNode, b.pinnedNode)
  );
}

/** Positive when `a`'s stats group wins over `b`'s. */
export function compareStats(a: RoomRecord, b: RoomRecord): number {
  return (
    compareStamps(a.statsAt, a.statsBy, b.statsAt, b.statsBy) ||
    compareNumbers(a.numParticipants, b.numParticipants) ||
    compareNumbers(a.numPublishers, b.numPublishers) ||
    compareBooleans(a.activeRecording, b.activeRecording) ||
    compareBooleans(a.everOccupied, b.everOccupied)
  );
}

/** Positive when `a`'s tombstone wins (is later) over `b`'s; live (0, '') is the least. */
export function compareTombstones(a: RoomRecord, b: RoomRecord): number {
  return compareStamps(a.deletedAt, a.deletedBy, b.deletedAt, b.deletedBy);
}

/** True when the identity fields (name, sid, createdAt, creator, homeRegion) agree. */
export function sameIdentity(a: RoomRecord, b: RoomRecord): boolean {
  return (
    a.name === b.name &&
    a.sid === b.sid &&
    a.createdAt === b.createdAt &&
    a.creator === b.creator &&
    a.homeRegion === b.homeRegion
  );
}
