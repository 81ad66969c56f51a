/**
 * Membership and failure detection (DESIGN.md section 6, docs/protocol/membership.md).
 *
 * Each node publishes a heartbeat every heartbeatIntervalMs on the membership topic and
 * judges every other member by its own clock: silent for suspectAfterMs -> suspect (stays in
 * the rings), silent for deadAfterMs -> dead (leaves the rings, its rooms move). A dropped
 * connection makes a member suspect at once and triggers a probe dial; a refused probe
 * (killed process) declares it dead without waiting. A `leave` announcement removes a member
 * at once. Incarnation numbers order a member's own statements: a node that learns it was
 * suspected or declared dead publishes a higher incarnation (SWIM refutation).
 *
 * The detector tolerates pauses, as Lifeguard does for memberlist (docs/protocol/membership.md,
 * "Failure detector"): time our own tick ran late (a GC pause, a busy core, SIGSTOP) is time
 * we could not listen, so it is not counted as anyone's silence; late ticks and refutations
 * of ourselves raise a local health score that stretches every threshold; a probe that times
 * out keeps a member suspect (only a refused one proves it gone); and a death on silence
 * waits longer the fewer other members confirm the suspicion.
 */
import {
  type HeartbeatMessage,
  hlcWallMs,
  INCARNATION_MAX,
  type LeaveMessage,
  type MemberSuspectMessage,
  P2P_ADDR_BYTES_MAX,
  P2P_ADDRS_MAX,
  utf8ByteLength,
} from '@roomring/protocol';
import type { MemberState } from '@roomring/ring';
import { Backoff } from './backoff.js';
import { isolationAfterMs, type NodeConfig } from './config.js';
import { dialOrder, isOwnAddress } from './dial-addresses.js';
import { heartbeatPublishIntervalMs, isLargeCluster, meshNeighbours } from './mesh.js';
import {
  CONFIRMATIONS_MAX,
  LocalHealth,
  lateTickThresholdMs,
  SUSPICION_STRETCH_MAX,
  suspicionPeriodMs,
} from './suspicion.js';
import { isDialTimeout, type PeerId } from './transport.js';

export interface MemberView {
  nodeId: string;
  peerId: PeerId;
  region: string;
  weight: number;
  incarnation: number;
  state: MemberState;
  httpUrl: string;
  p2pAddrs: readonly string[];
  roomCount: number;
  ringChecksum: string;
  storeDigest: string;
  /** Wall-clock ms of the last heartbeat heard (own clock). */
  lastHeardMs: number;
  /** Wall-clock ms of the last state change. */
  stateSinceMs: number;
  /** Since when its store holds the cluster's state without a gap (its heartbeat's
   *  historySinceMs, the sender's clock). */
  historySinceMs: number;
}

export type MemberTransition = 'up' | 'suspect' | 'dead' | 'left' | 'updated';

/** Why a member changed state (logged by the server, carried by the member-* events). */
export type MemberChangeReason =
  | 'heartbeat'
  | 'relayed'
  | 'silent'
  | 'connection-lost'
  | 'probe-failed'
  | 'probe-succeeded'
  | 'suspicion-adopted'
  | 'suspicion-unrefuted'
  | 'leave';

export interface MembershipHost {
  nowMs(): number;
  /** Publishes on the membership topic (fire and forget; losses are tolerated). */
  publish(message: HeartbeatMessage | LeaveMessage | MemberSuspectMessage): void;
  /** Dials an address; resolves with the peer or rejects. */
  dial(address: string, timeoutMs: number): Promise<PeerId>;
  isConnected(peer: PeerId): boolean;
  /** Large clusters: sends our heartbeat to every connected member and takes their answers
   *  as heartbeats (failure detection between neighbours). */
  pingNeighbours(): void;
  /** Closes the connection to `peer` (pruning a large cluster's mesh). */
  hangUp(peer: PeerId): void;
  /** Fields of our own heartbeat that other parts own. */
  selfSummary(): {
    roomCount: number;
    ringChecksum: string;
    storeDigest: string;
    sentAt: number;
    historySinceMs: number;
  };
  /** Called after every state change of a member (never for self). */
  changed(member: MemberView, transition: MemberTransition, reason: MemberChangeReason): void;
  random(): { nextUint32(): number };
  /** First contact after hearing from no member for longer than isolationAfterMs. */
  rejoined(cutOffAtMs: number): void;
}

export interface MembershipCounters {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  staleIgnored: number;
  impostorsRejected: number;
  membersMaxDropped: number;
  refutations: number;
  /** Suspicions of members taken over from another node's notice (large clusters). */
  suspicionsAdopted: number;
  /** Connections closed to members that are not mesh neighbours (large clusters). */
  connectionsPruned: number;
  /** Members learnt from another member's list (a join) before hearing from them. */
  membersRelayed: number;
  /** member-suspect notices refused: unknown or impersonated reporter, unknown subject, or
   *  an incarnation of ours we never published. */
  noticesRejected: number;
  /** Probes of a member whose connection dropped that failed, refused or timed out. */
  probesFailed: number;
  /** Of probesFailed, those that ran into probeTimeoutMs: the member stayed suspect. */
  probesTimedOut: number;
  /** Ticks that came more than suspectAfterMs after the previous one (this node was stopped
   *  or starved that long): each raised our incarnation, as others may have declared us dead. */
  freezesDetected: number;
  /** Ticks that ran more than heartbeatIntervalMs x LATE_TICK_FRACTION late (each raised
   *  local health by one). */
  lateTicks: number;
  /** Sum of every tick's lateness, in ms: time not counted as anyone's silence. */
  tickLateMs: number;
  /** Other members' suspect or dead notices taken as a confirmation of a suspicion. */
  suspicionsConfirmed: number;
  dialsFailed: number;
}

