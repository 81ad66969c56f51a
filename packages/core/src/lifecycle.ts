/**
 * Room lifecycle run by each room's owner (DESIGN.md section 8, livekit-roomservice.md):
 *
 * - expiry: a room whose hosting node reports stats expires `emptyTimeoutS` after creation
 *   if nobody ever joined, or `departureTimeoutS` after the report that showed it empty
 *   again; a room nobody reports on is kept, unless `unreportedRoomsUseEmptyTimeout` (it
 *   then expires `emptyTimeoutS` after creation, as LiveKit closes a room nobody joined) or
 *   `unreportedRoomTtlMs` (that long after creation) is set;

 * Expiry writes a tombstone like a delete: the name's delete horizon moves past every
 * incarnation created before it (DESIGN.md section 4). Candidates are indexed as they appear
 * (a stats report, a create), so a tick never scans the whole store; each tick handles at
 * most scanBatchMax of them.
 */
import { hlcWallMs, type RoomRecord } from '@roomring/protocol';

interface Deadline {
  dueMs: number;
  name: string;
}

/**
 * Whether the hosting node ever reported stats for the room. A new incarnation's stats group
 * carries the create's own stamp; any report is stamped later (the reporter's clock has
 * observed the create, so its stamp is strictly greater).
 */
export function statsReported(room: Readonly<RoomRecord>): boolean {
  return room.statsAt > room.createdAt;
}

/** Deadline (wall ms) at which a room expires, or undefined if it does not. */
export function expiryOf(
  room: Readonly<RoomRecord>,
  unreportedRoomTtlMs: number,
  unreportedRoomsUseEmptyTimeout = false,
): number | undefined {
  if (room.deletedAt !== 0) return undefined;
  if (!statsReported(room)) {
    if (unreportedRoomsUseEmptyTimeout)
      return hlcWallMs(room.createdAt) + room.emptyTimeoutS * 1000;
    return unreportedRoomTtlMs > 0 ? hlcWallMs(room.createdAt) + unreportedRoomTtlMs : undefined;
  }
  if (room.numParticipants > 0) return undefined;
  return room.everOccupied
    ? hlcWallMs(room.statsAt) + room.departureTimeoutS * 1000
    : hlcWallMs(room.createdAt) + room.emptyTimeoutS * 1000;
}

/** Min-heap of (dueMs, name) with lazy invalidation against `current`. */
export class ExpiryIndex {
  private readonly heap: Deadline[] = [];
  private readonly current = new Map<string, number>();

  size(): number {
    return this.current.size;
  }

  /** Sets or clears a room's deadline. */
  set(name: string, dueMs: number | undefined): void {
    if (dueMs === undefined) {
      this.current.delete(name);
      return;
    }
    if (this.current.get(name) === dueMs) return;
    this.current.set(name, dueMs);
    this.push({ dueMs, name });
    // Stale entries accumulate as deadlines move; rebuild when they outnumber live ones.
    if (this.heap.length > 2 * this.current.size + 1024) this.rebuild();
  }

  /** Removes and returns up to `max` names whose deadline passed. */
  takeDue(nowMs: number, max: number): string[] {
    const due: string[] = [];
    while (due.length < max && this.heap.length > 0 && this.heap[0]!.dueMs <= nowMs) {
      const top = this.pop()!;
      if (this.current.get(top.name) === top.dueMs) {
        this.current.delete(top.name);
        due.push(top.name);
      }
    }
    return due;
  }

  private rebuild(): void {
    this.heap.length = 0;
    for (const [name, dueMs] of this.current) this.push({ dueMs, name });
  }

  private push(entry: Deadline): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.dueMs <= heap[i]!.dueMs) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): Deadline | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]!.dueMs < heap[m]!.dueMs) m = l;
        if (r < heap.length && heap[r]!.dueMs < heap[m]!.dueMs) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}
