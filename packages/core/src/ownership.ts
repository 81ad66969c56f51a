/**
 * Room ownership (DESIGN.md section 6): the rooms this node hosts, what a change to a room
 * means to the embedding application (created, deleted, superseded by the first writer of a
 * concurrent create, ownership gained or lost), and the lifecycle of the rooms it owns (empty
 * and unreported rooms expire at their owner) with the store's tombstone collection.
 */
import type { RoomRecord } from '@roomring/protocol';
import type { RoomStore } from '@roomring/store';
import type { NodeConfig } from './config.js';
import type { RegistryEventEmitter, RoomOrigin } from './events.js';
import { ExpiryIndex, expiryOf } from './lifecycle.js';
import type { CancelTimer, Runtime } from './runtime.js';

/**
 * Rooms one step of the ownership scan re-evaluates (at most; scanBatchMax if smaller). A
 * room costs an md5 for its owner and, when it moved, an event: measured in the incident
 * replay, 1,000 rooms held the event loop 0.5-1.5 ms, up to 15 ms on a contended core.
 * Scanned 20,000 at a time, one step blocked a failover survivor's requests for 120 ms.
 */
export const OWNERSHIP_SCAN_STEP_ROOMS = 1_000;

export interface RoomOwnershipHost {
  /** Whether this node hosts `room` on the current rings. */
  ownsRoom(room: Readonly<RoomRecord>): boolean;
  /** Whether the node is stopping or stopped (a ring scan in progress ends). */
  stopping(): boolean;
  /** Deletes `room`, which expired here, as a local change (gossiped, not acknowledged). */
  expire(room: Readonly<RoomRecord>): void;
}

export class RoomOwnership {
  /** Names of visible rooms this node owns (hosts). */
  private readonly owned = new Set<string>();
  private readonly expiry = new ExpiryIndex();
  private scan: Iterator<Readonly<RoomRecord>> | undefined;
  /** The start of the next scan, while it waits for the rings to settle (ringsChanged). */
  private scanStart: CancelTimer | undefined;

  constructor(
    private readonly config: NodeConfig,
    private readonly store: RoomStore,
    private readonly runtime: Runtime,
    private readonly events: RegistryEventEmitter,
    private readonly host: RoomOwnershipHost,
  ) {}

  ownedRooms(): string[] {
    return [...this.owned];
  }

  ownedCount(): number {
    return this.owned.size;
  }

  expiryCandidates(): number {
    return this.expiry.size();
  }

  /**
   * Events, ownership and expiry bookkeeping after any change to `name` (`before`: the sid
   * visible before it). This runs for every merged record (tens of thousands per second
   * during a fill), so each step is skipped when the change cannot affect it.
   */
  afterChange(name: string, before: string | undefined, origin: RoomOrigin): void {
    const room = this.store.get(name);
    const after = room?.sid;
    const events = this.events;
    if (before === after) {
      // Same visible room (or still none): an update of a field group, or a change to a
      // non-visible incarnation (a loser of a concurrent create, or one behind a delete).
      if (room) {
        if (events.has('room-updated')) events.emit('room-updated', { room, origin });
        this.indexExpiry(name, room);
      }
      return;
    }
    if (before === undefined && room) {
      if (events.has('room-created')) events.emit('room-created', { room, origin });
      // A name without a visible room is neither hosted nor indexed: every change of a
      // name's visible room comes through here with the sid it replaced (the swarm checks
      // that hosted rooms are visible). So only a room this node hosts has anything to
      // record, and the other regions' new rooms, most of a fill, cost no lookup here.
      if (this.host.ownsRoom(room)) this.gain(room);
      return;
    }
    if (before !== undefined && !room) {
      const gone = this.store.incarnations(name).find((r) => r.sid === before);
      if (gone && events.has('room-deleted')) events.emit('room-deleted', { room: gone, origin });
    } else if (before !== undefined && room) {
      const previous = this.store.incarnations(name).find((r) => r.sid === before);
      if (previous && this.store.losers(name).some((r) => r.sid === before)) {
        // An older incarnation of a concurrent create arrived: it is the room (first writer).
        events.emit('room-superseded', { name, winnerSid: room.sid, loserSid: before });
      } else {
        if (previous) events.emit('room-deleted', { room: previous, origin });
        events.emit('room-created', { room, origin });
      }
    }
    this.update(name, room);
    this.indexExpiry(name, room);
  }