interface MemberEntry extends MemberView {
  /** Last time we told this member it is considered dead (rate limit). */
  lastDeathNoticeMs: number;
  /** Of the time since we last heard it, how much our own ticks ran late (we could not
   *  listen): subtracted from its silence. */
  deafMs: number;
  /** Who confirmed a suspicion of it since we last heard it: other members' notices, and our
   *  own node id for a probe that timed out. At most CONFIRMATIONS_MAX entries. */
  confirmedBy: string[];
}

const RING_STATES: ReadonlySet<MemberState> = new Set(['alive', 'suspect']);

/**
 * How far past the receiver's wall clock (plus maxClockOffsetMs) a restarted member's new
 * incarnation may be: it starts at its start time in ms and gains one per refutation or
 * detected pause, so a million of those. A claim beyond is forged or corrupt.
 */
export const INCARNATION_AHEAD_MAX = 1_000_000;

/**
 * The addresses a heartbeat carries: the transport's, in its order of preference, without
 * any longer than P2P_ADDR_BYTES_MAX, at most P2P_ADDRS_MAX. A host with many interfaces
 * listening on 0.0.0.0 can have more; sending them all would make every heartbeat fail to
 * encode, and the node fall silent.
 */
export function advertisedAddrs(addrs: readonly string[]): string[] {
  const out: string[] = [];
  for (const addr of addrs) {
    if (out.length === P2P_ADDRS_MAX) break;
    if (addr.length > 0 && utf8ByteLength(addr) <= P2P_ADDR_BYTES_MAX) out.push(addr);
  }
  return out;
}

export class Membership {
  private readonly members = new Map<string, MemberEntry>();
  private readonly byPeer = new Map<PeerId, string>();
  private readonly seedBackoff = new Map<string, Backoff>();
  private readonly memberBackoff = new Map<string, Backoff>();
  private readonly seedPeers = new Map<string, PeerId>();
  /** Seeds that are this node (one seed list for every node may name it): never dialled. */
  private readonly selfSeeds = new Set<string>();
  /** nodeId -> the advertised address that last reached it, tried first next time. */
  private readonly workingAddress = new Map<string, string>();
  private heartbeatSeq = 0;
  /** ringSize(), while no member's state changed. */
  private ringCount: number | undefined;
  /** Wall ms of our last gossip heartbeat (large clusters publish less often than they tick). */
  private lastPublishMs = Number.NEGATIVE_INFINITY;
  /** Large clusters: the members this node dials (mesh.ts); undefined = everyone. */
  private targets: Set<string> | undefined;
  /** nodeId -> wall ms at which we adopted another node's suspicion of it (large clusters). */
  private readonly adoptedSuspicions = new Map<string, number>();
  /** Peers whose connection we closed ourselves (pruning): their disconnect is not news. At
   *  most one entry per ring member. */
  private readonly pruned = new Set<PeerId>();
  private lastTickMs: number;
  /** When the next tick is due: heartbeatIntervalMs after the last one started (the registry
   *  re-arms its timer after each run); undefined before the first. */
  private nextTickDueMs: number | undefined;
  /** Wall ms at which tick() last found our own timers had run late (lateTicks). */
  private lastLateTickMs = Number.NEGATIVE_INFINITY;
  /** Lifeguard's local health multiplier (suspicion.ts). */
  private readonly health = new LocalHealth();
  private leaving = false;
  /** Wall ms of the last heartbeat from any other live member; undefined if never. */
  lastPeerContactMs: number | undefined;
  incarnation: number;
  readonly counters: MembershipCounters = {
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
    staleIgnored: 0,
    impostorsRejected: 0,
    membersMaxDropped: 0,
    refutations: 0,
    suspicionsAdopted: 0,
    connectionsPruned: 0,
    membersRelayed: 0,
    noticesRejected: 0,
    probesFailed: 0,
    probesTimedOut: 0,
    freezesDetected: 0,
    lateTicks: 0,
    tickLateMs: 0,
    suspicionsConfirmed: 0,
    dialsFailed: 0,
  };

  constructor(
    private readonly config: NodeConfig,
    private readonly selfPeerId: PeerId,
    private readonly selfAddrs: () => string[],
    private readonly host: MembershipHost,
  ) {
    // Milliseconds since the epoch: a restarted node starts above every incarnation it
    // published before (refutations add 1 each, far fewer than a millisecond's worth), so
    // its first heartbeat is never mistaken for a stale one.
    this.incarnation = Math.floor(host.nowMs());
    this.lastTickMs = host.nowMs();
  }

  /**
   * Large clusters: closes connections to members that are not mesh neighbours (left from
   * when the cluster was small, or a member dialled on its way in), once this node has its own
   * neighbours connected. Both ends compute the same relation, so a closed link is not dialled
   * again.
   */
  private pruneConnections(): void {
    const targets = this.targets;
    if (targets === undefined) return;
    let connectedNeighbours = 0;
    for (const id of targets) {
      const m = this.members.get(id);
      if (m && this.host.isConnected(m.peerId)) connectedNeighbours++;
    }
    if (connectedNeighbours < Math.min(2, targets.size)) return;
    for (const m of this.members.values()) {
      if (!RING_STATES.has(m.state) || targets.has(m.nodeId)) continue;
      if (!this.host.isConnected(m.peerId)) continue;
      this.counters.connectionsPruned++;
      this.pruned.add(m.peerId);
      this.host.hangUp(m.peerId);
    }
  }

