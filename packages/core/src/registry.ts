/**
 * The registry node: a facade that wires the parts and answers the embedded API. It holds
 * no concern's state itself, only the node's lifecycle and its timers; talks to the world
 * only through the injected Transport and Runtime (DESIGN.md section 3). `@roomring/node`
 * runs it on libp2p and real time; `@roomring/sim` on a simulated network and virtual time.
 *
 * The parts (docs/architecture.md, "Parts of a node"), each owning its state:
 * - ClusterView (cluster-view.ts): members, connected peers, the rings; owner and partners;
 * - Replica (replica.ts): local changes out, gossip in, merged by the store;
 * - DurableWrites (durable-writes.ts): the write path and the unacknowledged writes;
 * - RoomOwnership (ownership.ts): owned rooms, events and supersede, expiry, the lifecycle;
 * - Isolation (isolation.ts): history, the GC-horizon rule and the resync;
 * - AntiEntropy (anti-entropy.ts): pull repair; RoomStore (@roomring/store): the records.
 */
import type { RoomRecord } from '@roomring/protocol';
import type { Placement } from '@roomring/ring';
import { createRoomStore, type RoomStore, RoomStoreError, recordHash } from '@roomring/store';
import { AntiEntropy } from './anti-entropy.js';
import { ClusterView } from './cluster-view.js';
import { type NodeConfig, type NodeOptionsInput, resolveConfig } from './config.js';
import { DurableWrites } from './durable-writes.js';
import {
  DeadlineExceededError,
  fromStoreError,
  InvalidArgumentError,
  NodeNotReadyError,
  RoomNotFoundError,
} from './errors.js';
import { RegistryEventEmitter, type RegistryEventName, type RegistryEvents } from './events.js';
import { Guard } from './guards.js';
import { Isolation } from './isolation.js';
import type { MemberView } from './membership.js';
import { RoomOwnership } from './ownership.js';
import { Replica } from './replica.js';
import type { CancelTimer, Runtime } from './runtime.js';
import type { PeerId, Transport } from './transport.js';

export { MEMBERS_PROTOCOL, MEMBERSHIP_TOPIC, PING_PROTOCOL } from './cluster-view.js';
export { ROOMS_TOPIC } from './replica.js';

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

/** Time a stopping node leaves its leave announcement to travel: a few flushes and hops. */
const LEAVE_GRACE_MS = 50;

export class RegistryCore {
  readonly config: NodeConfig;
  readonly events = new RegistryEventEmitter();
  private readonly guard: Guard;
  private readonly transport: Transport;
  private readonly runtime: Runtime;
  private readonly store: RoomStore;
  private readonly cluster: ClusterView;
  private readonly replica: Replica;
  private readonly antiEntropy: AntiEntropy;
  private readonly durable: DurableWrites;
  private readonly isolation: Isolation;
  private readonly ownership: RoomOwnership;
  /** The node's lifecycle; `resyncing` is `running` while the isolation part resyncs. */
  private state: Exclude<NodeState, 'resyncing'> = 'created';
  private timers: CancelTimer[] = [];

