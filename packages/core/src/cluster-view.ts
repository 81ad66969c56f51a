/**
 * The cluster view: who the members are, which of them this node is connected to, and the
 * rings that place every room (DESIGN.md sections 5-6). It owns the membership protocol's
 * messages (gossip, the large-cluster ping, the member list a joining node asks for), the
 * set of connected peers and the placement, and answers the placement questions the other
 * parts ask: a room's owner, its replica partners among the connected members.
 */
import {
  decodeMessage,
  encodeMessage,
  type HeartbeatMessage,
  type LeaveMessage,
  type MemberSuspectMessage,
  type RoomRecord,
} from '@roomring/protocol';
import { createPlacement, type Placement, type RingMember } from '@roomring/ring';
import type { NodeConfig } from './config.js';
import type { RegistryEventEmitter } from './events.js';
import type { Guard } from './guards.js';
import {
  advertisedAddrs,
  type MemberChangeReason,
  Membership,
  type MemberTransition,
  type MemberView,
} from './membership.js';
import { isLargeCluster, pairScore } from './mesh.js';
import { ROOMS_TOPIC } from './replica.js';
import type { Runtime } from './runtime.js';
import type { GossipMessage, GossipVerdict, PeerId, Transport } from './transport.js';

export const MEMBERSHIP_TOPIC = 'roomring/membership/1';
/** Large clusters: neighbours exchange heartbeats directly (request: ours, answer: theirs). */
export const PING_PROTOCOL = '/roomring/ping/1';
/** A joining node asks a member for every member it knows: one member-entry per frame. */
export const MEMBERS_PROTOCOL = '/roomring/members/1';

/** Large clusters: ring changes within this window are applied in one rebuild. */
const RING_REBUILD_COALESCE_MS = 100;

export interface ClusterViewHost {
  /** The store's hybrid logical clock: stamps our messages, checks theirs. */
  hlc: { now(): number; observe(stamp: number): boolean };
  /** Fields of our own heartbeat that the store and the isolation rule own. */
  selfSummary(): { roomCount: number; storeDigest: string; historySinceMs: number };
  /** Whether the node is stopped (no ring rebuild then). */
  stopped(): boolean;
  /** The rings changed: every room's owner may have moved. */
  placementChanged(): void;
  /** First contact after hearing from no member for longer than isolationAfterMs. */
  rejoined(cutOffAtMs: number): void;
}

export interface ClusterViewCounters {
  /** Membership messages refused (undecodable, wrong type, clock out of bounds). */
  membershipRejected: number;
  /** Member lists asked of a peer (a join). */
  memberListsFetched: number;
}

export class ClusterView {
  readonly membership: Membership;
  readonly counters: ClusterViewCounters = { membershipRejected: 0, memberListsFetched: 0 };
  /** Peers with at least one open connection. */
  private readonly connected = new Set<PeerId>();
  private placement: Placement;
  private rebuildPending = false;
  private placedMembersOf: Placement | undefined;
  private placedMembers = new Map<string, Readonly<RingMember>>();
  /** Peers with a ping under way (large clusters): at most one each. */
  private readonly pinging = new Set<PeerId>();
  /** Whether room batches are forwarded over the gossip mesh now (large clusters only). */
  private roomsForwarded: boolean | undefined;

  constructor(
    private readonly config: NodeConfig,
    private readonly transport: Transport,
    private readonly runtime: Runtime,
    private readonly guard: Guard,
    private readonly events: RegistryEventEmitter,
    private readonly host: ClusterViewHost,
  ) {
    this.membership = new Membership(config, transport.peerId, () => transport.listenAddresses(), {
      nowMs: () => runtime.clock.nowMs(),
      publish: (message) => this.publish(message),
      dial: (address, timeoutMs) => transport.dial(address, { timeoutMs }),
      isConnected: (peer) => this.connected.has(peer),
      selfSummary: () => ({
        ...host.selfSummary(),
        ringChecksum: this.placement.checksum(),
        sentAt: host.hlc.now(),
      }),
      changed: (member, transition, reason) => this.memberChanged(member, transition, reason),
      random: () => runtime.random,
      rejoined: (cutOffAtMs) => host.rejoined(cutOffAtMs),
      pingNeighbours: () => this.pingNeighbours(),
      hangUp: (peer) => guard.task('prune', transport.hangUp(peer)),
    });
    this.placement = this.buildPlacement(undefined);
  }