  /** Seeds bootstrap and re-join: a large cluster's node connected to a live member does not
   *  hold a link to its seeds too (each would be pruned and redialled, again and again). */
  private needsSeeds(): boolean {
    if (this.targets === undefined) return true;
    for (const m of this.members.values()) {
      if (RING_STATES.has(m.state) && this.host.isConnected(m.peerId)) return false;
    }
    return true;
  }

  /** Whether the connection to `peer` was closed by pruning (not a failure to react to). */
  wasPruned(peer: PeerId): boolean {
    return this.pruned.delete(peer);
  }

  /** Members on the rings, self included: what the large-cluster policy counts. Cached: a
   *  notice or heartbeat asks for it, and each reaches every node (O(N) each at 1,000 nodes
   *  was the simulator's top cost); every state change clears it. */
  ringSize(): number {
    if (this.ringCount === undefined) {
      let count = 1;
      for (const m of this.members.values()) if (RING_STATES.has(m.state)) count++;
      this.ringCount = count;
    }
    return this.ringCount;
  }

  /** Whether this node should hold a connection to `m`: everyone in a small cluster, its
   *  mesh targets in a large one (others may still dial it). A dead member is redialled in
   *  both (with back-off), or a healed partition or a restarted node that has no seeds of
   *  its own would never be found again; once back, pruning keeps only neighbours.
   *  A node that has just learned its cluster is large (a member list of hundreds) waits for
   *  its next tick to compute its targets: dialling everyone first and pruning after cost
   *  N^2 connections, each with a sync session, while 1,000 nodes formed. */
  wantsConnection(m: MemberView): boolean {
    if (m.state === 'dead') return true;
    if (this.targets === undefined) {
      return !isLargeCluster(this.ringSize(), this.config.meshFullMax);
    }
    return this.targets.has(m.nodeId);
  }

  /** Every other member, any state. */
  list(): MemberView[] {
    return [...this.members.values()].map(
      ({ lastDeathNoticeMs: _, deafMs: _d, confirmedBy: _c, ...view }) => view,
    );
  }

  /** Local health score, 0 (healthy) to LOCAL_HEALTH_MAX (suspicion.ts): every silence
   *  threshold is multiplied by 1 + this. */
  localHealth(): number {
    return this.health.score;
  }

  get(nodeId: string): MemberView | undefined {
    return this.members.get(nodeId);
  }

  nodeIdOfPeer(peer: PeerId): string | undefined {
    return this.byPeer.get(peer);
  }

  /** Members that count for placement (alive or suspect), self excluded. */
  ringMembers(): MemberView[] {
    return [...this.members.values()].filter((m) => RING_STATES.has(m.state));
  }

  selfHeartbeat(state: 'alive' | 'left' = 'alive'): HeartbeatMessage {
    const summary = this.host.selfSummary();
    return {
      type: 'heartbeat',
      nodeId: this.config.nodeId,
      region: this.config.region,
      incarnation: this.incarnation,
      state,
      weight: this.config.weight,
      httpUrl: this.config.httpUrl,
      p2pAddrs: advertisedAddrs(this.selfAddrs()),
      roomCount: summary.roomCount,
      ringChecksum: summary.ringChecksum,
      storeDigest: summary.storeDigest,
      sentAt: summary.sentAt,
      seq: this.heartbeatSeq++,
      historySinceMs: summary.historySinceMs,
    };
  }

  /** Periodic work: publish our heartbeat, age the others, re-dial. Runs every
   *  heartbeatIntervalMs (registry.ts re-arms the timer after each run). */
  tick(): void {
    const now = this.host.nowMs();
    try {
      this.tickAt(now);
    } finally {
      // Due an interval after this tick started, not after it ended, so a pause that lands
      // while it runs (a SIGSTOP or GC while it publishes) is the next tick's lateness too.
      // Measured from the end, such a pause went unseen, and every drop read on waking
      // raised a suspicion (docs/protocol/membership.md, "Lateness"). A tick's own few ms
      // count as lateness as well: no socket is read while it runs.
      this.nextTickDueMs = now + this.config.heartbeatIntervalMs;
    }
  }

