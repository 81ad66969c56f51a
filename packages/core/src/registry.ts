/**
 * The registry node's logic, without I/O: it wires membership, placement, the store,
 * gossip replication, anti-entropy, durable writes and the lifecycle, and talks to the world
 * only through the injected Transport and Runtime (DESIGN.md section 3). `@roomring/node`
 * runs it on libp2p and real time; `@roomring/sim` on a simulated network and virtual time.
 */
import {
  decodeMessage,
  encodeMessage,
  type HeartbeatMessage,
  type LeaveMessage,
  type MemberSuspectMessage,
  packHlc,
  type RoomRecord,
  type SyncSummaryEntry,
} from '@roomring/protocol';
import { createPlacement, type Placement, type RingMember } from '@roomring/ring';
import { createRoomStore, type RoomStore, RoomStoreError, recordHash } from '@roomring/store';
import { AntiEntropy, differingSettleMs } from './anti-entropy.js';
import { type NodeConfig, type NodeOptionsInput, resolveConfig } from './config.js';
import {
  DeadlineExceededError,
  InvalidArgumentError,
  NodeNotReadyError,
  RoomNotFoundError,
} from './errors.js';
import { RegistryEventEmitter, type RegistryEventName, type RegistryEvents } from './events.js';
import { Guard } from './guards.js';
import { ExpiryIndex, expiryOf } from './lifecycle.js';
import {
  advertisedAddrs,
  type MemberChangeReason,
  Membership,
  type MemberTransition,
  type MemberView,
} from './membership.js';
import { isLargeCluster, pairScore } from './mesh.js';
import { Replicator } from './replication.js';
import type { CancelTimer, Runtime } from './runtime.js';
import type { GossipMessage, GossipVerdict, PeerId, Transport } from './transport.js';
import { WritePath } from './write-path.js';

export const ROOMS_TOPIC = 'roomring/rooms/1';
export const MEMBERSHIP_TOPIC = 'roomring/membership/1';
/** Large clusters: neighbours exchange heartbeats directly (request: ours, answer: theirs). */
export const PING_PROTOCOL = '/roomring/ping/1';
/** A joining node asks a member for every member it knows: one member-entry per frame. */
export const MEMBERS_PROTOCOL = '/roomring/members/1';

export interface CreateRoomRequest {
  name: string;
  /** Seconds; LiveKit default 300. */
  emptyTimeoutS?: number;
  /** Seconds; LiveKit default 20. */
  departureTimeoutS?: number;
  maxParticipants?: number;
  metadata?: string;
  /** LiveKit's node_id: host the room on this node while it is alive. */
  pinnedNode?: string;
  /** Home region; default: this node's region. */
  region?: string;
}

export interface CallOptions {
  /** Time the caller allows, from now. @default config.defaultDeadlineMs */
  deadlineMs?: number;
}

export interface RoomStats {
  numParticipants: number;
  numPublishers: number;
  activeRecording?: boolean;
}

export interface OwnerInfo {
  name: string;
  homeRegion: string;
  owner: string | undefined;
  partners: string[];
  /** The room's sid if it exists. */
  sid: string | undefined;
}

export type NodeState = 'created' | 'running' | 'resyncing' | 'stopping' | 'stopped';

/** Why a node is or is not ready (RegistryCore.readiness). */
export type ReadinessReason =
  | 'serving'
  | 'starting'
  | 'joining'
  | 'resyncing'
  | 'isolated'
  | 'stopping';

export interface Readiness {
  ready: boolean;
  reason: ReadinessReason;
}

export interface RegistryCoreInit {
  options: NodeOptionsInput;
  transport: Transport;
  runtime: Runtime;
}

/** Large clusters: ring changes within this window are applied in one rebuild. */
const RING_REBUILD_COALESCE_MS = 100;

/** A local write not yet confirmed by minAcks partners, and its confirmation under way. */
interface UnackedWrite {
  inflight: Promise<void> | undefined;
}

/** Time a stopping node leaves its leave announcement to travel: a few flushes and hops. */
const LEAVE_GRACE_MS = 50;

/** Unacknowledged local writes remembered for re-confirmation on retry; oldest evicted. */
const UNACKED_MAX = 100_000;

export class RegistryCore {
  readonly config: NodeConfig;
  readonly events = new RegistryEventEmitter();
  private readonly guard: Guard;
  private readonly transport: Transport;
  private readonly runtime: Runtime;
  private readonly store: RoomStore;
  private readonly membership: Membership;
  private readonly replicator: Replicator;
  private readonly antiEntropy: AntiEntropy;
  private readonly writePath: WritePath;
  private readonly expiry = new ExpiryIndex();
  /** Names of visible rooms this node owns (hosts). */
  private readonly owned = new Set<string>();
  /** Peers with at least one open connection. */
  private readonly connected = new Set<PeerId>();
  private placementRebuildPending = false;
  /** Peers with a follow-up sync session scheduled (at most one each). */
  private readonly followUps = new Set<PeerId>();
  private placedMembersOf: Placement | undefined;
  private placedMembers = new Map<string, Readonly<RingMember>>();
  /** Peers with a ping under way (large clusters): at most one each. */
  private readonly pinging = new Set<PeerId>();
  /**
   * sid -> the latest unconfirmed local write of that incarnation. Each write gets its own
   * entry object: the confirmation of an earlier write (the create) must not clear the entry
   * of a later one (the delete 3 ms after it), or a retry of the later write would find
   * nothing to confirm and answer not_found.
   */
  private readonly unacked = new Map<string, UnackedWrite>();
  private placement: Placement;
  private state: NodeState = 'created';
  /** Wall ms since which this store holds the cluster's state without a gap (heartbeat's
   *  historySinceMs): its start, or a peer's older history once it pulled all of it. */
  private historySinceMs = 0;
  /** Set while resyncing after an isolation longer than tombstoneTtlMs. */
  private isolation: { cutOffAtMs: number; rejoinedAtMs: number; attempts: number } | undefined;
  /**
   * Sids of the records that peers sent while this node was cut off too long or resyncing:
   * a peer holds them, so the resync keeps them. At most one entry per incarnation held
   * (bounded by the store); emptied when the resync ends.
   */
  private readonly arrivedSinceCutOff = new Set<string>();
  private readonly counters = {
    /** Isolations longer than tombstoneTtlMs that ended (first contact again). */
    isolationsEnded: 0,
    /** ...after which no member's history covered the isolation: this node's state stood. */
    isolationsAuthoritative: 0,
    /** Incarnations forgotten because a witness of the isolation no longer held them. */
    recordsForgotten: 0,
    /** This node's deletes made while cut off, undone by the resync (never acknowledged). */
    deletesUndone: 0,
    /** Witness listings that failed and were retried. */
    resyncFailures: 0,
  };
  private timers: CancelTimer[] = [];
  private ownershipScan: Iterator<Readonly<RoomRecord>> | undefined;
  private readonly gossipCounters = {
    batchesReceived: 0,
    batchesRejected: 0,
    recordsMerged: 0,
    recordsRejected: 0,
    membershipRejected: 0,
    /** Member lists asked of a peer (a join). */
    memberListsFetched: 0,
    /** Unconfirmed writes forgotten past UNACKED_MAX: a retry of one returns at once. */
    unackedEvicted: 0,
    /** Live records by gossip for a sid not held here, created before the GC horizon. */
    staleUnknownRefused: 0,
  };

