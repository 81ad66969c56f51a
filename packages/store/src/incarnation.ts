/**
 * The stored form of one room incarnation, and the orders the merge rule uses.
 *
 * One object per incarnation with a fixed shape: 24 B header + 20 fields x 8 B (V8 here
 * runs without pointer compression). Two V8 behaviours decide its cost, both measured:
 *
 * - **Allocated in the old generation.** A local incarnation is made by the one object
 *   literal in newIncarnation(); a received one is the decoder's record, adopted (merge's
 *   `adopt`), whose literal is pretenured the same way when most records it makes are kept
 *   (in-process, 400k rooms decoded from batches of 1,000 and merged: the scavenges promoted
 *   77 MB adopted against 79 MB copied, in 103 against 115 scavenges, 2026-12-07). V8 tracks
 *   the objects a literal allocates and, once nearly all of them survive, allocates that
 *   literal's objects in the old generation directly ("allocation-site pretenuring"). Stored rooms live for hours, so the young generation's collections stop
 *   copying each new room twice (into the survivor space, then into the old generation). A
 *   class constructor (`new Incarnation()`, as before) is never pretenured. Measured with
 *   V8's --trace-gc-nvp, summed over the 5 nodes of a cluster fill (2 steps of 100k rooms),
 *   the class (with string-keyed bucket Maps, before name-table.ts) against the literal (with
 *   it): the scavenges promoted 265 against 136 MiB, paused the nodes for
 *   4.8 against 3.2 s, and kept V8's helper threads busy for 6.1 against 2.2 s. Alone, 2M such
 *   objects: 64 scavenges that promoted 430 MiB against 20 that promoted 83 MiB, and 2.6 s of
 *   CPU against 2.0 s. The price: rooms lie in memory in the order they were made, not in
 *   the order the scavenger copied them (table by table, so by bucket), and a walk of every
 *   room by bucket misses the cache more. At 1M rooms, visibleRooms() took ~400-470 ms
 *   against ~170-250 ms and a GC sweep ~135-230 against ~50-140 ms (the same code without
 *   pretenuring, --no-allocation-site-pretenuring, and the class before). Those walks are
 *   rare (a ring change, a GC tick's slice of buckets); a room is merged on every node.
 * - **Tagged fields.** Every numeric field starts undefined and is then assigned, as class
 *   fields (define semantics) did, so V8 gives it the generic "tagged" representation: a
 *   tagged field holds a shared, immutable heap number, so `createdAt`, `settingsAt` and
 *   `statsAt` of a new room share one 16 B box, and `deletedAt = 0` stays a small integer.
 *   Initialised with numbers in the literal, the fields become "double" fields, each with a
 *   box of its own: 248 B instead of 202 B per object (measured with 1M objects).
 */
import type { RoomRecord } from '@roomring/protocol';
import { compareStamps } from '@roomring/protocol';

/** A stored incarnation: a RoomRecord the store owns, made by newIncarnation or adopted
 *  from decodeMessage (RoomStore.merge's `adopt`: both decoders' literals list the same keys
 *  in the same order, so V8 gives them newIncarnation's map). */
export type Incarnation = RoomRecord;

/** Not yet assigned (see above: the numeric fields start undefined). */
const UNSET = undefined as unknown as number;

/** Identity and LiveKit defaults; the caller overwrites settings, stats, tombstone. */
export function newIncarnation(
  name: string,
  sid: string,
  createdAt: number,
  creator: string,
  homeRegion: string,
): Incarnation {
  const room: Incarnation = {
    name,
    sid,
    createdAt: UNSET,
    creator,
    homeRegion,
    settingsAt: UNSET,
    settingsBy: creator,
    emptyTimeoutS: UNSET,
    departureTimeoutS: UNSET,
    maxParticipants: UNSET,
    metadata: '',
    pinnedNode: '',
    statsAt: UNSET,
    statsBy: creator,
    numParticipants: UNSET,
    numPublishers: UNSET,
    activeRecording: false,
    everOccupied: false,
    deletedAt: UNSET,
    deletedBy: '',
  };
  room.createdAt = createdAt;
  room.settingsAt = createdAt;
  room.emptyTimeoutS = 0;
  room.departureTimeoutS = 0;
  room.maxParticipants = 0;
  room.statsAt = createdAt;
  room.numParticipants = 0;
  room.numPublishers = 0;
  room.deletedAt = 0;
  return room;
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
  if (!Array.isArray(entry)) return entry.deletedAt === 0 ? entry : undefined;
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
  if (!Array.isArray(entry)) return entry.sid === sid ? entry : undefined;
  for (let i = 0; i < entry.length; i++) {
    if (entry[i]!.sid === sid) return entry[i];
  }
  return undefined;
}

export function entrySize(entry: Entry): number {
  return Array.isArray(entry) ? entry.length : 1;
}