  private tickAt(now: number): void {
    const gap = now - this.lastTickMs;
    const lateMs = this.nextTickDueMs === undefined ? 0 : Math.max(0, now - this.nextTickDueMs);
    this.lastTickMs = now;
    if (this.leaving) return;
    this.observeLateness(now, gap, lateMs);
    // Large clusters (mesh.ts): a gossip heartbeat only every publishInterval, pings to the
    // neighbours every tick, and silence thresholds stretched for members we are not
    // connected to (we hear them only at their publish interval).
    const memberCount = this.ringSize();
    const large = isLargeCluster(memberCount, this.config.meshFullMax);
    const publishEveryMs = heartbeatPublishIntervalMs(this.config, memberCount);
    if (!large || now - this.lastPublishMs >= publishEveryMs) {
      this.host.publish(this.selfHeartbeat());
      this.lastPublishMs = now;
      this.counters.heartbeatsSent++;
    }
    this.targets = large
      ? meshNeighbours(
          this.config.nodeId,
          [...this.members.values()].filter((m) => RING_STATES.has(m.state)).map((m) => m.nodeId),
          this.config.meshDegree,
        )
      : undefined;
    if (large) {
      this.pruneConnections();
      this.host.pingNeighbours();
    }
    // Every threshold stretched by local health (1 + score); the suspicion period shrinks
    // from SUSPICION_STRETCH_MAX x its base to its base as other members confirm it
    // (suspicion.ts). Who could confirm: in a small cluster every other live member hears
    // every heartbeat; in a large one the subject's other mesh neighbours watch it.
    const health = this.health.multiplier();
    const suspectAfterMs = this.config.suspectAfterMs * health;
    const suspicionMinMs = (this.config.deadAfterMs - this.config.suspectAfterMs) * health;
    const suspicionMaxMs = suspicionMinMs * SUSPICION_STRETCH_MAX;
    let aliveOthers = 0;
    for (const m of this.members.values()) if (m.state === 'alive') aliveOthers++;
    const expected = Math.min(
      CONFIRMATIONS_MAX,
      large ? Math.min(aliveOthers, this.config.meshDegree - 1) : aliveOthers,
    );
    for (const m of [...this.members.values()]) {
      // Silence we could have heard: time our own tick ran late does not count (deafMs).
      const silentMs = now - m.lastHeardMs - m.deafMs;
      // In a large cluster a member we are not connected to is heard only through gossip
      // relayed over the mesh, which may reach us late (gossipsub's lazy repair around a
      // split mesh takes up to a gossip heartbeat): our silence of it is weaker evidence
      // than its neighbours', so we neither announce a suspicion of it nor its death (others
      // would count or adopt them), and declare it dead on our own only after the longest
      // suspicion period, unless its neighbours' notices confirm it (swarm seed 20716).
      const watched = !large || this.host.isConnected(m.peerId);
      const suspectAtMs = watched ? suspectAfterMs : 3 * publishEveryMs + suspectAfterMs;
      const adoptedAt = this.adoptedSuspicions.get(m.nodeId);
      if (m.state === 'alive' && silentMs >= suspectAtMs) {
        this.transition(m, 'suspect', now, 'silent', watched);
      } else if (m.state === 'suspect') {
        const periodMs = suspicionPeriodMs(
          suspicionMinMs,
          suspicionMaxMs,
          m.confirmedBy.length,
          expected,
        );
        if (silentMs >= suspectAtMs + periodMs) {
          this.transition(m, 'dead', now, 'silent', watched);
        } else if (
          adoptedAt !== undefined &&
          now - adoptedAt - m.deafMs >= suspicionMinMs &&
          m.lastHeardMs <= adoptedAt
        ) {
          // Suspected by a neighbour of its (large cluster) and not heard from (no
          // refutation) for the whole suspicion period: the notice was the confirmation.
          this.transition(m, 'dead', now, 'suspicion-unrefuted', false);
        }
      } else if (
        (m.state === 'dead' || m.state === 'left') &&
        now - m.stateSinceMs > this.config.deadMemberRetentionMs
      ) {
        this.forget(m);
      }
    }
    this.redial(now);
  }

  /**
   * Our own tick came `lateMs` after it was due (`gap` after the previous one). Node runs
   * due timers before it reads the sockets: after a pause, this tick judges silence before
   * the heartbeats that queued meanwhile are read. So the lateness is time we could not
   * listen: it is added to every ring member's `deafMs` (as far as it falls after we last
   * heard the member) and not counted as its silence, whatever its size. A tick later than
   * LATE_TICK_FRACTION of an interval raises local health; an on-time one lowers it. One
   * later than suspectAfterMs is a freeze: others may have declared us dead meanwhile, so
   * our incarnation goes up (our next heartbeat refutes at once).
   */
  private observeLateness(now: number, gap: number, lateMs: number): void {
    if (lateMs > 0) {
      this.counters.tickLateMs += lateMs;
      for (const m of this.members.values()) {
        if (RING_STATES.has(m.state)) {
          m.deafMs += Math.min(lateMs, Math.max(0, now - m.lastHeardMs - m.deafMs));
        }
      }
    }
    if (lateMs > lateTickThresholdMs(this.config.heartbeatIntervalMs)) {
      this.counters.lateTicks++;
      this.lastLateTickMs = now;
      this.health.raise();
    } else {
      this.health.lower();
    }
    if (gap > this.config.suspectAfterMs) {
      this.counters.freezesDetected++;
      this.raiseIncarnation();
    }
  }

  /** Handles a membership-topic message from `origin` (the signed publisher). */
  receive(
    message: HeartbeatMessage | LeaveMessage | MemberSuspectMessage,
    origin: PeerId,
  ): 'accept' | 'ignore' | 'reject' {
    switch (message.type) {
      case 'heartbeat':
        return this.onHeartbeat(message, origin);
      case 'leave':
        return this.onLeave(message, origin);
      case 'member-suspect':
        return this.onSuspect(message, origin);
    }
  }