  constructor(init: RegistryCoreInit) {
    this.config = resolveConfig(init.options);
    // Every callback the node schedules runs inside the guard (guards.ts).
    this.guard = new Guard((caught) => this.events.emit('internal-error', caught));
    this.transport = this.guard.transport(init.transport);
    this.runtime = { ...init.runtime, timers: this.guard.timers(init.runtime.timers) };
    this.store = createRoomStore({
      nodeId: this.config.nodeId,
      clock: this.runtime.clock,
      random: this.runtime.random,
      bucketCount: this.config.bucketCount,
      tombstoneTtlMs: this.config.tombstoneTtlMs,
      maxClockOffsetMs: this.config.maxClockOffsetMs,
    });
    const stamp = (): number => this.store.hlc.now();
    this.membership = new Membership(
      this.config,
      this.transport.peerId,
      () => this.transport.listenAddresses(),
      {
        nowMs: () => this.runtime.clock.nowMs(),
        publish: (message) => this.publishMembership(message),
        dial: (address, timeoutMs) => this.transport.dial(address, { timeoutMs }),
        isConnected: (peer) => this.connected.has(peer),
        selfSummary: () => ({
          roomCount: this.store.counts().visible,
          ringChecksum: this.placement.checksum(),
          storeDigest: this.store.digest(),
          sentAt: stamp(),
          historySinceMs: this.historySinceMs,
        }),
        changed: (member, transition, reason) => this.memberChanged(member, transition, reason),
        random: () => this.runtime.random,
        rejoined: (cutOffAtMs) => this.rejoinedAfterIsolation(cutOffAtMs),
        pingNeighbours: () => this.pingNeighbours(),
        hangUp: (peer) => this.guard.task('prune', this.transport.hangUp(peer)),
      },
    );
    this.replicator = new Replicator(this.config, this.runtime.timers, {
      publish: (data) => this.transport.publish(ROOMS_TOPIC, data),
      stamp,
    });
    this.antiEntropy = new AntiEntropy(this.config, this.transport, {
      store: () => ({
        bucketCount: this.store.bucketCount,
        bucketDigests: () => this.store.bucketDigests(),
        digest: () => this.store.digest(),
        recordCount: () => this.store.counts().incarnations,
        recordsInBucket: (bucket) => this.store.recordsInBucket(bucket),
        recordHash,
      }),
      mergeRemote: (record) => {
        this.mergeRemote(record);
      },
      stamp,
      nowMs: () => this.runtime.clock.nowMs(),
      canServe: () => this.canServeSync(),
      canServeSummaries: () => this.canServeSummaries(),
      sessionCompleted: (peer, outcome) => {
        this.sessionCompleted(peer, outcome.complete);
        if (outcome.bucketsDeferred > 0) this.followUpSync(peer);
      },
    });
    this.writePath = new WritePath(this.config, this.transport, {
      nowMs: () => this.runtime.clock.nowMs(),
      stamp,
      partnersFor: (name, count) => this.partnersFor(name, count),
      isMember: (peer) => this.membership.nodeIdOfPeer(peer) !== undefined,
      mergeRemote: (record) => this.mergeRemote(record) && this.holdsAsSent(record),
    });
    this.placement = this.buildPlacement();
  }

  // ---------------------------------------------------------------- lifecycle of the node

  async start(): Promise<void> {
    if (this.state !== 'created') throw new NodeNotReadyError(this.state);
    this.transport.addListener({
      peerConnected: (peer) => this.peerConnected(peer),
      peerDisconnected: (peer) => this.peerDisconnected(peer),
    });
    this.transport.subscribe(ROOMS_TOPIC, (message) => this.onRoomsMessage(message));
    this.transport.subscribe(MEMBERSHIP_TOPIC, (message) => this.onMembershipMessage(message));
    this.antiEntropy.register();
    this.writePath.register();
    this.transport.handle(PING_PROTOCOL, (frame, from) => this.answerPing(frame, from));
    this.transport.handle(MEMBERS_PROTOCOL, (frame, from) => this.memberList(frame, from));
    await this.transport.start();
    for (const peer of this.transport.connectedPeers()) this.connected.add(peer);
    // An empty store: its history starts now (a peer's older one is adopted by a full pull).
    this.historySinceMs = this.runtime.clock.nowMs();
    this.state = 'running';
    this.every(this.config.heartbeatIntervalMs, () => this.membership.tick(), true);
    this.every(this.config.syncIntervalMs, () => this.syncRandomPeer());
    this.every(this.config.lifecycleIntervalMs, () => this.lifecycleTick());
  }

  /** Graceful stop: announce leave, flush pending gossip, close the transport. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running' || this.state === 'resyncing';
    this.state = 'stopping';
    for (const cancel of this.timers) cancel();
    this.timers = [];
    if (wasRunning) {
      this.replicator.flush();
      this.membership.leave();
      // Give the leave and the last batch a moment on the wire before connections close,
      // so peers move ownership at once instead of waiting for deadAfterMs.
      await new Promise<void>((resolve) => this.runtime.timers.setTimer(LEAVE_GRACE_MS, resolve));
    }
    this.replicator.stop();
    await this.transport.stop();
    this.state = 'stopped';
  }

  /** Runs `fn` every `intervalMs`; re-arms after each run so a slow run never overlaps. */
  private every(intervalMs: number, fn: () => void, now = false): void {
    const slot = this.timers.length;
    const arm = (delay: number): void => {
      this.timers[slot] = this.runtime.timers.setTimer(delay, () => {
        if (this.state !== 'running' && this.state !== 'resyncing') return;
        try {
          fn();
        } finally {
          arm(intervalMs);
        }
      });
    };
    this.timers.push(() => undefined);
    arm(now ? 0 : intervalMs);
  }

