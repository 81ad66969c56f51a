/**
 * Membership and failure detection (DESIGN.md section 6, docs/protocol/membership.md).
 *
 * Each node publishes a heartbeat every heartbeatIntervalMs on the membership topic and
 * judges every other member by its own clock: silent for suspectAfterMs -> suspect (stays in
 * the rings), silent for deadAfterMs -> dead (leaves the rings, its rooms move). A dropped
 * connection makes a member suspect at once and triggers a probe dial; a refused probe
 * (killed process) declares it dead without waiting. A `leave` announcement removes a member
 * at once. Incarnation numbers order a member's own statements: a node that learns it was
 * suspected or declared dead publishes a higher incarnation (SWIM refutation). A node whose
 * own timers ran late (SIGSTOP, long GC) distrusts its silence measurements for one round
 * instead of declaring everyone dead.
 */
import type { HeartbeatMessage, LeaveMessage, MemberSuspectMessage } from '@roomring/protocol';
import type { MemberState } from '@roomring/ring';
import { Backoff } from './backoff.js';
import type { NodeConfig } from './config.js';
import { dialOrder, isOwnAddress } from './dial-addresses.js';
import type { PeerId } from './transport.js';

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
}

export type MemberTransition = 'up' | 'suspect' | 'dead' | 'left' | 'updated';

export interface MembershipHost {
  nowMs(): number;
  /** Publishes on the membership topic (fire and forget; losses are tolerated). */
  publish(message: HeartbeatMessage | LeaveMessage | MemberSuspectMessage): void;
  /** Dials an address; resolves with the peer or rejects. */
  dial(address: string, timeoutMs: number): Promise<PeerId>;
  isConnected(peer: PeerId): boolean;
  /** Fields of our own heartbeat that other parts own. */
  selfSummary(): { roomCount: number; ringChecksum: string; storeDigest: string; sentAt: number };
  /** Called after every state change of a member (never for self). */
  changed(member: MemberView, transition: MemberTransition): void;
  random(): { nextUint32(): number };
  /** First contact after hearing from no member for longer than tombstoneTtlMs. */
  rejoined(cutOffAtMs: number): void;
}

export interface MembershipCounters {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  staleIgnored: number;
  impostorsRejected: number;
  membersMaxDropped: number;
  refutations: number;
  probesFailed: number;
  freezesDetected: number;
  dialsFailed: number;
}

interface MemberEntry extends MemberView {
  /** Last time we told this member it is considered dead (rate limit). */
  lastDeathNoticeMs: number;
}

