/**
 * The stored form of one room incarnation, and the orders the merge rule uses.
 *
 * Memory (measured by apps/bench/src/micro-store.ts; V8 here runs without pointer
 * compression): one fixed-shape object per incarnation, 24 B header + 20 fields x 8 B.
 * The fields are declared as class fields (ES2022 define semantics), so each starts as
 * `undefined` and V8 gives every field the generic "tagged" representation. That matters for
 * the stamps: a tagged field holds a shared, immutable heap number, so `createdAt`,
 * `settingsAt` and `statsAt` of a new room share one 16 B box, and `deletedAt = 0` stays a
 * small integer. With "double" fields (plain constructor assignments) each stamp field gets
 * its own 16 B box as soon as any record has a non-zero `deletedAt`: about 48 B more per
 * room (298 B -> 346 B per room at 1M rooms, measured).
 */
import type { RoomRecord } from '@roomring/protocol';
import { compareStamps } from '@roomring/protocol';

export class Incarnation implements RoomRecord {
  name: string;
  sid: string;
  createdAt: number;
  creator: string;
  homeRegion: string;
  settingsAt: number;
  settingsBy: string;
  emptyTimeoutS: number;
  departureTimeoutS: number;
  maxParticipants: number;
  metadata: string;
  pinnedNode: string;
  statsAt: number;
  statsBy: string;
  numParticipants: number;
  numPublishers: number;
  activeRecording: boolean;
  everOccupied: boolean;
  deletedAt: number;
  deletedBy: string;

  /** Identity and LiveKit defaults; the caller overwrites settings, stats, tombstone. */
  constructor(name: string, sid: string, createdAt: number, creator: string, homeRegion: string) {
    this.name = name;
    this.sid = sid;
    this.createdAt = createdAt;
    this.creator = creator;
    this.homeRegion = homeRegion;
    this.settingsAt = createdAt;
    this.settingsBy = creator;
    this.emptyTimeoutS = 0;
    this.departureTimeoutS = 0;
    this.maxParticipants = 0;
    this.metadata = '';
    this.pinnedNode = '';
    this.statsAt = createdAt;
    this.statsBy = creator;
    this.numParticipants = 0;
    this.numPublishers = 0;
    this.activeRecording = false;
    this.everOccupied = false;
    this.deletedAt = 0;
    this.deletedBy = '';
  }
}

/** A name's incarnations: the single one directly (the common case, no array), or several. */
export type Entry = Incarnation | Incarnation[];

/**
 * The "first writer wins" order of DESIGN.md section 4: smallest `(createdAt, creator, sid)`
 * is the visible room among the live incarnations. Negative when `a` comes first.
 */
export function compareCreation(a: RoomRecord, b: RoomRecord): number {
  const byStamp = compareStamps(a.createdAt, a.creator, b.createdAt, b.creator);
  if (byStamp !== 0) return byStamp;
  if (a.sid === b.sid) return 0;
  return a.sid < b.sid ? -1 : 1;
}

/**
 * The newest tombstone of an entry: the delete (or expiry) horizon of its name. Every
 * incarnation created before it is over, also one the deleting node had not seen (a
 * concurrent create of the same name elsewhere): a delete removes the room by that name,
 * not only the incarnations its node knew. Undefined when nothing is deleted.
 */
export function deleteHorizonOf(entry: Incarnation[]): Incarnation | undefined {
  let newest: Incarnation | undefined;
  for (let i = 0; i < entry.length; i++) {
    const r = entry[i]!;
    if (r.deletedAt === 0) continue;
    if (
      newest === undefined ||
      compareStamps(r.deletedAt, r.deletedBy, newest.deletedAt, newest.deletedBy) > 0
    ) {
      newest = r;
    }
  }
  return newest;
}

/** Whether a live incarnation was created before the delete horizon `tombstone`. */
export function isBehind(room: RoomRecord, tombstone: RoomRecord | undefined): boolean {
  return (
    tombstone !== undefined &&
    compareStamps(room.createdAt, room.creator, tombstone.deletedAt, tombstone.deletedBy) < 0
  );
}

/**
 * The visible incarnation of an entry (DESIGN.md section 4): among live incarnations created
 * after the name's newest tombstone, the first writer. Undefined when there is none. A pure
 * function of the set of records, so merge order never changes it.
 */
export function visibleOf(entry: Entry): Incarnation | undefined {
  if (entry instanceof Incarnation) return entry.deletedAt === 0 ? entry : undefined;
  const horizon = deleteHorizonOf(entry);
  let best: Incarnation | undefined;
  for (let i = 0; i < entry.length; i++) {
    const candidate = entry[i]!;
    if (candidate.deletedAt !== 0 || isBehind(candidate, horizon)) continue;
    if (best === undefined || compareCreation(candidate, best) < 0) best = candidate;
  }
  return best;
}

/** The incarnation of an entry with this sid, if any. */
export function findSid(entry: Entry, sid: string): Incarnation | undefined {
  if (entry instanceof Incarnation) return entry.sid === sid ? entry : undefined;
  for (let i = 0; i < entry.length; i++) {
    if (entry[i]!.sid === sid) return entry[i];
  }
  return undefined;
}

export function entrySize(entry: Entry): number {
  return entry instanceof Incarnation ? 1 : entry.length;
}