  get peerId(): PeerId {
    return this.transport.peerId;
  }

  nodeState(): NodeState {
    return this.state;
  }

  /**
   * Whether this node serves its API, for a load balancer (docs/operations.md, "Ready and
   * healthy"): it runs, takes writes (not resyncing, not cut off past tombstoneTtlMs), and,
   * given seeds, has joined a cluster since it started. The last live node of a cluster stays
   * ready: it answers from a warm state, as designed for a regional failover.
   */
  readiness(): Readiness {
    const reason: ReadinessReason =
      this.state === 'created'
        ? 'starting'
        : this.state === 'stopping' || this.state === 'stopped'
          ? 'stopping'
          : this.state === 'resyncing'
            ? 'resyncing'
            : this.isolatedTooLong()
              ? 'isolated'
              : this.config.seeds.length > 0 && this.membership.lastPeerContactMs === undefined
                ? 'joining'
                : 'serving';
    return { ready: reason === 'serving', reason };
  }

  private assertServing(): void {
    if (this.state !== 'running' && this.state !== 'resyncing') {
      throw new NodeNotReadyError(this.state);
    }
  }

  /**
   * Writes need a store that is not behind the GC horizon. A node cut off from every member
   * for longer than tombstoneTtlMs, or resyncing after that, may hold rooms the cluster
   * deleted and has since collected; any write to one (even a retry confirming an old
   * create) would spread it again, and a create could answer with it. Reads are still
   * answered, as during any partition (docs/protocol/sync.md).
   */
  private assertWritable(): void {
    this.assertServing();
    if (this.state === 'resyncing') {
      throw new NodeNotReadyError('resyncing', this.config.suspectAfterMs);
    }
    if (this.isolatedTooLong()) throw new NodeNotReadyError('cut off from every member');
  }

  private deadlineAt(options: CallOptions | undefined): number {
    const deadlineMs = options?.deadlineMs ?? this.config.defaultDeadlineMs;
    if (!(deadlineMs > 0)) throw new DeadlineExceededError();
    return this.runtime.clock.nowMs() + deadlineMs;
  }

  // ---------------------------------------------------------------- the embedded API

  /**
   * LiveKit get-or-create: an existing room is returned unchanged, from memory (P2). A new
   * room is created here (home region: this node's, unless the request names one) and
   * acknowledged once minAcks other nodes hold it (P4).
   */
  async createRoom(
    request: CreateRoomRequest,
    options?: CallOptions,
  ): Promise<Readonly<RoomRecord>> {
    this.assertWritable();
    const deadlineAt = this.deadlineAt(options);
    const existing = this.store.get(request.name);
    if (existing) {
      if (this.unacked.has(existing.sid)) {
        await this.confirm([existing, ...this.recentTombstones(request.name)], deadlineAt);
      }
      return existing;
    }
    this.writePath.assertCapacity();
    const { room, created } = this.translate(() =>
      this.store.getOrCreate({
        name: request.name,
        homeRegion: request.region ?? this.config.region,
        emptyTimeoutS: request.emptyTimeoutS,
        departureTimeoutS: request.departureTimeoutS,
        maxParticipants: request.maxParticipants,
        metadata: request.metadata,
        pinnedNode: request.pinnedNode,
      }),
    );
    // A re-create travels with the tombstones of the name's earlier incarnations, on every
    // path (gossip batch, durable write), so no node holds the new room without knowing the
    // old one is deleted: a node that missed the delete would otherwise show the old one
    // (the first writer) until the tombstone reached it.
    const tombstones = created ? this.recentTombstones(request.name) : [];
    if (created) this.localChange(room, undefined, true, tombstones);
    await this.confirm([room, ...tombstones], deadlineAt);
    return room;
  }

  getRoom(name: string): Readonly<RoomRecord> | undefined {
    return this.store.get(name);
  }

  /** Visible rooms: the named ones (unknown names skipped), or all, up to `limit`. */
  listRooms(names?: readonly string[], limit = Number.POSITIVE_INFINITY): Readonly<RoomRecord>[] {
    const out: Readonly<RoomRecord>[] = [];
    if (names && names.length > 0) {
      for (const name of names) {
        const room = this.store.get(name);
        if (room) out.push(room);
        if (out.length >= limit) break;
      }
      return out;
    }
    for (const room of this.store.visibleRooms()) {
      if (out.length >= limit) break;
      out.push(room);
    }
    return out;
  }

  async deleteRoom(name: string, options?: CallOptions): Promise<void> {
    this.assertWritable();
    const deadlineAt = this.deadlineAt(options);
    const visible = this.store.get(name);
    if (!visible) {
      // A retry of a delete that was applied but not confirmed: confirm it now.
      const tombstones = this.store.incarnations(name).filter((r) => r.deletedAt !== 0);
      const retried = tombstones.find((r) => this.unacked.has(r.sid));
      if (retried) {
        return this.confirm([retried, ...tombstones.filter((r) => r !== retried)], deadlineAt);
      }
      throw new RoomNotFoundError(name);
    }
    this.writePath.assertCapacity();
    const deleted = this.store.delete(name);
    if (deleted.length === 0) throw new RoomNotFoundError(name);
    for (const record of deleted.slice(1)) this.replicator.enqueue(record);
    this.localChange(deleted[0]!, visible.sid, true);
    await this.confirm(deleted, deadlineAt);
  }

  async updateRoomMetadata(
    name: string,
    metadata: string,
    options?: CallOptions,
  ): Promise<Readonly<RoomRecord>> {
    this.assertWritable();
    const deadlineAt = this.deadlineAt(options);
    if (!this.store.get(name)) throw new RoomNotFoundError(name);
    this.writePath.assertCapacity();
    const updated = this.translate(() => this.store.updateMetadata(name, metadata));
    if (!updated) throw new RoomNotFoundError(name);
    this.localChange(updated, updated.sid, true);
    await this.confirm([updated], deadlineAt);
    return updated;
  }