  constructor(init: RegistryCoreInit) {
    this.config = resolveConfig(init.options);
    // Every callback the node schedules runs inside the guard (guards.ts).
    this.guard = new Guard((caught) => this.events.emit('internal-error', caught));
    this.transport = this.guard.transport(init.transport);
    this.runtime = { ...init.runtime, timers: this.guard.timers(init.runtime.timers) };
    const config = this.config;
    const store = createRoomStore({
      nodeId: config.nodeId,
      clock: this.runtime.clock,
      random: this.runtime.random,
      bucketCount: config.bucketCount,
      tombstoneTtlMs: config.tombstoneTtlMs,
      maxClockOffsetMs: config.maxClockOffsetMs,
    });
    this.store = store;
    const stamp = (): number => store.hlc.now();
    const nowMs = (): number => this.runtime.clock.nowMs();
    this.cluster = new ClusterView(config, this.transport, this.runtime, this.guard, this.events, {
      hlc: store.hlc,
      selfSummary: () => ({
        roomCount: store.counts().visible,
        storeDigest: store.digest(),
        historySinceMs: this.isolation.historySinceMs,
      }),
      stopped: () => this.state === 'stopped',
      placementChanged: () => this.ownership.ringsChanged(),
      rejoined: (cutOffAtMs) => this.isolation.rejoined(cutOffAtMs),
    });
    this.replica = new Replica(config, store, this.runtime, this.transport, {
      nodeIdOfPeer: (peer) => this.cluster.membership.nodeIdOfPeer(peer),
      serving: () => this.state === 'running',
      arrived: (sid) => this.isolation.noteArrival(sid),
      markDurable: (sid) => this.durable.mark(sid),
      changed: (name, before, origin) => this.ownership.afterChange(name, before, origin),
    });
    this.antiEntropy = new AntiEntropy(config, this.transport, {
      store: () => ({
        bucketCount: store.bucketCount,
        bucketDigests: () => store.bucketDigests(),
        digest: () => store.digest(),
        recordCount: () => store.counts().incarnations,
        recordsInBucket: (bucket) => store.recordsInBucket(bucket),
        namesInBucket: (bucket) => store.namesInBucket(bucket),
        cellDigests: (bucket) => store.cellDigests(bucket),
        recordsInCell: (bucket, cell) => store.recordsInCell(bucket, cell),
        cellsChangedAfter: (bucket, afterMs) => store.cellsChangedAfter(bucket, afterMs),
        recordHash,
      }),
      mergeRemote: (record) => {
        this.replica.mergeRemote(record);
      },
      stamp,
      nowMs,
      canServe: () => this.isolation.canServeSync(),
      canServeSummaries: () => this.isolation.canServeSummaries(),
      sessionCompleted: (peer, outcome) => this.isolation.sessionCompleted(peer, outcome.complete),
      setTimer: (delayMs, callback) => {
        this.runtime.timers.setTimer(delayMs, callback);
      },
      syncing: () => this.nodeState() === 'running',
      isConnected: (peer) => this.cluster.isConnected(peer),
      peerHistoryIsOlder: (peer) => this.isolation.peerHistoryIsOlder(peer),
    });
    this.durable = new DurableWrites(config, this.transport, {
      nowMs,
      stamp,
      partnersFor: (name, count) => this.cluster.partnersFor(name, count),
      isMember: (peer) => this.cluster.membership.nodeIdOfPeer(peer) !== undefined,
      mergeRemote: (record) => this.replica.mergeRemote(record),
      incarnation: (name, sid) => store.incarnations(name).find((r) => r.sid === sid),
      reachesEveryPeer: (partners) => this.cluster.reachesEveryPeer(partners),
      withholdGossip: (records) => this.replica.replicator.withdraw(records),
      gossip: (records) => this.replica.replicator.enqueueTogether(records),
    });
    this.isolation = new Isolation(config, store, this.runtime, this.guard, {
      nodeState: () => this.nodeState(),
      members: () => this.cluster.membership.list(),
      lastPeerContactMs: () => this.cluster.membership.lastPeerContactMs,
      isConnected: (peer) => this.cluster.isConnected(peer),
      memberOfPeer: (peer) => this.cluster.memberOfPeer(peer),
      listPeerSids: (peer, visit) => this.antiEntropy.listPeerSids(peer, visit),
      pullNow: (peer, wanted) => this.antiEntropy.pullNow(peer, wanted),
      syncWith: (peer) => {
        this.antiEntropy.syncWith(peer).catch(() => undefined);
      },
      forgotWrite: (sid) => this.durable.forget(sid),
      forgotVisible: (room) => {
        // The forgotten incarnation is no longer in the store, so afterChange cannot find it
        // to announce it; its sid still tells afterChange that the visible room changed, so
        // the name stops being hosted here (or the next incarnation is, if one shows now).
        this.events.emit('room-deleted', { room, origin: 'remote' });
        this.ownership.afterChange(room.name, room.sid, 'remote');
      },
    });
    this.ownership = new RoomOwnership(config, store, this.runtime, this.events, {
      ownsRoom: (room) => this.cluster.ownsRoom(room),
      stopping: () => this.state === 'stopping' || this.state === 'stopped',
      expire: (room) => this.replica.localDelete(store.delete(room.name), room.sid, false),
    });
  }

  // ---------------------------------------------------------------- lifecycle of the node

  async start(): Promise<void> {
    if (this.state !== 'created') throw new NodeNotReadyError(this.state);
    this.transport.addListener({
      peerConnected: (peer) => this.peerConnected(peer),
      peerDisconnected: (peer) => this.cluster.peerDisconnected(peer),
    });
    this.replica.register();
    this.cluster.register();
    this.antiEntropy.register();
    this.durable.register();
    await this.transport.start();
    this.cluster.adoptConnected(this.transport.connectedPeers());
    // An empty store: its history starts now (a peer's older one is adopted by a full pull).
    this.isolation.historySinceMs = this.runtime.clock.nowMs();
    this.state = 'running';
    this.every(this.config.heartbeatIntervalMs, () => this.cluster.membership.tick(), true);
    this.every(this.config.syncIntervalMs, () => this.syncRandomPeer());
    this.every(this.config.lifecycleIntervalMs, () => this.ownership.tick());
  }

