/**
 * Isolation and resync: the GC-horizon rule (DESIGN.md section 4, docs/protocol/sync.md).
 * This part owns how far back this store's history reaches without a gap (the heartbeat's
 * historySinceMs), whether the node has been cut off from every member for longer than
 * isolationAfterMs (half the tombstone TTL), and the resync that follows such an isolation.
 *
 * A node that heard from no other member for longer than that may hold rooms the others
 * deleted and will have collected before anti-entropy brings it their tombstones. It
 * refuses to serve records while cut off. On its first contact it enters `resyncing`,
 * listens for one suspicion period (every live member's heartbeat, with its history,
 * arrives meanwhile), then decides:
 *
 * - no member's history reaches back before the cut-off (every other node restarted empty
 *   while it was alone): nobody can have deleted what it holds, so it is the authority and
 *   simply serves again: it starts a session with every member, which makes each pull
 *   everything from it at once (a lone survivor);
 * - otherwise it lists the sids of the member with the oldest history (a witness of the
 *   whole isolation) and forgets each of its incarnations created well before the cut-off
 *   that the witness no longer holds (deleted and collected meanwhile), then serves again
 *   and pulls the rest by normal anti-entropy. Rooms created later are kept (only it can
 *   know them); so are old rooms the witness still holds, with what changed meanwhile.
 */
import { packHlc, type RoomRecord, type SyncSummaryEntry } from '@roomring/protocol';
import { type RoomStore, recordHash } from '@roomring/store';
import { isolationAfterMs, type NodeConfig } from './config.js';
import type { Guard } from './guards.js';
import type { MemberView } from './membership.js';
import type { Runtime } from './runtime.js';
import type { PeerId } from './transport.js';

/** The node's lifecycle as the isolation rule sees it. */
export type IsolationNodeState = 'created' | 'running' | 'resyncing' | 'stopping' | 'stopped';

export interface IsolationHost {
  nodeState(): IsolationNodeState;
  /** Every member known (not this node). */
  members(): MemberView[];
  /** Wall ms of the last heartbeat from any other live member; undefined if never. */
  lastPeerContactMs(): number | undefined;
  isConnected(peer: PeerId): boolean;
  memberOfPeer(peer: PeerId): MemberView | undefined;
  /** Anti-entropy: the sids a peer holds, bucket by bucket (AntiEntropy.listPeerSids). */
  listPeerSids(
    peer: PeerId,
    visit: (bucket: number, entries: ReadonlyMap<string, SyncSummaryEntry>) => void,
  ): Promise<void>;
  /** Anti-entropy: pulls these records from a peer now (AntiEntropy.pullNow). */
  pullNow(
    peer: PeerId,
    wanted: readonly { bucket: number; sid: string }[],
  ): Promise<Map<string, Readonly<RoomRecord>>>;
  /** Starts a sync session with a peer (fire and forget). */
  syncWith(peer: PeerId): void;
  /** An incarnation this node wrote was forgotten: it no longer waits for acks. */
  forgotWrite(sid: string): void;
  /** The visible room `room` was forgotten: tell the application, as a delete. */
  forgotVisible(room: Readonly<RoomRecord>): void;
}

export interface IsolationCounters {
  /** Isolations longer than isolationAfterMs that ended (first contact again). */
  isolationsEnded: number;
  /** ...after which no member's history covered the isolation: this node's state stood. */
  isolationsAuthoritative: number;
  /** Incarnations forgotten because a witness of the isolation no longer held them. */
  recordsForgotten: number;
  /** This node's deletes made while cut off, undone by the resync (never acknowledged). */
  deletesUndone: number;
  /** Witness listings that failed and were retried. */
  resyncFailures: number;
}