  /** Participant counts from the hosting media server; spread by gossip, not acknowledged
   *  (they are refreshed by the next report). Drives the room's expiry. */
  updateRoomStats(name: string, stats: RoomStats): Readonly<RoomRecord> {
    this.assertWritable();
    if (!this.store.get(name)) throw new RoomNotFoundError(name);
    const updated = this.translate(() =>
      this.store.updateStats(name, {
        numParticipants: stats.numParticipants,
        numPublishers: stats.numPublishers,
        activeRecording: stats.activeRecording ?? false,
      }),
    );
    if (!updated) throw new RoomNotFoundError(name);
    this.localChange(updated, updated.sid, false);
    return updated;
  }

  ownerOf(name: string): OwnerInfo {
    const room = this.store.get(name);
    const homeRegion = room?.homeRegion ?? this.config.region;
    return {
      name,
      homeRegion,
      owner: this.placement.owner(name, homeRegion, room?.pinnedNode || undefined),
      partners: this.placement.replicaPartners(
        name,
        this.config.nodeId,
        this.config.replicationFanout,
      ),
      sid: room?.sid,
    };
  }

  /** Visible rooms held here; O(1), unlike status(). */
  roomCount(): number {
    return this.store.counts().visible;
  }

  /** Names of the rooms this node hosts. */
  ownedRooms(): string[] {
    return [...this.owned];
  }

  /** Every member, this node first. */
  members(): MemberView[] {
    const self: MemberView = {
      nodeId: this.config.nodeId,
      peerId: this.transport.peerId,
      region: this.config.region,
      weight: this.config.weight,
      incarnation: this.membership.incarnation,
      state: 'alive',
      httpUrl: this.config.httpUrl,
      p2pAddrs: advertisedAddrs(this.transport.listenAddresses()),
      roomCount: this.store.counts().visible,
      ringChecksum: this.placement.checksum(),
      storeDigest: this.store.digest(),
      lastHeardMs: this.runtime.clock.nowMs(),
      stateSinceMs: 0,
      historySinceMs: this.historySinceMs,
    };
    return [self, ...this.membership.list()];
  }

  ring(): Placement {
    return this.placement;
  }

  status() {
    return {
      nodeId: this.config.nodeId,
      region: this.config.region,
      state: this.state,
      ringChecksum: this.placement.checksum(),
      storeDigest: this.store.digest(),
      ...this.storeCounts(),
      ownedRooms: this.owned.size,
      members: this.membership.list().length + 1,
      connectedPeers: this.connected.size,
      pendingWrites: this.writePath.pendingWrites(),
      pendingGossipRecords: this.replicator.pending(),
      historySinceMs: this.historySinceMs,
      expiryCandidates: this.expiry.size(),
      counters: {
        errors: { ...this.guard.counts },
        gossip: { ...this.gossipCounters },
        isolation: { ...this.counters },
        replication: { ...this.replicator.counters },
        sync: { ...this.antiEntropy.counters },
        writes: { ...this.writePath.counters },
        membership: { ...this.membership.counters },
        store: { ...this.store.rejections(), clockRejected: this.store.hlc.rejectedCount() },
      },
    };
  }

  private storeCounts() {
    const counts = this.store.counts();
    return {
      rooms: counts.visible,
      incarnations: counts.incarnations,
      tombstones: counts.tombstones,
    };
  }

  on<E extends RegistryEventName>(
    event: E,
    listener: (payload: RegistryEvents[E]) => void,
  ): () => void {
    return this.events.on(event, listener);
  }

  /** Runs one anti-entropy session with a peer now (operators, tests). */
  async syncWith(nodeId: string): Promise<void> {
    const member = this.membership.get(nodeId);
    if (!member) throw new InvalidArgumentError('nodeId', `unknown member ${nodeId}`);
    await this.antiEntropy.syncWith(member.peerId);
  }

  // ---------------------------------------------------------------- writes and events