  private onHeartbeat(hb: HeartbeatMessage, origin: PeerId): 'accept' | 'ignore' | 'reject' {
    const now = this.host.nowMs();
    if (hb.nodeId === this.config.nodeId) {
      if (origin !== this.selfPeerId) this.counters.impostorsRejected++;
      return origin === this.selfPeerId ? 'ignore' : 'reject';
    }
    this.counters.heartbeatsReceived++;
    let m = this.members.get(hb.nodeId);
    if (!m) {
      if (this.members.size >= this.config.membersMax) {
        this.counters.membersMaxDropped++;
        return 'ignore';
      }
      const boundPeer = this.byPeer.get(origin);
      if (boundPeer !== undefined) {
        // One peer identity speaks for one node id.
        this.counters.impostorsRejected++;
        return 'reject';
      }
      if (hb.incarnation > now + this.config.maxClockOffsetMs + INCARNATION_AHEAD_MAX) {
        // Incarnations start at the start time in ms: a member we do not know yet cannot be
        // this far ahead. Taken, a forged one would bind that node id to the wrong peer for
        // good (the real member's heartbeats never reach past it: swarm seed 1783).
        this.counters.impostorsRejected++;
        return 'reject';
      }
      // A member we never knew that says it left: nothing to record (and nothing to bind).
      if (hb.state === 'left') return 'ignore';
      m = this.addMember(hb, origin, now);
      this.heardFromPeer(now, hb.sentAt);
      this.host.changed(m, 'up', 'heartbeat');
      return 'accept';
    }
    if (m.peerId !== origin) {
      // A restarted node may come back with a new identity, but only with a newer
      // incarnation, a plausible one (it starts at the start time in ms), and from a peer
      // that speaks for no other member: otherwise any member could take over another's
      // identity with one heartbeat (and announce it left, for good).
      const bound = this.byPeer.get(origin);
      if (
        hb.incarnation <= m.incarnation ||
        (bound !== undefined && bound !== hb.nodeId) ||
        hb.incarnation > now + this.config.maxClockOffsetMs + INCARNATION_AHEAD_MAX
      ) {
        this.counters.impostorsRejected++;
        return 'reject';
      }
      this.byPeer.delete(m.peerId);
      this.byPeer.set(origin, m.nodeId);
      m.peerId = origin;
    }
    if (hb.incarnation < m.incarnation) {
      this.counters.staleIgnored++;
      return 'ignore';
    }
    if ((m.state === 'dead' || m.state === 'left') && hb.incarnation === m.incarnation) {
      // It does not know it was declared dead (SIGSTOP, partition): tell it, so it refutes.
      if (m.state === 'dead' && now - m.lastDeathNoticeMs >= this.config.heartbeatIntervalMs) {
        m.lastDeathNoticeMs = now;
        this.host.publish({
          type: 'member-suspect',
          reporter: this.config.nodeId,
          subject: m.nodeId,
          subjectIncarnation: m.incarnation,
          state: 'dead',
          sentAt: this.host.selfSummary().sentAt,
        });
      }
      this.counters.staleIgnored++;
      return 'ignore';
    }
    m.incarnation = hb.incarnation;
    m.region = hb.region;
    m.weight = hb.weight;
    m.httpUrl = hb.httpUrl;
    m.p2pAddrs = hb.p2pAddrs;
    m.roomCount = hb.roomCount;
    m.ringChecksum = hb.ringChecksum;
    m.storeDigest = hb.storeDigest;
    m.historySinceMs = hb.historySinceMs;
    m.lastHeardMs = now;
    // Heard: its silence starts over, and suspicions reported before are out of date.
    m.deafMs = 0;
    m.confirmedBy.length = 0;
    this.heardFromPeer(now, hb.sentAt);
    const next: MemberState = hb.state === 'left' ? 'left' : 'alive';
    if (next !== m.state) this.transition(m, next, now, 'heartbeat');
    else this.host.changed(m, 'updated', 'heartbeat');
    return 'accept';
  }

  /**
   * A member another member told us about (its member list, when we join): taken only when we
   * do not know that node id yet and the peer id speaks for no other member. We have not
   * heard from it ourselves, so it counts for neither isolation nor refutation; its own
   * heartbeats or pings take over from there.
   */
  receiveRelayed(hb: HeartbeatMessage, peer: PeerId): void {
    if (hb.nodeId === this.config.nodeId || peer === this.selfPeerId) return;
    if (this.members.has(hb.nodeId) || this.byPeer.has(peer) || hb.state === 'left') return;
    if (hb.state === 'dead') return;
    if (this.members.size >= this.config.membersMax) {
      this.counters.membersMaxDropped++;
      return;
    }
    const m = this.addMember(hb, peer, this.host.nowMs());
    this.counters.membersRelayed++;
    this.host.changed(m, 'up', 'relayed');
  }

  /** A new member from its heartbeat, bound to the peer that speaks for it. */
  private addMember(hb: HeartbeatMessage, peer: PeerId, now: number): MemberEntry {
    const m: MemberEntry = {
      nodeId: hb.nodeId,
      peerId: peer,
      region: hb.region,
      weight: hb.weight,
      incarnation: hb.incarnation,
      state: hb.state === 'left' ? 'left' : 'alive',
      httpUrl: hb.httpUrl,
      p2pAddrs: hb.p2pAddrs,
      roomCount: hb.roomCount,
      ringChecksum: hb.ringChecksum,
      storeDigest: hb.storeDigest,
      lastHeardMs: now,
      stateSinceMs: now,
      historySinceMs: hb.historySinceMs,
      lastDeathNoticeMs: 0,
      deafMs: 0,
      confirmedBy: [],
    };
    this.members.set(hb.nodeId, m);
    this.ringCount = undefined;
    this.byPeer.set(peer, hb.nodeId);
    return m;
  }