export class Isolation {
  readonly counters: IsolationCounters = {
    isolationsEnded: 0,
    isolationsAuthoritative: 0,
    recordsForgotten: 0,
    deletesUndone: 0,
    resyncFailures: 0,
  };
  /** Wall ms since which this store holds the cluster's state without a gap (heartbeat's
   *  historySinceMs): its start, or a peer's older history once it pulled all of it. */
  historySinceMs = 0;
  /** Set while resyncing after an isolation longer than isolationAfterMs. */
  private isolation: { cutOffAtMs: number; rejoinedAtMs: number; attempts: number } | undefined;
  /**
   * Sids of the records that peers sent while this node was cut off too long or resyncing:
   * a peer holds them, so the resync keeps them. At most one entry per incarnation held
   * (bounded by the store); emptied when the resync ends.
   */
  private readonly arrivedSinceCutOff = new Set<string>();

  constructor(
    private readonly config: NodeConfig,
    private readonly store: RoomStore,
    private readonly runtime: Runtime,
    private readonly guard: Guard,
    private readonly host: IsolationHost,
  ) {}

  /** Whether a resync is under way (the node's state is then `resyncing`). */
  get resyncing(): boolean {
    return this.isolation !== undefined;
  }

  /** Cut off from every member for longer than isolationAfterMs. */
  isolatedTooLong(): boolean {
    const last = this.host.lastPeerContactMs();
    return last !== undefined && this.runtime.clock.nowMs() - last > isolationAfterMs(this.config);
  }

  /** Whether peers may pull records from this node (not while it may hold collected ones). */
  canServeSync(): boolean {
    return this.host.nodeState() === 'running' && !this.isolatedTooLong();
  }

  /** Whether peers may list this node's sids (a resyncing node lists what it holds). */
  canServeSummaries(): boolean {
    const state = this.host.nodeState();
    return (state === 'running' || state === 'resyncing') && !this.isolatedTooLong();
  }

  /** A peer sent `sid` (merged or unchanged): kept by a resync under way or to come. */
  noteArrival(sid: string): void {
    if (this.host.nodeState() === 'resyncing' || this.isolatedTooLong()) {
      this.arrivedSinceCutOff.add(sid);
    }
  }

  /** After a sync session: a node that pulled everything a peer held now holds the history
   *  the peer holds, so its own reaches back as far (see historySinceMs in the heartbeat). */
  sessionCompleted(peer: PeerId, complete: boolean): void {
    if (!complete) return;
    const member = this.host.memberOfPeer(peer);
    if (member && member.historySinceMs < this.historySinceMs) {
      this.historySinceMs = member.historySinceMs;
    }
  }

  /**
   * Whether `peer`'s history reaches back before this node's: it may hold records written
   * before this store began (this node restarted empty, or a lone survivor kept them through
   * an outage) that no gossip will ever bring here. Until one complete session with it
   * (sessionCompleted then adopts its history), anti-entropy compares every bucket that
   * differs from it at once instead of deferring held ones.
   */
  peerHistoryIsOlder(peer: PeerId): boolean {
    const member = this.host.memberOfPeer(peer);
    return member !== undefined && member.historySinceMs < this.historySinceMs;
  }

  /** First contact after an isolation longer than isolationAfterMs: resync. */
  rejoined(cutOffAtMs: number): void {
    if (this.host.nodeState() !== 'running') return;
    this.isolation = { cutOffAtMs, rejoinedAtMs: this.runtime.clock.nowMs(), attempts: 0 };
    this.counters.isolationsEnded++;
    this.runtime.timers.setTimer(this.config.suspectAfterMs, () => this.reconcile());
  }