  /** Graceful stop: announce leave, flush pending gossip, close the transport. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'stopping') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    for (const cancel of this.timers) cancel();
    this.timers = [];
    this.ownership.stop();
    if (wasRunning) {
      this.replica.replicator.flush();
      this.cluster.membership.leave();
      // Give the leave and the last batch a moment on the wire before connections close,
      // so peers move ownership at once instead of waiting for deadAfterMs.
      await new Promise<void>((resolve) => this.runtime.timers.setTimer(LEAVE_GRACE_MS, resolve));
    }
    this.replica.replicator.stop();
    await this.transport.stop();
    this.state = 'stopped';
  }

  /** Runs `fn` every `intervalMs`; re-arms after each run so a slow run never overlaps. */
  private every(intervalMs: number, fn: () => void, now = false): void {
    const slot = this.timers.length;
    const arm = (delay: number): void => {
      this.timers[slot] = this.runtime.timers.setTimer(delay, () => {
        if (this.state !== 'running') return;
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
    return this.state === 'running' && this.isolation.resyncing ? 'resyncing' : this.state;
  }

  /**
   * Whether this node serves its API, for a load balancer (docs/operations.md, "Ready and
   * healthy"): it runs, takes writes (not resyncing, not cut off past isolationAfterMs), and,
   * given seeds, has joined a cluster since it started. The last live node of a cluster stays
   * ready: it answers from a warm state, as designed for a regional failover.
   */
  readiness(): Readiness {
    const state = this.nodeState();
    const reason: ReadinessReason =
      state === 'created'
        ? 'starting'
        : state === 'stopping' || state === 'stopped'
          ? 'stopping'
          : state === 'resyncing'
            ? 'resyncing'
            : this.isolation.isolatedTooLong()
              ? 'isolated'
              : this.config.seeds.length > 0 &&
                  this.cluster.membership.lastPeerContactMs === undefined
                ? 'joining'
                : 'serving';
    return { ready: reason === 'serving', reason };
  }

  private assertServing(): void {
    if (this.state !== 'running') throw new NodeNotReadyError(this.state);
  }

  /**
   * Writes need a store that is not behind the GC horizon. A node cut off from every member
   * for longer than isolationAfterMs, or resyncing after that, may hold rooms the cluster
   * deleted and has since collected; any write to one (even a retry confirming an old
   * create) would spread it again, and a create could answer with it. Reads are still
   * answered, as during any partition (docs/protocol/sync.md).
   */
  private assertWritable(): void {
    this.assertServing();
    if (this.isolation.resyncing) {
      throw new NodeNotReadyError('resyncing', this.config.suspectAfterMs);
    }
    if (this.isolation.isolatedTooLong()) throw new NodeNotReadyError('cut off from every member');
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
    // At capacity an existing room is still returned, and only a create is shed: the name is
    // looked up first. Otherwise getOrCreate's own lookup is the only one.
    if (this.durable.atCapacity()) {
      const existing = this.store.get(request.name);
      if (existing) return this.existingRoom(existing, deadlineAt);
      this.durable.assertCapacity();
    }
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
    if (!created) return this.existingRoom(room, deadlineAt);
    const tombstones = this.replica.recentTombstones(request.name);
    this.replica.localChange(room, undefined, true, tombstones);
    await this.durable.confirm([room, ...tombstones], deadlineAt);
    return room;
  }

  /** CreateRoom of a name that holds a visible room: that room, once minAcks others hold it
   *  (a create of it may still wait for its partners; DurableWrites.mustConfirmExisting). */
  private async existingRoom(
    existing: Readonly<RoomRecord>,
    deadlineAt: number,
  ): Promise<Readonly<RoomRecord>> {
    if (this.durable.mustConfirmExisting(existing.sid)) {
      await this.durable.confirmExisting(
        [existing, ...this.replica.recentTombstones(existing.name)],
        deadlineAt,
      );
    }
    return existing;
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
      const retried = tombstones.find((r) => this.durable.isUnacked(r.sid));
      if (retried) {
        return this.durable.confirm(
          [retried, ...tombstones.filter((r) => r !== retried)],
          deadlineAt,
        );
      }
      throw new RoomNotFoundError(name);
    }
    this.durable.assertCapacity();
    const deleted = this.store.delete(name);
    if (deleted.length === 0) throw new RoomNotFoundError(name);
    this.replica.localDelete(deleted, visible.sid, true);
    await this.durable.confirm(deleted, deadlineAt);
  }

  async updateRoomMetadata(
    name: string,
    metadata: string,
    options?: CallOptions,
  ): Promise<Readonly<RoomRecord>> {
    this.assertWritable();
    const deadlineAt = this.deadlineAt(options);
    if (!this.store.get(name)) throw new RoomNotFoundError(name);
    this.durable.assertCapacity();
    const updated = this.translate(() => this.store.updateMetadata(name, metadata));
    if (!updated) throw new RoomNotFoundError(name);
    this.replica.localChange(updated, updated.sid, true);
    await this.durable.confirm([updated], deadlineAt);
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
    this.replica.localChange(updated, updated.sid, false);
    return updated;
  }

  ownerOf(name: string): OwnerInfo {
    const room = this.store.get(name);
    const homeRegion = room?.homeRegion ?? this.config.region;
    const placement = this.cluster.ring();
    return {
      name,
      homeRegion,
      owner: placement.owner(name, homeRegion, room?.pinnedNode || undefined),
      partners: placement.replicaPartners(name, this.config.nodeId, this.config.replicationFanout),
      sid: room?.sid,
    };
  }

  /** Visible rooms held here; O(1), unlike status(). */
  roomCount(): number {
    return this.store.counts().visible;
  }

  /** Names of the rooms this node hosts. */
  ownedRooms(): string[] {
    return this.ownership.ownedRooms();
  }

  /** Every member, this node first. */
  members(): MemberView[] {
    return this.cluster.members({
      roomCount: this.store.counts().visible,
      storeDigest: this.store.digest(),
      historySinceMs: this.isolation.historySinceMs,
    });
  }

  ring(): Placement {
    return this.cluster.ring();
  }

  status() {
    const counts = this.store.counts();
    return {
      nodeId: this.config.nodeId,
      region: this.config.region,
      state: this.nodeState(),
      ringChecksum: this.cluster.ring().checksum(),
      storeDigest: this.store.digest(),
      rooms: counts.visible,
      incarnations: counts.incarnations,
      tombstones: counts.tombstones,
      ownedRooms: this.ownership.ownedCount(),
      members: this.cluster.membership.list().length + 1,
      connectedPeers: this.cluster.connectedCount(),
      /** Failure detector's local health, 0 (healthy) to 8 (docs/protocol/membership.md). */
      localHealth: this.cluster.membership.localHealth(),
      pendingWrites: this.durable.pendingWrites(),
      pendingGossipRecords: this.replica.replicator.pending(),
      historySinceMs: this.isolation.historySinceMs,
      expiryCandidates: this.ownership.expiryCandidates(),
      counters: {
        errors: { ...this.guard.counts },
        gossip: {
          ...this.replica.counters,
          ...this.cluster.counters,
          unackedEvicted: this.durable.unackedEvicted,
        },
        isolation: { ...this.isolation.counters },
        replication: { ...this.replica.replicator.counters },
        sync: { ...this.antiEntropy.counters },
        writes: { ...this.durable.counters },
        membership: { ...this.cluster.membership.counters },
        store: { ...this.store.rejections(), clockRejected: this.store.hlc.rejectedCount() },
      },
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
    const member = this.cluster.membership.get(nodeId);
    if (!member) throw new InvalidArgumentError('nodeId', `unknown member ${nodeId}`);
    await this.antiEntropy.syncWith(member.peerId);
  }

  /** A store error becomes the node's error of its row in the error table (bad input:
   *  invalid_argument naming the argument; a limit: resource_exhausted); nothing changed. */
  private translate<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof RoomStoreError) throw fromStoreError(error);
      throw error;
    }
  }

  // ---------------------------------------------------------------- connections and sync

  private peerConnected(peer: PeerId): void {
    const running = this.nodeState() === 'running';
    this.cluster.peerConnected(peer, running);
    // A (re)connected peer may hold what gossip lost meanwhile: pull from it now.
    if (running) this.antiEntropy.syncWith(peer).catch(() => undefined);
  }

  private syncRandomPeer(): void {
    // Alive members only: a suspect one (stopped, cut off) would hold the session slot until
    // its deadline while nobody else is asked.
    const candidates = this.cluster
      .connectedAliveMembers()
      .filter((m) => !this.antiEntropy.isSyncing(m.peerId));
    if (candidates.length === 0) return;
    const pick = candidates[this.runtime.random.nextUint32() % candidates.length]!;
    this.antiEntropy.syncWith(pick.peerId).catch(() => undefined);
  }
}

export function createRegistryCore(init: RegistryCoreInit): RegistryCore {
  return new RegistryCore(init);
}
