/**
 * This node's replica of the room set, at its edges: a change made here goes out (gossiped
 * by the replicator; a durable one marked to be confirmed by partners), and a change made
 * elsewhere comes in (gossip batches validated against their sender, each record merged by
 * the store's rule, DESIGN.md section 4). Every change, either way, is then handed to room
 * ownership for its events and bookkeeping.
 */
import { decodeMessage, packHlc, type RoomRecord } from '@roomring/protocol';
import type { RoomStore } from '@roomring/store';
import type { NodeConfig } from './config.js';
import { Replicator } from './replication.js';
import type { Runtime } from './runtime.js';
import type { GossipMessage, GossipVerdict, PeerId, Transport } from './transport.js';

export const ROOMS_TOPIC = 'roomring/rooms/1';

export interface ReplicaHost {
  /** The member a peer is (gossip from a non-member is ignored). */
  nodeIdOfPeer(peer: PeerId): string | undefined;
  /** Whether the node takes gossip now (running or resyncing). */
  serving(): boolean;
  /** A peer sent this incarnation (the isolation rule keeps it). */
  arrived(sid: string): void;
  /** A local write that needs minAcks partners. */
  markDurable(sid: string): void;
  /** Events and ownership after a change to `name` (`before`: the sid visible before). */
  changed(name: string, before: string | undefined, origin: 'local' | 'remote'): void;
}

export interface ReplicaCounters {
  batchesReceived: number;
  batchesRejected: number;
  recordsMerged: number;
  recordsRejected: number;
  /** Live records by gossip for a sid not held here, created before the GC horizon. */
  staleUnknownRefused: number;
}

export class Replica {
  readonly counters: ReplicaCounters = {
    batchesReceived: 0,
    batchesRejected: 0,
    recordsMerged: 0,
    recordsRejected: 0,
    staleUnknownRefused: 0,
  };
  readonly replicator: Replicator;

  constructor(
    private readonly config: NodeConfig,
    private readonly store: RoomStore,
    private readonly runtime: Runtime,
    private readonly transport: Transport,
    private readonly host: ReplicaHost,
  ) {
    this.replicator = new Replicator(config, runtime.timers, {
      publish: (data) => transport.publish(ROOMS_TOPIC, data),
      stamp: () => store.hlc.now(),
    });
  }

  /** Subscribes the rooms topic. */
  register(): void {
    this.transport.subscribe(ROOMS_TOPIC, (message) => this.onRoomsMessage(message));
  }

  /** After a local write: gossip it (with `companions`, the tombstones a re-create travels
   *  with), remember it needs confirming if `durable`, then events and ownership. */
  localChange(
    record: Readonly<RoomRecord>,
    visibleBefore: string | undefined,
    durable: boolean,
    companions: readonly Readonly<RoomRecord>[] = [],
  ): void {
    if (companions.length > 0) this.replicator.enqueueTogether([...companions, record]);
    else this.replicator.enqueue(record);
    if (durable) this.host.markDurable(record.sid);
    this.host.changed(record.name, visibleBefore, 'local');
  }

  /** A delete made here: the visible room's tombstone is the change, the tombstones of the
   *  name's other incarnations go out before it. */
  localDelete(
    deleted: readonly Readonly<RoomRecord>[],
    visibleBefore: string,
    durable: boolean,
  ): void {
    for (const record of deleted.slice(1)) this.replicator.enqueue(record);
    if (deleted[0]) this.localChange(deleted[0], visibleBefore, durable);
  }

  /**
   * Tombstones of `name` that every peer still accepts: deleted after the GC horizon plus a
   * margin for the peers' clocks (a peer refuses tombstones older than its own horizon,
   * which would fail a durable write). At most incarnationsPerNameMax of them.
   */
  recentTombstones(name: string): Readonly<RoomRecord>[] {
    const incarnations = this.store.incarnations(name);
    if (incarnations.length < 2) return [];
    const horizon = packHlc(
      this.runtime.clock.nowMs() - this.config.tombstoneTtlMs + 2 * this.config.maxClockOffsetMs,
      0,
    );
    return incarnations.filter((r) => r.deletedAt !== 0 && r.deletedAt > horizon);
  }

  /**
   * Merges a record from another node; true when this node now holds it. `record` must be
   * one decodeMessage returned (gossip, a sync frame, a replicate request), handed over: the
   * store may keep the object itself (RoomStore.merge's `adopt`), so a caller keeps no
   * reference to it: a later change to the room would change it in place.
   */
  mergeRemote(record: RoomRecord): boolean {
    const outcome = this.store.merge(record, true);
    if (outcome.kind === 'rejected') {
      this.counters.recordsRejected++;
      return false;
    }
    this.host.arrived(record.sid);
    if (outcome.kind !== 'unchanged') {
      this.counters.recordsMerged++;
      this.host.changed(record.name, outcome.visibleSidBefore, 'remote');
    }
    return true;
  }

  private onRoomsMessage(message: GossipMessage): GossipVerdict {
    const sender = this.host.nodeIdOfPeer(message.origin);
    const decoded = decodeMessage(message.data);
    if (!decoded.ok || decoded.message.type !== 'room-batch') {
      this.counters.batchesRejected++;
      return 'reject';
    }
    if (sender === undefined) {
      // Not (yet) a member: its heartbeat may still be on the way; anti-entropy repairs it.
      return 'ignore';
    }
    if (decoded.message.origin !== sender) {
      this.counters.batchesRejected++;
      return 'reject';
    }
    if (!this.host.serving()) return 'ignore';
    this.counters.batchesReceived++;
    // The GC horizon (now - tombstoneTtlMs), once per batch.
    const horizon = packHlc(
      Math.max(0, this.runtime.clock.nowMs() - this.config.tombstoneTtlMs),
      0,
    );
    for (const record of decoded.message.records) {
      if (this.staleUnknown(record, horizon)) {
        this.counters.staleUnknownRefused++;
        continue;
      }
      this.mergeRemote(record);
    }
    return 'accept';
  }

  /**
   * A live record by gossip for a sid this node does not hold, created before the GC horizon
   * (`horizon`, now - tombstoneTtlMs): a tombstone that ended it was written after it, so it
   * may have been collected here, and the record would come back. Gossip carries changes, and
   * a change made at a node cut off for a long time can arrive late (gossipsub's IWANT
   * answers from its message cache seconds after a partition heals: swarm seed 3021). A node
   * that merely lacks the room (it restarted empty) gets it from anti-entropy, which takes
   * records from a peer's store as they stand there, within a session.
   */
  private staleUnknown(record: RoomRecord, horizon: number): boolean {
    if (record.deletedAt !== 0) return false;
    if (record.createdAt >= horizon) return false;
    return !this.store.incarnations(record.name).some((held) => held.sid === record.sid);
  }
}