  private reconcile(): void {
    const isolation = this.isolation;
    if (this.host.nodeState() !== 'resyncing' || isolation === undefined) return;
    // Members whose history reaches back before the cut-off: in the rings, or declared dead
    // only since the rejoin (a new partition, not a death we knew of). While one is known,
    // this node is not the authority; it waits until one of them is reachable.
    const candidates = this.host
      .members()
      .filter(
        (m) =>
          m.historySinceMs < isolation.cutOffAtMs &&
          (m.state === 'alive' ||
            m.state === 'suspect' ||
            (m.state === 'dead' && m.stateSinceMs >= isolation.rejoinedAtMs)),
      );
    if (candidates.length === 0) {
      this.counters.isolationsAuthoritative++;
      this.end(undefined);
      // Every other store was rebuilt while this node was alone, so it holds the only copy
      // of what it kept, and one more crash loses it. A session it starts with each member
      // makes that member pull from it at once (a responder seeing differing digests pulls
      // back, and compares every bucket with a peer whose history is older than its own),
      // not whenever a random session happens to meet it (swarm seed 8075).
      for (const member of this.host.members()) {
        if (member.state === 'alive' && this.host.isConnected(member.peerId)) {
          this.host.syncWith(member.peerId);
        }
      }
      return;
    }
    const witnesses = candidates
      .filter((m) => m.state !== 'dead' && this.host.isConnected(m.peerId))
      .sort(
        (a, b) =>
          a.historySinceMs - b.historySinceMs ||
          (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0),
      );
    if (witnesses.length === 0) {
      this.counters.resyncFailures++;
      this.runtime.timers.setTimer(this.config.syncIntervalMs, () => this.reconcile());
      return;
    }
    const witness = witnesses[isolation.attempts % witnesses.length]!;
    isolation.attempts++;
    const done = this.resyncWith(witness.peerId, isolation.cutOffAtMs).then(
      () => this.end(witness.peerId),
      () => {
        this.counters.resyncFailures++;
        if (this.host.nodeState() === 'resyncing') {
          this.runtime.timers.setTimer(this.config.syncIntervalMs, () => this.reconcile());
        }
      },
    );
    this.guard.task('resync after isolation', done);
  }

  /** Lists the witness's sids and forgets what it collected meanwhile (see the file comment). */
  private async resyncWith(witness: PeerId, cutOffAtMs: number): Promise<void> {
    // Created after this, a record cannot lie behind a tombstone the witness has collected:
    // one that ended it was written after it (its stamp is later), and the witness keeps it
    // until its own clock passes that stamp + tombstoneTtlMs; its clock may be up to
    // maxClockOffsetMs ahead of ours, so the bound is now - tombstoneTtlMs +
    // maxClockOffsetMs. Taken when each bucket's listing arrives (the witness listed it
    // just before). It was "- maxClockOffsetMs": a node deaf for 7.9 s (TTL 6.4 s) had
    // created a room whose gossip leaked out and was deleted elsewhere 0.3 s later; at its
    // resync the witness had collected the tombstone, the room was kept as too young to
    // judge, and it came back everywhere (swarm seed 37814).
    const keptAfter = (): number =>
      packHlc(
        Math.max(
          0,
          this.runtime.clock.nowMs() - this.config.tombstoneTtlMs + this.config.maxClockOffsetMs,
        ),
        0,
      );
    const differing: Readonly<RoomRecord>[] = [];
    const ownDeletes: Readonly<RoomRecord>[] = [];
    const cutOffAt = packHlc(cutOffAtMs, 0);
    await this.host.listPeerSids(witness, (bucket, entries) =>
      this.forgetCollected(bucket, entries, keptAfter(), differing, cutOffAt, ownDeletes),
    );
    // This node's deletes (and expiries) made while it was cut off were never acknowledged,
    // and spread now they would arrive late: a tombstone is collected tombstoneTtlMs after it
    // was written, and its delete horizon ends incarnations others created meanwhile;
    // reaching some nodes just before its TTL ran out, it was collected before it reached
    // all of them, and the room came back (swarm seed 7431). They are undone, as an
    // unacknowledged write may be: forgotten here, and the witness's version taken instead,
    // if it has one.
    for (const record of ownDeletes) {
      if (this.store.forget(record.name, record.sid)) {
        this.host.forgotWrite(record.sid);
        this.counters.deletesUndone++;
      }
    }
    if (ownDeletes.length > 0) {
      await this.host.pullNow(
        witness,
        ownDeletes.map((r) => ({ bucket: this.store.bucketOf(r.name), sid: r.sid })),
      );
    }
    if (differing.length === 0) return;
    // A room held live here that the witness holds otherwise may be deleted there, its
    // tombstone about to be collected: take those records now, not at the next session.
    // A tombstone past the GC horizon is refused by every merge (accepted by some nodes
    // and not others, it would split the cluster), so the room it ends is forgotten here
    // instead, as is one the witness no longer has (collected since the listing).
    const received = await this.host.pullNow(
      witness,
      differing.map((r) => ({ bucket: this.store.bucketOf(r.name), sid: r.sid })),
    );
    this.forgetRecords(
      differing.filter((r) => {
        const theirs = received.get(r.sid);
        if (theirs === undefined) return true;
        if (theirs.deletedAt === 0) return false;
        const mine = this.store.incarnations(r.name).find((held) => held.sid === r.sid);
        return mine !== undefined && mine.deletedAt === 0;
      }),
    );
  }