  /**
   * Re-evaluates ownership of every room after the rings changed, at most
   * min(scanBatchMax, OWNERSHIP_SCAN_STEP_ROOMS) per step, starting heartbeatIntervalMs after
   * the change; the changes that arrive meanwhile are covered by the same scan, as it reads
   * the rings as they are when it walks. A change during a scan restarts it.
   *
   * Why wait: ring changes come in bursts (a death seen by its connection, then by the
   * membership; a region's several nodes; a join), and each scan walks every visible room
   * (~1 us each, so about a second at 1M rooms). And the moment a member dies is the moment
   * its clients move to the survivors: in the incident replay a scan at once (15,000 rooms,
   * 20-40 ms of CPU on the survivor) raised that second's p99 from 37-61 ms (the scan 1 s
   * later) to 136-280 ms, as the survivors were slow to take the moved clients' first
   * connections (docs/operations.md, Load balancing and failover). Nothing on the request
   * path reads `owned`: owner lookups use the rings. It drives the expiry index (which tick()
   * checks against the rings before expiring anything) and the ownership events, which come
   * this much later.
   */
  ringsChanged(): void {
    if (this.scan !== undefined) {
      // Rooms no longer visible are dropped from `owned` by afterChange; only rings moved here.
      this.scan = this.store.visibleRooms()[Symbol.iterator]();
      return;
    }
    if (this.scanStart !== undefined) return;
    this.scanStart = this.runtime.timers.setTimer(this.config.heartbeatIntervalMs, () => {
      this.scanStart = undefined;
      this.scan = this.store.visibleRooms()[Symbol.iterator]();
      this.scanStep();
    });
  }

  /** Drops a pending or running scan (the node stops). */
  stop(): void {
    this.scanStart?.();
    this.scanStart = undefined;
    this.scan = undefined;
  }

  /**
   * One lifecycle tick: a share of the tombstone collection (every bucket once per
   * gcIntervalMs, so a 1M-room sweep never blocks the event loop), then the owned rooms whose
   * expiry is due, at most scanBatchMax.
   */
  tick(): void {
    const now = this.runtime.clock.nowMs();
    this.store.gc(
      Math.ceil(
        (this.store.bucketCount * this.config.lifecycleIntervalMs) / this.config.gcIntervalMs,
      ),
    );
    for (const name of this.expiry.takeDue(now, this.config.scanBatchMax)) {
      const room = this.store.get(name);
      if (!room || !this.host.ownsRoom(room)) continue;
      const due = this.expiryOf(room);
      if (due === undefined) continue;
      if (due > now) {
        this.expiry.set(name, due);
        continue;
      }
      this.host.expire(room);
    }
  }

  private scanStep(): void {
    const scan = this.scan;
    if (!scan) return;
    if (this.host.stopping()) {
      this.scan = undefined;
      return;
    }
    const rooms = Math.min(this.config.scanBatchMax, OWNERSHIP_SCAN_STEP_ROOMS);
    for (let i = 0; i < rooms; i++) {
      const step = scan.next();
      if (step.done) {
        this.scan = undefined;
        return;
      }
      this.update(step.value.name, step.value);
    }
    this.runtime.timers.setTimer(0, () => this.scanStep());
  }

  private update(name: string, room: Readonly<RoomRecord> | undefined): void {
    const owns = room !== undefined && this.host.ownsRoom(room);
    if (owns === this.owned.has(name)) return;
    if (owns) {
      this.gain(room!);
    } else {
      this.owned.delete(name);
      // Only owned rooms are indexed (indexExpiry); the new owner indexes it.
      this.expiry.set(name, undefined);
      const sid = room?.sid ?? '';
      this.events.emit('ownership-lost', { name, sid });
    }
  }

  private gain(room: Readonly<RoomRecord>): void {
    // The store's copy of the name as the key, never the caller's: that one may be a slice
    // of a whole gossip batch (store/src/detach-string.ts), kept alive as long as the key.
    this.owned.add(room.name);
    // tick() dropped it from the expiry index if it fell due while another node owned it
    // (its owner died near the deadline): due now, it expires at the next tick.
    this.expiry.set(room.name, this.expiryOf(room));
    this.events.emit('ownership-gained', { name: room.name, sid: room.sid });
  }

  /**
   * Indexes the expiry of `name` when this node owns it, and only then: only an owner
   * expires a room (tick), and indexing every room cost ~110 B per room (a Map entry, a
   * heap entry and its boxed deadline: ~105 MiB at 1M rooms with the server's default
   * unreportedRoomsUseEmptyTimeout). Keyed by the store's copy of the name.
   */
  private indexExpiry(name: string, room: Readonly<RoomRecord> | undefined): void {
    if (room === undefined || !this.owned.has(name)) this.expiry.set(name, undefined);
    else this.expiry.set(room.name, this.expiryOf(room));
  }

  private expiryOf(room: Readonly<RoomRecord>): number | undefined {
    return expiryOf(
      room,
      this.config.unreportedRoomTtlMs,
      this.config.unreportedRoomsUseEmptyTimeout,
    );
  }
}