  /** Subscribes the membership topic and serves the ping and member-list protocols. */
  register(): void {
    this.updateGossipForwarding();
    this.transport.subscribe(MEMBERSHIP_TOPIC, (message) => this.onMembershipMessage(message));
    this.transport.handle(PING_PROTOCOL, (frame, from) => this.answerPing(frame, from));
    this.transport.handle(MEMBERS_PROTOCOL, (frame, from) => this.memberList(frame, from));
  }

  // ---------------------------------------------------------------- what the parts ask

  ring(): Placement {
    return this.placement;
  }

  isConnected(peer: PeerId): boolean {
    return this.connected.has(peer);
  }

  connectedCount(): number {
    return this.connected.size;
  }

  /** The member a connected peer is, if it is one. */
  memberOfPeer(peer: PeerId): MemberView | undefined {
    const nodeId = this.membership.nodeIdOfPeer(peer);
    return nodeId === undefined ? undefined : this.membership.get(nodeId);
  }

  /** The node that hosts `room` on the current rings. */
  ownerOfRoom(room: Readonly<RoomRecord>): string | undefined {
    return this.placement.owner(room.name, room.homeRegion, room.pinnedNode || undefined);
  }

  /** Whether this node hosts `room` on the current rings (no digest for another region's). */
  ownsRoom(room: Readonly<RoomRecord>): boolean {
    return this.placement.isOwner(
      this.config.nodeId,
      room.name,
      room.homeRegion,
      room.pinnedNode || undefined,
    );
  }