const RING_STATES: ReadonlySet<MemberState> = new Set(['alive', 'suspect']);

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
  private lastTickMs: number;
  /** Wall ms at which tick() last found our own timers had run late (a freeze). */
  private lastFreezeMs = Number.NEGATIVE_INFINITY;
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
    probesFailed: 0,
    freezesDetected: 0,
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

  /** Every other member, any state. */
  list(): MemberView[] {
    return [...this.members.values()].map(({ lastDeathNoticeMs: _, ...view }) => view);
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
      p2pAddrs: this.selfAddrs(),
      roomCount: summary.roomCount,
      ringChecksum: summary.ringChecksum,
      storeDigest: summary.storeDigest,
      sentAt: summary.sentAt,
      seq: this.heartbeatSeq++,
    };
  }

  /** Periodic work: publish our heartbeat, age the others, re-dial. */
  tick(): void {
    const now = this.host.nowMs();
    const gap = now - this.lastTickMs;
    this.lastTickMs = now;
    if (this.leaving) return;
    if (gap > this.config.suspectAfterMs) {
      // Our own timers ran late: silence we measured is ours, not theirs. Raise our
      // incarnation (others may have declared us dead) and give everyone a fresh start.
      this.counters.freezesDetected++;
      this.lastFreezeMs = now;
      this.incarnation++;
      for (const m of this.members.values()) {
        if (RING_STATES.has(m.state)) m.lastHeardMs = now;
      }
    }
    this.host.publish(this.selfHeartbeat());
    this.counters.heartbeatsSent++;
    for (const m of [...this.members.values()]) {
      const silentMs = now - m.lastHeardMs;
      if (m.state === 'alive' && silentMs >= this.config.suspectAfterMs) {
        this.transition(m, 'suspect', now);
      } else if (m.state === 'suspect' && silentMs >= this.config.deadAfterMs) {
        this.transition(m, 'dead', now);
      } else if (
        (m.state === 'dead' || m.state === 'left') &&
        now - m.stateSinceMs > this.config.deadMemberRetentionMs
      ) {
        this.forget(m);
      }
    }
    this.redial(now);
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
        return this.onSuspect(message);
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
      m = {
        nodeId: hb.nodeId,
        peerId: origin,
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
        lastDeathNoticeMs: 0,
      };
      this.members.set(hb.nodeId, m);
      this.byPeer.set(origin, hb.nodeId);
      this.heardFromPeer(now);
      this.host.changed(m, m.state === 'left' ? 'left' : 'up');
      return 'accept';
    }
    if (m.peerId !== origin) {
      // A restarted node may come back with a new identity, but only with a newer incarnation.
      if (hb.incarnation <= m.incarnation) {
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
    m.lastHeardMs = now;
    this.heardFromPeer(now);
    const next: MemberState = hb.state === 'left' ? 'left' : 'alive';
    if (next !== m.state) this.transition(m, next, now);
    else this.host.changed(m, 'updated');
    return 'accept';
  }

  private heardFromPeer(now: number): void {
    const previous = this.lastPeerContactMs;
    this.lastPeerContactMs = now;
    if (previous !== undefined && now - previous > this.config.tombstoneTtlMs) {
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
    this.transition(m, 'left', this.host.nowMs());
    return 'accept';
  }

  private onSuspect(notice: MemberSuspectMessage): 'accept' | 'ignore' {
    if (notice.subject !== this.config.nodeId) return 'accept';
    if (notice.subjectIncarnation < this.incarnation || this.leaving) return 'ignore';
    // Someone thinks we are suspect or dead at our current incarnation: refute at once.
    this.incarnation = notice.subjectIncarnation + 1;
    this.counters.refutations++;
    this.host.publish(this.selfHeartbeat());
    return 'accept';
  }

  /** The transport lost its last connection to `peer`. */
  peerDisconnected(peer: PeerId): void {
    const nodeId = this.byPeer.get(peer);
    const m = nodeId === undefined ? undefined : this.members.get(nodeId);
    if (!m || !RING_STATES.has(m.state) || this.leaving) return;
    const now = this.host.nowMs();
    if (this.recoveringFromFreeze(now)) {
      // While we were stopped, peers pinged us in vain and closed their connections: the
      // drops we see on waking are news about us, not about them (Lifeguard's local health).
      // Reconnect instead of accusing; one that really died meanwhile still falls silent and
      // is suspected after suspectAfterMs.
      this.ensureConnected(m);
      return;
    }
    if (m.state === 'alive') this.transition(m, 'suspect', now);
    this.probe(m, now);
  }

  /** Our own timers ran late just now: tick() found a freeze less than suspectAfterMs ago, or
   *  has not run for longer than that (the drops arrived before the overdue tick). */
  private recoveringFromFreeze(now: number): boolean {
    return (
      now - this.lastFreezeMs < this.config.suspectAfterMs ||
      now - this.lastTickMs > this.config.suspectAfterMs
    );
  }

  /** Dials a member whose connection dropped: every address refused or timed out means it is
   *  gone (a killed process refuses at once on each). */
  private probe(m: MemberEntry, startedMs: number): void {
    if (m.p2pAddrs.length === 0) return;
    this.dialMember(m, this.config.probeTimeoutMs).then(
      () => undefined,
      () => {
        this.counters.probesFailed++;
        const now = this.host.nowMs();
        // Only if nothing was heard from it since the connection dropped.
        if (
          m.state === 'suspect' &&
          m.lastHeardMs <= startedMs &&
          !this.host.isConnected(m.peerId)
        ) {
          this.transition(m, 'dead', now);
        }
      },
    );
  }

  private transition(m: MemberEntry, state: MemberState, now: number): void {
    if (m.state === state) return;
    const wasInRing = RING_STATES.has(m.state);
    m.state = state;
    m.stateSinceMs = now;
    if (state === 'dead' || state === 'suspect') {
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
    this.host.changed(m, transition);
  }

  private forget(m: MemberEntry): void {
    this.members.delete(m.nodeId);
    if (this.byPeer.get(m.peerId) === m.nodeId) this.byPeer.delete(m.peerId);
    this.memberBackoff.delete(m.nodeId);
    this.workingAddress.delete(m.nodeId);
  }

  /** Re-dials seeds and members we have no connection to, each with its own back-off.
   *  Members are dialled at their advertised addresses, so the mesh comes from membership:
   *  seeds only bootstrap and re-join, and a formed cluster outlives all of them. */
  private redial(now: number): void {
    for (const seed of this.config.seeds) {
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
      if (m.state === 'left' || this.host.isConnected(m.peerId)) continue;
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
    for (const address of dialOrder(m.p2pAddrs, this.workingAddress.get(m.nodeId))) {
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
    }
    throw failure;
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