  /**
   * A heartbeat stamped `sentAt` (the sender's clock) arrived: the peer reached us when it
   * sent it, not necessarily now. A process stopped for a while reads what queued meanwhile;
   * taken as contact now, a heartbeat sent before a long cut would hide the cut (swarm seed
   * 1986: the node then served, writes included, a room deleted and collected meanwhile).
   */
  private heardFromPeer(now: number, sentAt: number): void {
    const contact = Math.min(now, hlcWallMs(sentAt));
    const previous = this.lastPeerContactMs;
    if (previous !== undefined && contact <= previous) return;
    this.lastPeerContactMs = contact;
    if (previous !== undefined && contact - previous > isolationAfterMs(this.config)) {
      this.host.rejoined(previous);
    }
  }

  private onLeave(leave: LeaveMessage, origin: PeerId): 'accept' | 'ignore' | 'reject' {
    const m = this.members.get(leave.nodeId);
    if (!m) return 'ignore';
    if (m.peerId !== origin) {
      this.counters.impostorsRejected++;
      return 'reject';
    }
    if (leave.incarnation < m.incarnation || m.state === 'left') return 'ignore';
    m.incarnation = leave.incarnation;
    this.transition(m, 'left', this.host.nowMs(), 'leave');
    return 'accept';
  }

  /**
   * A notice is taken only from a known member speaking for itself (its reporter is the
   * node id bound to the publishing peer) about a known member or us. About us, it must name
   * an incarnation we published: a higher one was never heard from us (forged or corrupt),
   * and refuting "past" it would let one message push our incarnation to INCARNATION_MAX and
   * make every later heartbeat unencodable. A refutation raises our own incarnation by one.
   */
  private onSuspect(notice: MemberSuspectMessage, origin: PeerId): 'accept' | 'ignore' | 'reject' {
    if (this.byPeer.get(origin) !== notice.reporter || notice.reporter === notice.subject) {
      this.counters.noticesRejected++;
      return 'reject';
    }
    if (notice.subject !== this.config.nodeId) {
      const m = this.members.get(notice.subject);
      if (m === undefined) {
        this.counters.noticesRejected++;
        return 'reject';
      }
      // A live member that has not heard the subject for suspectAfterMs (its own judgement)
      // confirms our suspicion, or one we may raise soon: it counts until we hear the
      // subject again (docs/protocol/membership.md, "Confirmation").
      const reporter = this.members.get(notice.reporter);
      if (
        reporter?.state === 'alive' &&
        RING_STATES.has(m.state) &&
        notice.subjectIncarnation >= m.incarnation
      ) {
        this.confirm(m, notice.reporter);
      }
      // In a large cluster only a member's neighbours watch it: everyone adopts their
      // suspicion (without announcing it again) and declares it dead only if it stays silent
      // for the whole suspicion period; the subject refutes as soon as the notice reaches it.
      // Only a notice of the incarnation we know: the subject refuses (and cannot refute) one
      // of an incarnation ahead of its own, so adopting that one would make a single forged
      // or confused notice a death (swarm seed 24449: a member's notice at
      // MAX_SAFE_INTEGER); a neighbour that heard a newer incarnation than we did is ahead of
      // us, and its notice of the one we know, or our own silence, follows.
      if (
        isLargeCluster(this.ringSize(), this.config.meshFullMax) &&
        m.state === 'alive' &&
        notice.subjectIncarnation === m.incarnation &&
        !this.host.isConnected(m.peerId)
      ) {
        const now = this.host.nowMs();
        this.adoptedSuspicions.set(m.nodeId, now);
        this.counters.suspicionsAdopted++;
        this.transition(m, 'suspect', now, 'suspicion-adopted', false);
      }
      return 'accept';
    }
    if (notice.subjectIncarnation > this.incarnation) {
      this.counters.noticesRejected++;
      return 'reject';
    }
    if (notice.subjectIncarnation < this.incarnation || this.leaving) return 'ignore';
    // Someone thinks we are suspect or dead at our current incarnation: refute at once. We
    // were slow to be heard, a sign of our own trouble as much as theirs (Lifeguard): our
    // local health score goes up one step.
    this.health.raise();
    this.raiseIncarnation();
    this.counters.refutations++;
    this.host.publish(this.selfHeartbeat());
    return 'accept';
  }

  /** Records `reporter` (another member, or this node for a probe that timed out) as
   *  confirming a suspicion of `m`; at most CONFIRMATIONS_MAX reporters are kept. */
  private confirm(m: MemberEntry, reporter: string): void {
    if (m.confirmedBy.length >= CONFIRMATIONS_MAX || m.confirmedBy.includes(reporter)) return;
    m.confirmedBy.push(reporter);
    if (reporter !== this.config.nodeId) this.counters.suspicionsConfirmed++;
  }

  /** One step up, never past INCARNATION_MAX (a start-time incarnation is ~2^41, so the
   *  bound is ~2^52 refutations away: the clamp only guards against arithmetic surprises). */
  private raiseIncarnation(): void {
    if (this.incarnation < INCARNATION_MAX) this.incarnation++;
  }