  /** Connected replica partners for a room, best first: the ring's preference list with
   *  unreachable members skipped (asking for a few extra gives alternates). */
  partnersFor(name: string, count: number): PeerId[] {
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
      const member = this.memberOfPeer(peer);
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

  /**
   * Whether `peers` include every peer gossip would reach: every connected peer, whatever its
   * state (a member declared dead whose connection still stands receives gossip; swarm seed
   * 1799: a node one-way cut off, dead to the others but reachable, missed a delete's
   * tombstone and served the room again), and every ring member (alive or suspect), connected
   * or not. A ring member not connected right now still gets a publish once it is back, from
   * gossipsub's message cache, well before anti-entropy; without it a delete kept out of
   * gossip reached such a member only by anti-entropy, after the others had collected the
   * tombstone, and it gave the room back (swarm seed 5065). Checked per durable write, so a
   * cluster larger than `peers` answers from the sizes alone.
   */
  reachesEveryPeer(peers: readonly PeerId[]): boolean {
    if (peers.length < this.connected.size || peers.length < this.membership.ringSize() - 1) {
      return false;
    }
    for (const peer of this.connected) if (!peers.includes(peer)) return false;
    for (const member of this.membership.ringMembers()) {
      if (!peers.includes(member.peerId)) return false;
    }
    return true;
  }

  /** Alive members this node is connected to (anti-entropy's candidates). */
  connectedAliveMembers(): MemberView[] {
    return this.membership
      .ringMembers()
      .filter((m) => m.state === 'alive' && this.connected.has(m.peerId));
  }

  /** Every member, this node first (`self`: the fields other parts own). */
  members(self: { roomCount: number; storeDigest: string; historySinceMs: number }): MemberView[] {
    const view: MemberView = {
      nodeId: this.config.nodeId,
      peerId: this.transport.peerId,
      region: this.config.region,
      weight: this.config.weight,
      incarnation: this.membership.incarnation,
      state: 'alive',
      httpUrl: this.config.httpUrl,
      p2pAddrs: advertisedAddrs(this.transport.listenAddresses()),
      roomCount: self.roomCount,
      ringChecksum: this.placement.checksum(),
      storeDigest: self.storeDigest,
      lastHeardMs: this.runtime.clock.nowMs(),
      stateSinceMs: 0,
      historySinceMs: self.historySinceMs,
    };
    return [view, ...this.membership.list()];
  }

  // ---------------------------------------------------------------- connections

  /** Peers already connected when the transport started. */
  adoptConnected(peers: readonly PeerId[]): void {
    for (const peer of peers) this.connected.add(peer);
  }

  /**
   * A peer connected. While `running`, a node that knows no other live member (it just
   * started, or everyone it knew died) asks the first peer it reaches for its member list
   * instead of waiting for heartbeats, which a large cluster publishes only every few
   * intervals.
   */
  peerConnected(peer: PeerId, running: boolean): void {
    this.connected.add(peer);
    if (!running) return;
    if (this.membership.ringSize() <= 1 && this.membership.nodeIdOfPeer(peer) === undefined) {
      this.guard.task(
        'member list',
        this.fetchMembers(peer).catch(() => undefined),
      );
    }
  }

  peerDisconnected(peer: PeerId): void {
    this.connected.delete(peer);
    this.membership.peerDisconnected(peer);
  }

  // ---------------------------------------------------------------- membership messages

  private onMembershipMessage(message: GossipMessage): GossipVerdict {
    return this.membershipMessage(message.data, message.origin);
  }

  /** A membership message from `origin` (gossip publisher, or a ping's sender). */
  private membershipMessage(data: Uint8Array, origin: PeerId): GossipVerdict {
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      this.counters.membershipRejected++;
      return 'reject';
    }
    const m = decoded.message;
    if (m.type !== 'heartbeat' && m.type !== 'leave' && m.type !== 'member-suspect') {
      this.counters.membershipRejected++;
      return 'reject';
    }
    if (!this.host.hlc.observe(m.sentAt)) {
      this.counters.membershipRejected++;
      return 'reject';
    }
    const verdict = this.membership.receive(m, origin);
    if (verdict === 'reject') this.counters.membershipRejected++;
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
    const stamp = this.host.hlc.now();
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
    this.counters.memberListsFetched++;
    const request = encodeMessage(this.membership.selfHeartbeat());
    for await (const frame of this.transport.request(peer, MEMBERS_PROTOCOL, request, {
      timeoutMs: this.config.syncTimeoutMs,
      framesMax: this.config.membersMax + 1,
    })) {
      const decoded = decodeMessage(frame);
      if (!decoded.ok || decoded.message.type !== 'member-entry') {
        this.counters.membershipRejected++;
        return;
      }
      const { peerId, heartbeat } = decoded.message;
      if (!this.host.hlc.observe(heartbeat.sentAt)) continue;
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
      this.counters.membershipRejected++;
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

  private publish(message: HeartbeatMessage | LeaveMessage | MemberSuspectMessage): void {
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

  // ---------------------------------------------------------------- the rings

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
      this.updateGossipForwarding();
    }
    // Past meshFullMax, members come and go by the hundred (a cluster forming, a region
    // failing): one rebuild per RING_REBUILD_COALESCE_MS instead of one per transition.
    if (isLargeCluster(this.membership.ringSize(), this.config.meshFullMax)) {
      if (this.rebuildPending) return;
      this.rebuildPending = true;
      this.runtime.timers.setTimer(RING_REBUILD_COALESCE_MS, () => {
        this.rebuildPending = false;
        this.rebuildPlacement();
      });
      return;
    }
    this.rebuildPlacement();
  }

  /**
   * Room batches are forwarded over the gossip mesh only in a large cluster. In a small one
   * every member is connected to every other and a batch goes straight to each of them
   * (floodPublish), so every forward is a copy the peer already has: with the mesh degree of
   * 2, each node received each batch 2.5-4 times and decrypted, decoded and dropped the
   * copies (measured on 5 processes filling 100k rooms: 46-48 us of CPU per record per
   * process with forwarding, 29-35 without, and the fill 2x faster). A batch whose direct
   * copy was lost is repaired by anti-entropy (a dropped connection that comes back starts a
   * sync session at once) or gossip's lazy repair. Membership messages
   * are small and keep being forwarded: a member heard only through a third node (one link
   * down) stays alive.
   */
  private updateGossipForwarding(): void {
    const large = isLargeCluster(this.membership.ringSize(), this.config.meshFullMax);
    if (large === this.roomsForwarded) return;
    this.roomsForwarded = large;
    this.transport.setGossipForwarding(ROOMS_TOPIC, large);
  }

  private rebuildPlacement(): void {
    if (this.host.stopped()) return;
    const next = this.buildPlacement(this.placement);
    if (next.checksum() !== this.placement.checksum()) {
      this.placement = next;
      this.host.placementChanged();
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

  private buildPlacement(previous: Placement | undefined): Placement {
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
      ...(previous ? { previous } : {}),
      ...(this.config.failoverOrder.length > 0 ? { failoverOrder: this.config.failoverOrder } : {}),
    });
  }
}
