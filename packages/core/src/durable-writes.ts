/**
 * Durable writes (P4, docs/protocol/replicate.md): a local write is acknowledged to its caller
 * only once minAcks other nodes hold it. This part owns the write path (the per-partner
 * replicate pipelines, write-path.ts) and the unacknowledged state: which local writes still
 * wait for their partners, so a retried call confirms the write it already applied instead
 * of answering as if it had never happened.
 */
import type { RoomRecord } from '@roomring/protocol';
import type { NodeConfig } from './config.js';
import type { Transport } from './transport.js';
import { WritePath, type WritePathCounters, type WritePathHost } from './write-path.js';

/** Unacknowledged local writes remembered for re-confirmation on retry; oldest evicted. */
export const UNACKED_MAX = 100_000;

/**
 * With minAcks >= 2: incarnations known to be held by minAcks other nodes (this node's
 * confirmed writes, and rooms confirmed before an existing-room answer), so CreateRoom of an
 * existing room confirms each at most once here; oldest forgotten first (a forgotten one is
 * confirmed again on its next existing-room answer).
 */
export const CONFIRMED_MAX = 200_000;

/** A local write not yet confirmed by minAcks partners, and its confirmation under way. */
interface UnackedWrite {
  inflight: Promise<void> | undefined;
}

/** The write path's host (WritePathHost), plus what re-confirmation needs. */
export interface DurableWritesHost extends WritePathHost {
  /** The incarnation `sid` of `name` this node holds, if any. */
  incarnation(name: string, sid: string): Readonly<RoomRecord> | undefined;
}

export class DurableWrites {
  private readonly writePath: WritePath;
  /**
   * sid -> the latest unconfirmed local write of that incarnation. Each write gets its own
   * entry object: the confirmation of an earlier write (the create) must not clear the entry
   * of a later one (the delete 3 ms after it), or a retry of the later write would find
   * nothing to confirm and answer not_found.
   */
  private readonly unacked = new Map<string, UnackedWrite>();
  /** Unconfirmed writes forgotten past UNACKED_MAX: a retry of one returns at once. */
  unackedEvicted = 0;
  /** minAcks >= 2 only: sids known held by minAcks others, insertion order (CONFIRMED_MAX). */
  private readonly confirmed = new Set<string>();
  /** minAcks >= 2 only: existing rooms being confirmed, so concurrent answers share one. */
  private readonly confirming = new Map<string, Promise<void>>();

  constructor(
    private readonly config: NodeConfig,
    transport: Transport,
    private readonly host: DurableWritesHost,
    /** CONFIRMED_MAX, smaller in tests. */
    private readonly confirmedMax = CONFIRMED_MAX,
  ) {
    this.writePath = new WritePath(config, transport, {
      nowMs: () => host.nowMs(),
      stamp: () => host.stamp(),
      partnersFor: (name, count) => host.partnersFor(name, count),
      isMember: (peer) => host.isMember(peer),
      mergeRemote: (record) => host.mergeRemote(record) && this.holdsAsSent(record),
      reachesEveryPeer: (partners) => host.reachesEveryPeer(partners),
      withholdGossip: (records) => host.withholdGossip(records),
      gossip: (records) => host.gossip(records),
    });
  }

  get counters(): Readonly<WritePathCounters> {
    return this.writePath.counters;
  }

  /** Serves partners' replicate requests. */
  register(): void {
    this.writePath.register();
  }

  /** Whether a new write would be shed now (assertCapacity would throw). */
  atCapacity(): boolean {
    return this.writePath.atCapacity();
  }

  /** Throws OverloadedError before a write is applied when too many wait for acks. */
  assertCapacity(): void {
    this.writePath.assertCapacity();
  }

  pendingWrites(): number {
    return this.writePath.pendingWrites();
  }

  /** A local write of incarnation `sid` was applied and needs confirming (minAcks > 0). */
  mark(sid: string): void {
    if (this.config.minAcks === 0) return;
    this.unacked.delete(sid);
    this.unacked.set(sid, { inflight: undefined });
    if (this.unacked.size > UNACKED_MAX) {
      const oldest = this.unacked.keys().next().value;
      if (oldest !== undefined) {
        this.unacked.delete(oldest);
        this.unackedEvicted++;
      }
    }
  }