  /**
   * Forgets the incarnations of `bucket` the witness lacks: deleted while this node was away
   * and their tombstones since collected. Kept are those a peer sent since the cut-off (a
   * peer holds them) and those created after `keptAfter` (now - tombstoneTtlMs +
   * maxClockOffsetMs): a tombstone that ended one of those, its own or a newer incarnation's
   * delete horizon, was written after it and is not collected yet, so the next sync brings
   * it if there is one, and the witness may merely not have heard of the record yet (a stale
   * witness made this node forget a room every other node held: swarm seed 979). Older ones
   * the witness lacks go, this node's own creates too: one that was acknowledged is held by
   * the partner that acknowledged it, which passed it on, so the witness lacks it only if it
   * was deleted; one that was not may have leaked out and been deleted, and an
   * unacknowledged write may be lost. Live incarnations the witness holds in another state go
   * to `differing`.
   */
  private forgetCollected(
    bucket: number,
    witnessEntries: ReadonlyMap<string, SyncSummaryEntry>,
    keptAfter: number,
    differing: Readonly<RoomRecord>[],
    cutOffAt: number,
    ownDeletes: Readonly<RoomRecord>[],
  ): void {
    const gone: Readonly<RoomRecord>[] = [];
    for (const record of this.store.recordsInBucket(bucket)) {
      const sid = record.sid;
      if (
        record.deletedAt >= cutOffAt &&
        record.deletedBy === this.config.nodeId &&
        record.deletedAt !== 0
      ) {
        ownDeletes.push(record);
        continue;
      }
      const theirs = witnessEntries.get(sid);
      if (theirs !== undefined) {
        if (record.deletedAt === 0) {
          const [hi, lo] = recordHash(record);
          if (hi !== theirs.hashHi || lo !== theirs.hashLo) differing.push(record);
        }
        continue;
      }
      if (this.arrivedSinceCutOff.has(sid)) continue;
      if (record.createdAt >= keptAfter) continue;
      gone.push(record);
    }
    this.forgetRecords(gone);
  }

  private forgetRecords(records: readonly Readonly<RoomRecord>[]): void {
    for (const record of records) {
      const before = this.store.get(record.name)?.sid;
      const forgotten = this.store.forget(record.name, record.sid);
      if (!forgotten) continue;
      this.host.forgotWrite(record.sid);
      this.counters.recordsForgotten++;
      if (before === forgotten.sid) this.host.forgotVisible(forgotten);
    }
  }

  private end(witness: PeerId | undefined): void {
    if (this.host.nodeState() !== 'resyncing') return;
    this.isolation = undefined;
    this.arrivedSinceCutOff.clear();
    if (witness !== undefined) this.host.syncWith(witness);
  }
}