  /** Store errors for bad input become InvalidArgumentError; nothing was changed. */
  private translate<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RoomStoreError)
        throw new InvalidArgumentError(error.code, error.message);
      throw error;
    }
  }

  /** Waits until minAcks partners hold the write (or it was confirmed already). The first
   *  record's sid keys the write; the others are tombstones of the same delete. */
  private async confirm(
    records: readonly Readonly<RoomRecord>[],
    deadlineAt: number,
  ): Promise<void> {
    const key = records[0]?.sid;
    const write = key === undefined ? undefined : this.unacked.get(key);
    if (key === undefined || write === undefined) return;
    if (!write.inflight) {
      const inflight = this.writePath.replicate(records, deadlineAt).then(
        () => {
          // Only this write is confirmed; a later write of the same sid keeps its entry.
          if (this.unacked.get(key) === write) this.unacked.delete(key);
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

  /** After a local write: gossip it, remember it needs confirming if `durable`, emit. */
  private localChange(
    record: Readonly<RoomRecord>,
    visibleBefore: string | undefined,
    durable: boolean,
    companions: readonly Readonly<RoomRecord>[] = [],
  ): void {
    if (companions.length > 0) this.replicator.enqueueTogether([...companions, record]);
    else this.replicator.enqueue(record);
    if (durable) this.markUnacked(record.sid);
    this.afterChange(record.name, visibleBefore, 'local');
  }

  /**
   * Tombstones of `name` that every peer still accepts: deleted after the GC horizon plus a
   * margin for the peers' clocks (a peer refuses tombstones older than its own horizon,
   * which would fail a durable write). At most incarnationsPerNameMax of them.
   */
  private recentTombstones(name: string): Readonly<RoomRecord>[] {
    const incarnations = this.store.incarnations(name);
    if (incarnations.length < 2) return [];
    const horizon = packHlc(
      this.runtime.clock.nowMs() - this.config.tombstoneTtlMs + 2 * this.config.maxClockOffsetMs,
      0,
    );
    return incarnations.filter((r) => r.deletedAt !== 0 && r.deletedAt > horizon);
  }

  private markUnacked(sid: string): void {
    if (this.config.minAcks === 0) return;
    this.unacked.delete(sid);
    this.unacked.set(sid, { inflight: undefined });
    if (this.unacked.size > UNACKED_MAX) {
      const oldest = this.unacked.keys().next().value;
      if (oldest !== undefined) {
        this.unacked.delete(oldest);
        this.gossipCounters.unackedEvicted++;
      }
    }
  }

  /**
   * For a durable write's ack: this node holds `record`'s incarnation in a state no less
   * final than the one sent. A live room it holds deleted (the delete reached it, not the
   * writer) is not acknowledged: the writer would answer a create with a room the cluster
   * deleted, and keep serving it live until its own sync (swarm seed 4411).
   */
  private holdsAsSent(record: RoomRecord): boolean {
    if (record.deletedAt !== 0) return true;
    const held = this.store.incarnations(record.name).find((r) => r.sid === record.sid);
    return held !== undefined && held.deletedAt === 0;
  }

  /**
   * A live record by gossip for a sid this node does not hold, created before the GC horizon
   * (`horizon`, now - tombstoneTtlMs): a tombstone that ended it was written after it, so it may have
   * been collected here, and the record would come back. Gossip carries changes, and a change
   * made at a node cut off for a long time can arrive late (gossipsub's IWANT answers from its
   * message cache seconds after a partition heals: swarm seed 3021). A node that merely lacks
   * the room (it restarted empty) gets it from anti-entropy, which takes records from a peer's
   * store as they stand there, within a session.
   */
  private staleUnknown(record: RoomRecord, horizon: number): boolean {
    if (record.deletedAt !== 0) return false;
    if (record.createdAt >= horizon) return false;
    return !this.store.incarnations(record.name).some((held) => held.sid === record.sid);
  }

  private expiryOf(room: Readonly<RoomRecord>): number | undefined {
    return expiryOf(
      room,
      this.config.unreportedRoomTtlMs,
      this.config.unreportedRoomsUseEmptyTimeout,
    );
  }

  /** Merges a record from another node; true when this node now holds it. */
  private mergeRemote(record: RoomRecord): boolean {
    const outcome = this.store.merge(record);
    if (outcome.kind === 'rejected') {
      this.gossipCounters.recordsRejected++;
      return false;
    }
    if (this.state === 'resyncing' || this.isolatedTooLong()) {
      this.arrivedSinceCutOff.add(record.sid);
    }
    if (outcome.kind !== 'unchanged') {
      this.gossipCounters.recordsMerged++;
      this.afterChange(record.name, outcome.visibleSidBefore, 'remote');
    }
    return true;
  }

  /**
   * Events, ownership and expiry bookkeeping after any change to `name`. This runs
   * for every merged record (tens of thousands per second during a fill), so each step is
   * skipped when the change cannot affect it.
   */
  private afterChange(name: string, before: string | undefined, origin: 'local' | 'remote'): void {
    const room = this.store.get(name);
    const after = room?.sid;
    const events = this.events;
    if (before === after) {
      // Same visible room (or still none): an update of a field group, or a change to a
      // non-visible incarnation (a loser of a concurrent create, or one behind a delete).
      if (room) {
        if (events.has('room-updated')) events.emit('room-updated', { room, origin });
        this.expiry.set(name, this.expiryOf(room));
      }
      return;
    }
    if (before === undefined && room) {
      if (events.has('room-created')) events.emit('room-created', { room, origin });
    } else if (before !== undefined && !room) {
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
    this.updateOwnership(name, room);
    this.expiry.set(name, room ? this.expiryOf(room) : undefined);
  }

  /** Connected replica partners for a room, best first: the ring's preference list with
   *  unreachable members skipped (asking for a few extra gives alternates). */
  private partnersFor(name: string, count: number): PeerId[] {
    const out: PeerId[] = [];
    for (const nodeId of this.placement.replicaPartners(name, this.config.nodeId, count + 4)) {
      const member = this.membership.get(nodeId);
      if (member && this.connected.has(member.peerId)) out.push(member.peerId);
      if (out.length === count) return out;
    }
    // Not enough of the preferred partners are connected (a large cluster connects to a few
    // members only; a partition): any other connected member holds a write as durably. Other
    // regions first, then a stable order per room.
    const others: MemberView[] = [];
    for (const peer of this.connected) {
      const nodeId = this.membership.nodeIdOfPeer(peer);
      const member = nodeId === undefined ? undefined : this.membership.get(nodeId);
      if (member && member.state === 'alive' && !out.includes(peer)) others.push(member);
    }
    others.sort(
      (a, b) =>
        Number(a.region === this.config.region) - Number(b.region === this.config.region) ||
        pairScore(name, a.nodeId) - pairScore(name, b.nodeId),
    );
    for (const member of others) {
      if (out.length === count) break;
      out.push(member.peerId);
    }
    return out;
  }

  private ownerOfRoom(room: Readonly<RoomRecord>): string | undefined {
    return this.placement.owner(room.name, room.homeRegion, room.pinnedNode || undefined);
  }

  private updateOwnership(name: string, room: Readonly<RoomRecord> | undefined): void {
    const owns = room !== undefined && this.ownerOfRoom(room) === this.config.nodeId;
    if (owns === this.owned.has(name)) return;
    if (owns) {
      this.owned.add(name);
      this.events.emit('ownership-gained', { name, sid: room!.sid });
    } else {
      this.owned.delete(name);
      const sid = room?.sid ?? '';
      this.events.emit('ownership-lost', { name, sid });
    }
  }

  // ---------------------------------------------------------------- gossip handlers

  private onRoomsMessage(message: GossipMessage): GossipVerdict {
    const sender = this.membership.nodeIdOfPeer(message.origin);
    const decoded = decodeMessage(message.data);
    if (!decoded.ok || decoded.message.type !== 'room-batch') {
      this.gossipCounters.batchesRejected++;
      return 'reject';
    }
    if (sender === undefined) {
      // Not (yet) a member: its heartbeat may still be on the way; anti-entropy repairs it.
      return 'ignore';
    }
    if (decoded.message.origin !== sender) {
      this.gossipCounters.batchesRejected++;
      return 'reject';
    }
    if (this.state !== 'running' && this.state !== 'resyncing') return 'ignore';
    this.gossipCounters.batchesReceived++;
    // The GC horizon (now - tombstoneTtlMs), once per batch.
    const horizon = packHlc(
      Math.max(0, this.runtime.clock.nowMs() - this.config.tombstoneTtlMs),
      0,
    );
    for (const record of decoded.message.records) {
      if (this.staleUnknown(record, horizon)) {
        this.gossipCounters.staleUnknownRefused++;
        continue;
      }
      this.mergeRemote(record);
    }
    return 'accept';
  }

  private onMembershipMessage(message: GossipMessage): GossipVerdict {
    return this.membershipMessage(message.data, message.origin);
  }

  /** A membership message from `origin` (gossip publisher, or a ping's sender). */
  private membershipMessage(data: Uint8Array, origin: PeerId): GossipVerdict {
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      this.gossipCounters.membershipRejected++;
      return 'reject';
    }
    const m = decoded.message;
    if (m.type !== 'heartbeat' && m.type !== 'leave' && m.type !== 'member-suspect') {
      this.gossipCounters.membershipRejected++;
      return 'reject';
    }
    if (!this.store.hlc.observe(m.sentAt)) {
      this.gossipCounters.membershipRejected++;
      return 'reject';
    }
    const verdict = this.membership.receive(m, origin);
    if (verdict === 'reject') this.gossipCounters.membershipRejected++;
    return verdict;
  }

  /**
   * Large clusters: a ping carries our heartbeat to a connected member and brings back its
   * own (the neighbours' failure detection, mesh.ts). At most one ping per peer at a time;
   * a lost answer is the silence the membership tick measures.
   */
  private pingNeighbours(): void {
    const heartbeat = encodeMessage(this.membership.selfHeartbeat());
    for (const peer of this.connected) {
      if (this.pinging.has(peer) || this.membership.nodeIdOfPeer(peer) === undefined) continue;
      this.pinging.add(peer);
      const exchange = (async () => {
        try {
          for await (const frame of this.transport.request(peer, PING_PROTOCOL, heartbeat, {
            timeoutMs: this.config.probeTimeoutMs,
            framesMax: 1,
          })) {
            this.membershipMessage(frame, peer);
          }
        } catch {
          // No answer: the silence counts (membership tick).
        } finally {
          this.pinging.delete(peer);
        }
      })();
      this.guard.task('ping', exchange);
    }
  }

  /** Every member this node knows on the rings, itself first, one member-entry per frame.
   *  The request is the asker's heartbeat, taken as a membership message from it. */
  private async *memberList(request: Uint8Array, from: PeerId): AsyncGenerator<Uint8Array> {
    const refused = this.takeHeartbeatRequest(request, from);
    if (refused) {
      yield refused;
      return;
    }
    const stamp = this.store.hlc.now();
    yield encodeMessage({
      type: 'member-entry',
      peerId: this.transport.peerId,
      heartbeat: this.membership.selfHeartbeat(),
    });
    for (const m of this.membership.ringMembers()) {
      yield encodeMessage({
        type: 'member-entry',
        peerId: m.peerId,
        heartbeat: {
          type: 'heartbeat',
          nodeId: m.nodeId,
          region: m.region,
          incarnation: m.incarnation,
          state: m.state,
          weight: m.weight,
          httpUrl: m.httpUrl,
          p2pAddrs: advertisedAddrs(m.p2pAddrs),
          roomCount: m.roomCount,
          ringChecksum: m.ringChecksum,
          storeDigest: m.storeDigest,
          sentAt: stamp,
          seq: 0,
          historySinceMs: m.historySinceMs,
        },
      });
    }
  }

  /** Learns the members `peer` knows (a node that just joined, or knows no one alive). */
  private async fetchMembers(peer: PeerId): Promise<void> {
    this.gossipCounters.memberListsFetched++;
    const request = encodeMessage(this.membership.selfHeartbeat());
    for await (const frame of this.transport.request(peer, MEMBERS_PROTOCOL, request, {
      timeoutMs: this.config.syncTimeoutMs,
      framesMax: this.config.membersMax + 1,
    })) {
      const decoded = decodeMessage(frame);
      if (!decoded.ok || decoded.message.type !== 'member-entry') {
        this.gossipCounters.membershipRejected++;
        return;
      }
      const { peerId, heartbeat } = decoded.message;
      if (!this.store.hlc.observe(heartbeat.sentAt)) continue;
      if (peerId === peer) this.membershipMessage(encodeMessage(heartbeat), peer);
      else this.membership.receiveRelayed(heartbeat, peerId);
    }
  }

  /** Answers a neighbour's ping with our heartbeat, after taking its own. */
  private async answerPing(frame: Uint8Array, from: PeerId): Promise<Uint8Array> {
    return this.takeHeartbeatRequest(frame, from) ?? encodeMessage(this.membership.selfHeartbeat());
  }

  /** A request whose frame is the asker's heartbeat (member list, ping): takes it as a
   *  membership message from `from`; the refusal to answer when it is not a heartbeat. */
  private takeHeartbeatRequest(frame: Uint8Array, from: PeerId): Uint8Array | undefined {
    const decoded = decodeMessage(frame);
    if (!decoded.ok || decoded.message.type !== 'heartbeat') {
      this.gossipCounters.membershipRejected++;
      return encodeMessage({
        type: 'rpc-error',
        requestId: 0,
        code: 'bad-request',
        message: 'expected a heartbeat',
      });
    }
    this.membershipMessage(frame, from);
    return undefined;
  }

  private publishMembership(message: HeartbeatMessage | LeaveMessage | MemberSuspectMessage): void {
    let data: Uint8Array;
    try {
      data = encodeMessage(message);
    } catch (error) {
      // Our own message broke a limit: a bug, reported; the membership tick goes on.
      this.guard.caught('task', `encode ${message.type}`, error);
      return;
    }
    this.transport.publish(MEMBERSHIP_TOPIC, data).catch(() => undefined);
  }

  // ---------------------------------------------------------------- membership changes

  private memberChanged(
    member: MemberView,
    transition: MemberTransition,
    reason: MemberChangeReason,
  ): void {
    if (transition === 'updated') {
      // Heartbeats refresh load figures every second; the rings only care about region and
      // weight, so skip the rebuild (hashing every ring point) when neither moved.
      const placed = this.placedMember(member.nodeId);
      if (placed && placed.region === member.region && placed.weight === member.weight) return;
    } else {
      if (transition === 'up') this.membership.ensureConnected(member);
      this.events.emit(`member-${transition}`, { member, reason });
    }
    // Past meshFullMax, members come and go by the hundred (a cluster forming, a region
    // failing): one rebuild per RING_REBUILD_COALESCE_MS instead of one per transition.
    if (isLargeCluster(this.membership.ringSize(), this.config.meshFullMax)) {
      if (this.placementRebuildPending) return;
      this.placementRebuildPending = true;
      this.runtime.timers.setTimer(RING_REBUILD_COALESCE_MS, () => {
        this.placementRebuildPending = false;
        this.rebuildPlacement();
      });
      return;
    }
    this.rebuildPlacement();
  }

  private rebuildPlacement(): void {
    if (this.state === 'stopped') return;
    const next = this.buildPlacement();
    if (next.checksum() !== this.placement.checksum()) {
      this.placement = next;
      this.startOwnershipScan();
    }
  }

  /** The placement's entry for a member: O(1), for every heartbeat (a thousand members'
   *  list scanned per heartbeat was the simulator's top cost at 1,000 nodes). */
  private placedMember(nodeId: string): Readonly<RingMember> | undefined {
    if (this.placedMembersOf !== this.placement) {
      this.placedMembersOf = this.placement;
      this.placedMembers = new Map(this.placement.members().map((m) => [m.nodeId, m]));
    }
    return this.placedMembers.get(nodeId);
  }

  private buildPlacement(): Placement {
    const members: RingMember[] = [
      {
        nodeId: this.config.nodeId,
        region: this.config.region,
        weight: this.config.weight,
        state: 'alive',
      },
    ];
    for (const m of this.membership.ringMembers()) {
      members.push({ nodeId: m.nodeId, region: m.region, weight: m.weight, state: m.state });
    }
    return createPlacement({
      members,
      pointsPerWeight: this.config.ringPointsPerWeight,
      // Regions whose members did not change reuse their ring instead of re-hashing it.
      ...(this.placement ? { previous: this.placement } : {}),
      ...(this.config.failoverOrder.length > 0 ? { failoverOrder: this.config.failoverOrder } : {}),
    });
  }

  /** Re-evaluates ownership of every room after the rings changed, scanBatchMax per tick. */
  private startOwnershipScan(): void {
    const restart = this.ownershipScan !== undefined;
    this.ownershipScan = this.store.visibleRooms()[Symbol.iterator]();
    // Rooms no longer visible are dropped from `owned` by afterChange; only rings moved here.
    if (!restart) this.runtime.timers.setTimer(0, () => this.ownershipScanStep());
  }

  private ownershipScanStep(): void {
    const scan = this.ownershipScan;
    if (!scan || this.state === 'stopped' || this.state === 'stopping') return;
    for (let i = 0; i < this.config.scanBatchMax; i++) {
      const step = scan.next();
      if (step.done) {
        this.ownershipScan = undefined;
        return;
      }
      this.updateOwnership(step.value.name, step.value);
    }
    this.runtime.timers.setTimer(0, () => this.ownershipScanStep());
  }

  private peerConnected(peer: PeerId): void {
    this.connected.add(peer);
    if (this.state !== 'running') return;
    // A node that knows no other live member (it just started, or everyone it knew died)
    // asks the first peer it reaches for its member list instead of waiting for heartbeats,
    // which a large cluster publishes only every few intervals.
    if (this.membership.ringSize() <= 1 && this.membership.nodeIdOfPeer(peer) === undefined) {
      this.guard.task(
        'member list',
        this.fetchMembers(peer).catch(() => undefined),
      );
    }
    // A (re)connected peer may hold what gossip lost meanwhile: pull from it now.
    this.antiEntropy.syncWith(peer).catch(() => undefined);
  }

  private peerDisconnected(peer: PeerId): void {
    this.connected.delete(peer);
    this.membership.peerDisconnected(peer);
  }

  // ---------------------------------------------------------------- periodic work

  private syncRandomPeer(): void {
    // Alive members only: a suspect one (stopped, cut off) would hold the session slot until
    // its deadline while nobody else is asked.
    const candidates = this.membership
      .ringMembers()
      .filter(
        (m) =>
          m.state === 'alive' &&
          this.connected.has(m.peerId) &&
          !this.antiEntropy.isSyncing(m.peerId),
      );
    if (candidates.length === 0) return;
    const pick = candidates[this.runtime.random.nextUint32() % candidates.length]!;
    this.antiEntropy.syncWith(pick.peerId).catch(() => undefined);
  }

  /**
   * GC-horizon rule (DESIGN.md section 4, docs/protocol/sync.md): a node that heard from no
   * other member for longer than tombstoneTtlMs may hold rooms the others deleted and have
   * since collected. It refuses to serve records while cut off. On its first contact it
   * enters `resyncing`, listens for one suspicion period (every live member's heartbeat,
   * with its history, arrives meanwhile), then decides:
   *
   * - no member's history reaches back before the cut-off (every other node restarted empty
   *   while it was alone): nobody can have deleted what it holds, so it is the authority and
   *   simply serves again: the others pull everything from it (a lone survivor);
   * - otherwise it lists the sids of the member with the oldest history (a witness of the
   *   whole isolation) and forgets each of its incarnations created well before the cut-off
   *   that the witness no longer holds (deleted and collected meanwhile), then serves again
   *   and pulls the rest by normal anti-entropy. Rooms created later are kept (only it can
   *   know them); so are old rooms the witness still holds, with what changed meanwhile.
   */
  private isolatedTooLong(): boolean {
    const last = this.membership.lastPeerContactMs;
    return last !== undefined && this.runtime.clock.nowMs() - last > this.config.tombstoneTtlMs;
  }

  private canServeSync(): boolean {
    return this.state === 'running' && !this.isolatedTooLong();
  }

  private canServeSummaries(): boolean {
    return (this.state === 'running' || this.state === 'resyncing') && !this.isolatedTooLong();
  }

  private rejoinedAfterIsolation(cutOffAtMs: number): void {
    if (this.state !== 'running') return;
    this.state = 'resyncing';
    this.isolation = { cutOffAtMs, rejoinedAtMs: this.runtime.clock.nowMs(), attempts: 0 };
    this.counters.isolationsEnded++;
    this.runtime.timers.setTimer(this.config.suspectAfterMs, () => this.reconcileAfterIsolation());
  }

  private reconcileAfterIsolation(): void {
    const isolation = this.isolation;
    if (this.state !== 'resyncing' || isolation === undefined) return;
    // Members whose history reaches back before the cut-off: in the rings, or declared dead
    // only since the rejoin (a new partition, not a death we knew of). While one is known,
    // this node is not the authority; it waits until one of them is reachable.
    const candidates = this.membership
      .list()
      .filter(
        (m) =>
          m.historySinceMs < isolation.cutOffAtMs &&
          (m.state === 'alive' ||
            m.state === 'suspect' ||
            (m.state === 'dead' && m.stateSinceMs >= isolation.rejoinedAtMs)),
      );
    if (candidates.length === 0) {
      this.counters.isolationsAuthoritative++;
      this.endResync(undefined);
      return;
    }
    const witnesses = candidates
      .filter((m) => m.state !== 'dead' && this.connected.has(m.peerId))
      .sort(
        (a, b) =>
          a.historySinceMs - b.historySinceMs ||
          (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0),
      );
    if (witnesses.length === 0) {
      this.counters.resyncFailures++;
      this.runtime.timers.setTimer(this.config.syncIntervalMs, () =>
        this.reconcileAfterIsolation(),
      );
      return;
    }
    const witness = witnesses[isolation.attempts % witnesses.length]!;
    isolation.attempts++;
    // Created after this, a record cannot lie behind a collected tombstone: one that ended
    // it was written after it, and is kept tombstoneTtlMs after its last write (clocks may
    // differ by maxClockOffsetMs).
    const keptAfter = packHlc(
      Math.max(
        0,
        this.runtime.clock.nowMs() - this.config.tombstoneTtlMs - this.config.maxClockOffsetMs,
      ),
      0,
    );
    const differing: Readonly<RoomRecord>[] = [];
    const ownDeletes: Readonly<RoomRecord>[] = [];
    const cutOffAt = packHlc(isolation.cutOffAtMs, 0);
    const resync = async (): Promise<void> => {
      await this.antiEntropy.listPeerSids(witness.peerId, (bucket, entries) =>
        this.forgetCollected(bucket, entries, keptAfter, differing, cutOffAt, ownDeletes),
      );
      // This node's deletes (and expiries) made while it was cut off were never
      // acknowledged, and spread now they would arrive late: a tombstone is collected
      // tombstoneTtlMs after it was written, and its delete horizon ends incarnations others
      // created meanwhile; reaching some nodes just before its TTL ran out, it was collected
      // before it reached all of them, and the room came back (swarm seed 7431). They are
      // undone, as an unacknowledged write may be: forgotten here, and the witness's version
      // taken instead, if it has one.
      for (const record of ownDeletes) {
        if (this.store.forget(record.name, record.sid)) {
          this.unacked.delete(record.sid);
          this.counters.deletesUndone++;
        }
      }
      if (ownDeletes.length > 0) {
        await this.antiEntropy.pullNow(
          witness.peerId,
          ownDeletes.map((r) => ({ bucket: this.store.bucketOf(r.name), sid: r.sid })),
        );
      }
      if (differing.length === 0) return;
      // A room held live here that the witness holds otherwise may be deleted there, its
      // tombstone about to be collected: take those records now, not at the next session.
      // A tombstone past the GC horizon is refused by every merge (accepted by some nodes
      // and not others, it would split the cluster), so the room it ends is forgotten here
      // instead, as is one the witness no longer has (collected since the listing).
      const received = await this.antiEntropy.pullNow(
        witness.peerId,
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
    };
    const done = resync().then(
      () => this.endResync(witness.peerId),
      () => {
        this.counters.resyncFailures++;
        if (this.state === 'resyncing') {
          this.runtime.timers.setTimer(this.config.syncIntervalMs, () =>
            this.reconcileAfterIsolation(),
          );
        }
      },
    );
    this.guard.task('resync after isolation', done);
  }

  /**
   * Forgets the incarnations of `bucket` the witness lacks: deleted while this node was away
   * and their tombstones since collected. Kept are those a peer sent since the cut-off (a
   * peer holds them) and those created after `keptAfter` (now - tombstoneTtlMs -
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
      this.unacked.delete(record.sid);
      this.counters.recordsForgotten++;
      if (before === forgotten.sid) {
        this.events.emit('room-deleted', { room: forgotten, origin: 'remote' });
        this.afterChange(record.name, undefined, 'remote');
      }
    }
  }

  private endResync(witness: PeerId | undefined): void {
    if (this.state !== 'resyncing') return;
    this.state = 'running';
    this.isolation = undefined;
    this.arrivedSinceCutOff.clear();
    if (witness !== undefined) this.antiEntropy.syncWith(witness).catch(() => undefined);
  }

  /**
   * A session left differing buckets for later (they may have been gossip in flight): ask
   * the same peer again once they have settled, instead of at the next periodic session up to
   * syncIntervalMs later. A healed partition then converges in about a second. At most one
   * follow-up pending per peer.
   */
  private followUpSync(peer: PeerId): void {
    if (this.followUps.has(peer) || this.state !== 'running') return;
    this.followUps.add(peer);
    this.runtime.timers.setTimer(differingSettleMs(this.config), () => {
      this.followUps.delete(peer);
      if (this.state !== 'running' || !this.connected.has(peer)) return;
      this.antiEntropy.syncWith(peer).catch(() => undefined);
    });
  }

  /** After a sync session: a node that pulled everything a peer held now holds the history
   *  the peer holds, so its own reaches back as far (see historySinceMs in the heartbeat). */
  private sessionCompleted(peer: PeerId, complete: boolean): void {
    if (!complete) return;
    const nodeId = this.membership.nodeIdOfPeer(peer);
    const member = nodeId === undefined ? undefined : this.membership.get(nodeId);
    if (member && member.historySinceMs < this.historySinceMs) {
      this.historySinceMs = member.historySinceMs;
    }
  }

  private lifecycleTick(): void {
    const now = this.runtime.clock.nowMs();
    // Tombstone collection in slices: every bucket once per gcIntervalMs, a share per tick,
    // so a 1M-room sweep (~0.2 s at once) never blocks the event loop.
    this.store.gc(
      Math.ceil(
        (this.store.bucketCount * this.config.lifecycleIntervalMs) / this.config.gcIntervalMs,
      ),
    );
    for (const name of this.expiry.takeDue(now, this.config.scanBatchMax)) {
      const room = this.store.get(name);
      if (!room || this.ownerOfRoom(room) !== this.config.nodeId) continue;
      const due = this.expiryOf(room);
      if (due === undefined) continue;
      if (due > now) {
        this.expiry.set(name, due);
        continue;
      }
      const deleted = this.store.delete(name);
      for (const record of deleted.slice(1)) this.replicator.enqueue(record);
      if (deleted[0]) this.localChange(deleted[0], room.sid, false);
    }
  }
}

export function createRegistryCore(init: RegistryCoreInit): RegistryCore {
  return new RegistryCore(init);
}