  /** The transport lost its last connection to `peer`. */
  peerDisconnected(peer: PeerId): void {
    if (this.wasPruned(peer)) return;
    const nodeId = this.byPeer.get(peer);
    const m = nodeId === undefined ? undefined : this.members.get(nodeId);
    if (!m || !RING_STATES.has(m.state) || this.leaving) return;
    // In a large cluster only a mesh neighbour's link matters; another's was closed by its
    // pruning (both ends agree it is not a neighbour), and its neighbours watch it.
    if (!this.wantsConnection(m)) return;
    const now = this.host.nowMs();
    if (this.recoveringFromPause(now)) {
      // While we were stopped or starved, peers pinged us in vain and closed their
      // connections: the drops we see on waking are news about us, not about them
      // (Lifeguard's local health). No suspicion; the probe still reconnects, and a refused
      // one (nothing listens there: it really died meanwhile) is proof whatever our state.
      this.probe(m, now, false);
      return;
    }
    // In a large cluster a drop is often the other end pruning a link its view no longer
    // wants (views differ while a cluster forms): announced, every such drop cost a notice
    // to every member and a refutation back, N^2 of each while 1,000 nodes formed. There the
    // suspicion stays local until the probe fails; the death is announced as usual.
    const large = isLargeCluster(this.ringSize(), this.config.meshFullMax);
    if (m.state === 'alive') this.transition(m, 'suspect', now, 'connection-lost', !large);
    this.probe(m, now, large);
  }

  /** Our own timers ran late just now: tick() found a late tick less than suspectAfterMs
   *  ago, or the next tick is overdue by more than the late-tick threshold (the drops are
   *  read before the overdue tick runs). */
  private recoveringFromPause(now: number): boolean {
    return (
      now - this.lastLateTickMs < this.config.suspectAfterMs ||
      (this.nextTickDueMs !== undefined &&
        now - this.nextTickDueMs > lateTickThresholdMs(this.config.heartbeatIntervalMs))
    );
  }

  /**
   * Dials a member whose connection dropped. Refused at the address that reached it last
   * (or at every address): nothing listens there, the process is gone (a killed process
   * refuses at once), so it is declared dead. Timed out: a stopped, paused or overloaded
   * process takes the TCP connection but does not finish the handshake, so this proves
   * nothing; the member stays suspect, the timeout counts as one confirmation, and silence
   * decides (docs/protocol/membership.md, "Probes"). `liftOnSuccess` (large clusters, where
   * the drop's suspicion stayed local): reaching the member itself is direct evidence that
   * it is up, so the suspicion this drop raised is lifted. Otherwise it would last until the
   * member's next gossip heartbeat, which a large cluster publishes only every
   * heartbeatIntervalMs x ceil(members / meshFullMax) (32 s at 1,000 members): while a
   * cluster forms, links close by the hundred as views settle, and 700- and 1,000-node
   * simulations never had every node see every other alive at once.
   */
  private probe(m: MemberEntry, startedMs: number, liftOnSuccess: boolean): void {
    if (m.p2pAddrs.length === 0) return;
    this.dialMember(m, this.config.probeTimeoutMs).then(
      () => {
        // Only the suspicion this drop raised: not one from silence or a neighbour's notice,
        // and not if anything moved the member's state since.
        if (
          liftOnSuccess &&
          m.state === 'suspect' &&
          m.stateSinceMs === startedMs &&
          !this.adoptedSuspicions.has(m.nodeId) &&
          this.members.get(m.nodeId) === m
        ) {
          this.transition(m, 'alive', this.host.nowMs(), 'probe-succeeded');
        }
      },
      (error: unknown) => {
        this.counters.probesFailed++;
        const timedOut = isDialTimeout(error);
        if (timedOut) this.counters.probesTimedOut++;
        // Only if nothing was heard from it since the connection dropped.
        if (
          this.members.get(m.nodeId) !== m ||
          !RING_STATES.has(m.state) ||
          m.lastHeardMs > startedMs ||
          this.host.isConnected(m.peerId)
        ) {
          return;
        }
        if (!timedOut) this.transition(m, 'dead', this.host.nowMs(), 'probe-failed');
        else if (m.state === 'suspect') this.confirm(m, this.config.nodeId);
      },
    );
  }

  /** `announce`: tell everyone (a member-suspect notice); false for a suspicion adopted from
   *  someone else's notice, which is already on its way to everyone. */
  private transition(
    m: MemberEntry,
    state: MemberState,
    now: number,
    reason: MemberChangeReason,
    announce = true,
  ): void {
    if (m.state === state) return;
    const wasInRing = RING_STATES.has(m.state);
    m.state = state;
    this.ringCount = undefined;
    m.stateSinceMs = now;
    if (state !== 'suspect') this.adoptedSuspicions.delete(m.nodeId);
    if (state === 'alive') m.confirmedBy.length = 0;
    if (announce && (state === 'dead' || state === 'suspect')) {
      this.host.publish({
        type: 'member-suspect',
        reporter: this.config.nodeId,
        subject: m.nodeId,
        subjectIncarnation: m.incarnation,
        state,
        sentAt: this.host.selfSummary().sentAt,
      });
    }
    const transition: MemberTransition =
      state === 'alive' ? 'up' : state === 'suspect' ? (wasInRing ? 'suspect' : 'up') : state;
    this.host.changed(m, transition, reason);
  }

  private forget(m: MemberEntry): void {
    this.members.delete(m.nodeId);
    this.ringCount = undefined;
    if (this.byPeer.get(m.peerId) === m.nodeId) this.byPeer.delete(m.peerId);
    this.memberBackoff.delete(m.nodeId);
    this.workingAddress.delete(m.nodeId);
  }