  /** Whether the latest local write of `sid` still waits for its partners. */
  isUnacked(sid: string): boolean {
    return this.unacked.has(sid);
  }

  /** The incarnation is gone from this node (forgotten by a resync): nothing to confirm. */
  forget(sid: string): void {
    this.unacked.delete(sid);
    this.confirmed.delete(sid);
  }

  /**
   * Whether CreateRoom must wait (confirmExisting) before it answers with the existing
   * incarnation `sid` (P4: the answer acknowledges the room). This node's own unconfirmed
   * write must wait. A room received from another node is held by its sender and by this
   * node, so with minAcks <= 1 it is held by minAcks others already; with minAcks >= 2 it is
   * confirmed first, once (swarm seed 31681: a room whose creator's write failed, answered
   * by the one node holding it, was lost with that node).
   */
  mustConfirmExisting(sid: string): boolean {
    return this.unacked.has(sid) || (this.config.minAcks >= 2 && !this.confirmed.has(sid));
  }

  /** Waits until minAcks others hold the existing room `records[0]` (with the name's recent
   *  tombstones after it), as mustConfirmExisting requires. */
  async confirmExisting(
    records: readonly Readonly<RoomRecord>[],
    deadlineAt: number,
  ): Promise<void> {
    const sid = records[0]?.sid;
    if (sid === undefined) return;
    if (this.unacked.has(sid)) return this.confirm(records, deadlineAt);
    if (this.config.minAcks < 2 || this.confirmed.has(sid)) return;
    let confirming = this.confirming.get(sid);
    if (!confirming) {
      // A confirmation waits for acks like a write: bounded by pendingWritesMax too.
      this.writePath.assertCapacity();
      const started = this.writePath.replicate(records, deadlineAt).then(
        () => {
          this.confirming.delete(sid);
          this.markConfirmed(sid);
        },
        (error: unknown) => {
          this.confirming.delete(sid);
          throw error;
        },
      );
      this.confirming.set(sid, started);
      confirming = started;
    }
    await confirming;
  }

  /** Incarnations known held by minAcks others (minAcks >= 2), for tests. */
  confirmedCount(): number {
    return this.confirmed.size;
  }

  private markConfirmed(sid: string): void {
    if (this.config.minAcks < 2) return;
    this.confirmed.delete(sid);
    this.confirmed.add(sid);
    if (this.confirmed.size > this.confirmedMax) {
      const oldest = this.confirmed.values().next().value;
      if (oldest !== undefined) this.confirmed.delete(oldest);
    }
  }

  /** Waits until minAcks partners hold the write (or it was confirmed already). The first
   *  record's sid keys the write; the others are tombstones of the same delete. */
  async confirm(records: readonly Readonly<RoomRecord>[], deadlineAt: number): Promise<void> {
    const key = records[0]?.sid;
    const write = key === undefined ? undefined : this.unacked.get(key);
    if (key === undefined || write === undefined) return;
    if (!write.inflight) {
      const inflight = this.writePath.replicate(records, deadlineAt).then(
        () => {
          // Only this write is confirmed; a later write of the same sid keeps its entry.
          if (this.unacked.get(key) === write) this.unacked.delete(key);
          this.markConfirmed(key);
        },
        (error: unknown) => {
          // Keep it unconfirmed; the next call for it tries again.
          write.inflight = undefined;
          throw error;
        },
      );
      write.inflight = inflight;
    }
    await write.inflight;
  }

  /**
   * For a durable write's ack: this node holds `record`'s incarnation in a state no less
   * final than the one sent. A live room it holds deleted (the delete reached it, not the
   * writer) is not acknowledged: the writer would answer a create with a room the cluster
   * deleted, and keep serving it live until its own sync (swarm seed 4411).
   */
  private holdsAsSent(record: RoomRecord): boolean {
    if (record.deletedAt !== 0) return true;
    const held = this.host.incarnation(record.name, record.sid);
    return held !== undefined && held.deletedAt === 0;
  }
}