  /** Re-dials seeds and members we have no connection to, each with its own back-off.
   *  Members are dialled at their advertised addresses, so the mesh comes from membership:
   *  seeds only bootstrap and re-join, and a formed cluster outlives all of them. */
  private redial(now: number): void {
    for (const seed of this.config.seeds) {
      if (!this.needsSeeds()) break;
      if (this.selfSeeds.has(seed)) continue;
      const peer = this.seedPeers.get(seed);
      if (peer !== undefined && this.host.isConnected(peer)) continue;
      if (isOwnAddress(seed, this.selfAddrs())) {
        this.selfSeeds.add(seed);
        continue;
      }
      const backoff = this.backoffFor(this.seedBackoff, seed);
      if (!backoff.ready(now)) continue;
      this.attemptDial(
        () => this.host.dial(seed, this.config.probeTimeoutMs),
        1,
        backoff,
        now,
        (p) => {
          // The transport answers with our own id for an address that leads back to us (a
          // host name, a NAT address): recognised once, never dialled again.
          if (p === this.selfPeerId) this.selfSeeds.add(seed);
          else this.seedPeers.set(seed, p);
        },
      );
    }
    for (const m of this.members.values()) {
      if (m.state === 'left' || this.host.isConnected(m.peerId) || !this.wantsConnection(m)) {
        continue;
      }
      if (m.p2pAddrs.length === 0) continue;
      const backoff = this.backoffFor(this.memberBackoff, m.nodeId);
      if (!backoff.ready(now)) continue;
      this.attemptDial(
        () => this.dialMember(m, this.config.probeTimeoutMs),
        m.p2pAddrs.length,
        backoff,
        now,
      );
    }
  }

  /**
   * Tries `m`'s advertised addresses one after the other, each within `timeoutMs`, the one
   * that worked last first; resolves at the first that reaches `m` itself. An address that
   * leads elsewhere (another host's loopback, an interface only its own network reaches)
   * counts as a failure and the next is tried. Rejects when none does.
   */
  private async dialMember(m: MemberView, timeoutMs: number): Promise<PeerId> {
    let failure: unknown = new Error(`${m.nodeId} advertises no address`);
    // The rejection reports a timeout (isDialTimeout) when the address that reached the
    // member last timed out, or, with none known, any address did: a paused member may
    // still be listening there. A refusal there beats a timeout elsewhere (an address only
    // its own network reaches).
    const last = this.workingAddress.get(m.nodeId);
    const known = last !== undefined && m.p2pAddrs.includes(last) ? last : undefined;
    let atKnown: unknown;
    let timeout: unknown;
    for (const address of dialOrder(m.p2pAddrs, known)) {
      try {
        const peer = await this.host.dial(address, timeoutMs);
        if (peer === m.peerId) {
          this.workingAddress.set(m.nodeId, address);
          return peer;
        }
        failure = new Error(`${address} reached ${peer}, not ${m.nodeId}`);
      } catch (error) {
        failure = error;
      }
      if (address === known) atKnown = failure;
      else if (known === undefined && timeout === undefined && isDialTimeout(failure)) {
        timeout = failure;
      }
    }
    throw atKnown ?? timeout ?? failure;
  }

  private backoffFor(table: Map<string, Backoff>, key: string): Backoff {
    let backoff = table.get(key);
    if (!backoff) {
      backoff = new Backoff(this.config.redialBaseMs, this.config.redialMaxMs);
      table.set(key, backoff);
    }
    return backoff;
  }

  /** Runs `dial` (which tries `addresses` addresses, each within probeTimeoutMs) under
   *  `backoff`: held while it runs, reset when it succeeds, pushed back when it fails. */
  private attemptDial(
    dial: () => Promise<PeerId>,
    addresses: number,
    backoff: Backoff,
    now: number,
    onPeer?: (peer: PeerId) => void,
  ): void {
    backoff.hold(now, this.config.probeTimeoutMs * (addresses + 1));
    dial().then(
      (peer) => {
        backoff.succeeded();
        onPeer?.(peer);
      },
      () => {
        this.counters.dialsFailed++;
        backoff.failed(this.host.nowMs(), this.host.random());
      },
    );
  }

  /** Announces a graceful leave; peers move our rooms at once. */
  leave(): void {
    this.leaving = true;
    this.host.publish(this.selfHeartbeat('left'));
    this.host.publish({
      type: 'leave',
      nodeId: this.config.nodeId,
      incarnation: this.incarnation,
      sentAt: this.host.selfSummary().sentAt,
    });
  }

  /**
   * Dials a member that just came up (new, or back from dead) so request/response protocols
   * can reach it and gossip does not depend on whoever relayed its heartbeat. Hearing it is
   * news that a path may be back (a healed partition), so a back-off grown while it was
   * unreachable is reset instead of waited out (up to redialMaxMs); an attempt under way
   * is left to finish.
   */
  ensureConnected(m: MemberView): void {
    if (this.host.isConnected(m.peerId) || m.state === 'left' || m.p2pAddrs.length === 0) return;
    if (!this.wantsConnection(m)) return;
    const now = this.host.nowMs();
    const backoff = this.backoffFor(this.memberBackoff, m.nodeId);
    if (backoff.attemptUnderWay(now)) return;
    this.attemptDial(
      () => this.dialMember(m, this.config.probeTimeoutMs),
      m.p2pAddrs.length,
      backoff,
      now,
    );
  }
}
