/**
 * A simulated network for the node logic: in-memory transports on virtual time, with seeded
 * latency, loss, duplication and partitions. It mirrors what the real transport promises
 * (packages/core/src/transport.ts): gossip is best-effort with duplicate suppression,
 * hop-by-hop forwarding of accepted messages over a mesh, and gossipsub's lazy repair (IHAVE
 * and IWANT at each gossip heartbeat, around a mesh peer that is stopped or lost a message);
 * requests are reliable streams that fail when
 * the connection drops or the deadline passes.
 *
 * Faults, each as a real network or a stopped process shows it:
 * - `partition(...groups)`: links between groups drop at once, dials fail (a cable pulled
 *   with resets: both sides see the connection close);
 * - `cutOneWay(from, to)`: messages from `from` to `to` vanish, connections stay up (a
 *   blackholed direction: requests into it time out, gossip is lost, nobody sees a close);
 * - `pause(peer)`: the process is stopped (SIGSTOP): its connections stay open, nothing it
 *   receives is processed and none of its timers fire until `resume`, then everything
 *   queued is handled in arrival order; `resume(peer, 'timers-first')` runs the timers that
 *   came due first, then what it received, as Node's event loop does after a busy stretch (a
 *   long GC pause, a busy-wait: due timers run before the sockets are polled);
 * - `crash(peer)`: the process is gone: its connections drop, nothing queued is delivered;
 * - `setFaults`: loss, duplication and latency (a spike, or jitter that reorders gossip);
 * - `setFilter`: a test hook that sees every gossip hop, request and response frame and can
 *   drop one (or act on it, e.g. crash a node the moment it answers).
 */
import type {
  GossipMessage,
  GossipVerdict,
  PeerId,
  RequestHandler,
  RequestOptions,
  Transport,
  TransportListener,
} from '@roomring/core';
import type { SeededRandom } from './random.js';
import type { VirtualTime } from './virtual-time.js';

export interface MemoryNetworkInit {
  time: VirtualTime;
  random: SeededRandom;
  /** One-way delay of a hop, uniform in [min, max]. @default 1..5 ms */
  latencyMsMin?: number;
  latencyMsMax?: number;
  /** Probability that one gossip hop loses a message. @default 0 */
  gossipLossRate?: number;
  /** Probability that one gossip hop delivers a message twice. @default 0 */
  gossipDuplicateRate?: number;
  /** How long a transport remembers a gossip message id to drop copies. @default 120000 */
  seenTtlMs?: number;
  /**
   * Gossip mesh degree, as the real transport's gossipsub (GOSSIP_D = 2): a publish goes to
   * every connected subscriber (floodPublish), a forwarded message only to mesh peers. Each
   * node picks this many of its connections (lowest hash of the pair, so the choice is
   * stable) and mesh links are symmetric (gossipsub's GRAFT), so a node forwards to at least
   * this many. @default 2
   */
  meshDegree?: number;
  /**
   * Most mesh peers a node keeps, as the real transport's gossipsub (GOSSIP_D_HI = 4): a node
   * whose mesh is full refuses a GRAFT (gossipsub PRUNEs it), so the grafting node picks its
   * next candidate. Without it a node every other joined through (a seed) would forward each
   * message to every node: O(N) per message at the seed, O(N^2) hops while a cluster forms.
   * @default 4
   */
  meshDegreeHigh?: number;
  /**
   * Gossipsub's lazy repair, as the real transport (GOSSIP_D_LAZY = 2, heartbeat 1 s,
   * GOSSIP_MCACHE_GOSSIP = 3): at each gossip heartbeat a node advertises the ids of the
   * messages it accepted in its last `lazyWindows` heartbeats (IHAVE) to `lazyDegree` connected
   * peers outside its mesh; a peer that has not seen one asks for it (IWANT) and gets it two
   * hops later. It routes a message around a mesh peer that is stopped or whose link lost it.
   * 0 turns it off. @default 2
   */
  lazyDegree?: number;
  /** @default 1000 */
  gossipHeartbeatMs?: number;
  /** @default 3 */
  lazyWindows?: number;
}

export class MemoryTransportError extends Error {
  constructor(
    readonly code: 'unreachable' | 'timeout' | 'aborted' | 'closed' | 'remote' | 'frames',
    message: string,
  ) {
    super(message);
    this.name = 'MemoryTransportError';
  }
}

/** A dial that ran into its deadline (a stopped peer takes the connection but never finishes
 *  the handshake). Named `DialTimeoutError`, as `@roomring/core`'s `isDialTimeout` matches
 *  (packages/core/src/transport.ts); every other dial failure is `unreachable`. */
export class MemoryDialTimeoutError extends MemoryTransportError {
  constructor(message: string) {
    super('timeout', message);
    this.name = 'DialTimeoutError';
  }
}

/** What waits for a paused peer: a timer of its process, or something it receives. */
export type PausedWork = 'timer' | 'io';

/** One message crossing one hop, as a filter sees it. */
export interface NetworkEvent {
  kind: 'gossip' | 'request' | 'response';
  from: PeerId;
  to: PeerId;
  /** The topic (gossip) or the protocol (request, response). */
  channel: string;
  data: Uint8Array;
}

/** Decides the fate of one hop; it may also act (crash a node, record the message). */
export type NetworkFilter = (event: NetworkEvent) => 'deliver' | 'drop';

export interface NetworkFaults {
  gossipLossRate?: number;
  gossipDuplicateRate?: number;
  latencyMsMin?: number;
  latencyMsMax?: number;
}

export interface NetworkStats {
  gossipSent: number;
  /** Messages delivered by lazy repair (an IHAVE answered with IWANT); also in gossipSent. */
  gossipRepaired: number;
  gossipLost: number;
  gossipDuplicated: number;
  requests: number;
  filtered: number;
  blackholed: number;
}

/** What one peer sent and received: gossip hops, request and response frames. */
export interface PeerTraffic {
  messagesOut: number;
  bytesOut: number;
  messagesIn: number;
  bytesIn: number;
}

export interface MemoryNetwork {
  /** A transport for `peerId`, dialled at `memory/<address>` (default: the peer id). A
   *  restarted node takes over its address, as a process restarted on the same port does. */
  createTransport(peerId: PeerId, options?: { address?: string }): Transport;
  /** Cuts every link between the groups (existing connections drop, dials fail). Peers in
   *  no group are not affected. Replaces any earlier partition. */
  partition(...groups: PeerId[][]): void;
  /** Blackholes messages from each of `from` to each of `to` (connections stay up). */
  cutOneWay(from: readonly PeerId[], to: readonly PeerId[]): void;
  /** Closes the connection between `a` and `b`, as either end hanging up would: both see it
   *  drop; dials between them work as before. */
  disconnect(a: PeerId, b: PeerId): void;
  /** Lifts every partition and one-way cut. */
  heal(): void;
  /** Sets fault rates and latency for the rest of the run. */
  setFaults(faults: NetworkFaults): void;
  setFilter(filter: NetworkFilter | undefined): void;
  /** Kills a peer: its connections drop at once, nothing it had queued is delivered. */
  crash(peerId: PeerId): void;
  /** Stops a peer's processing (SIGSTOP); see the file comment. */
  pause(peerId: PeerId): void;
  /** Continues a paused peer: what it received meanwhile is handled in arrival order, or
   *  with `'timers-first'` every timer that came due first, then what it received (Node's
   *  event loop after a busy stretch). */
  resume(peerId: PeerId, order?: 'arrival' | 'timers-first'): void;
  isPaused(peerId: PeerId): boolean;
  /** Runs `action` for `peerId` now, or when it resumes if it is paused. `work` says what
   *  it is (`'timer'` for the process's own timers) for `resume(peer, 'timers-first')`.
   *  @default 'io' */
  whenRunning(peerId: PeerId, action: () => void, work?: PausedWork): void;
  /** Whether a message from `from` to `to` can get through now. */
  reachable(from: PeerId, to: PeerId): boolean;
  stats(): NetworkStats;
  /** Traffic of one peer since it was created (every hop it sent or was delivered). */
  traffic(peerId: PeerId): PeerTraffic;
  /** The gossip mesh peers of `peerId` (connected peers it forwards to). */
  mesh(peerId: PeerId): PeerId[];
}

const ADDRESS_PREFIX = 'memory/';

/** A message in a peer's gossip cache, for IHAVE/IWANT. */
interface CachedGossip {
  topic: string;
  id: string;
  origin: PeerId;
  data: Uint8Array;
}

export function createMemoryNetwork(init: MemoryNetworkInit): MemoryNetwork {
  const { time, random } = init;
  let latencyMin = init.latencyMsMin ?? 1;
  let latencyMax = init.latencyMsMax ?? 5;
  const seenTtlMs = init.seenTtlMs ?? 120_000;
  const meshDegree = init.meshDegree ?? 2;
  const meshDegreeHigh = Math.max(meshDegree, init.meshDegreeHigh ?? 4);
  const lazyDegree = init.lazyDegree ?? 2;
  const gossipHeartbeatMs = init.gossipHeartbeatMs ?? 1_000;
  const lazyWindows = init.lazyWindows ?? 3;
  let lossRate = init.gossipLossRate ?? 0;
  let duplicateRate = init.gossipDuplicateRate ?? 0;
  let filter: NetworkFilter | undefined;
  const counters: NetworkStats = {
    gossipSent: 0,
    gossipRepaired: 0,
    gossipLost: 0,
    gossipDuplicated: 0,
    requests: 0,
    filtered: 0,
    blackholed: 0,
  };

  const transports = new Map<PeerId, MemoryTransport>();
  const trafficByPeer = new Map<PeerId, PeerTraffic>();
  const trafficOf = (peer: PeerId): PeerTraffic => {
    let t = trafficByPeer.get(peer);
    if (!t) {
      t = { messagesOut: 0, bytesOut: 0, messagesIn: 0, bytesIn: 0 };
      trafficByPeer.set(peer, t);
    }
    return t;
  };
  const sent = (from: PeerId, bytes: number): void => {
    const t = trafficOf(from);
    t.messagesOut++;
    t.bytesOut += bytes;
  };
  const received = (to: PeerId, bytes: number): void => {
    const t = trafficOf(to);
    t.messagesIn++;
    t.bytesIn += bytes;
  };
  const byAddress = new Map<string, PeerId>();
  /** Open links, symmetric: each peer's set of connected peers. */
  const links = new Map<PeerId, Set<PeerId>>();
  /** Blocked directions `from\nto` between addresses (a restarted node keeps its address, and
   *  a cut, as on a real network, applies to it too): partitions block both, one-way one. */
  const blocked = new Set<string>();
  const addressOf = (peer: PeerId): string => transports.get(peer)?.address ?? peer;
  /** Paused peers and what waits for them to resume, in arrival order. */
  const paused = new Map<PeerId, { action: () => void; work: PausedWork }[]>();

  const direction = (from: PeerId, to: PeerId): string => `${from}\n${to}`;
  const latency = (): number => latencyMin + random.int(latencyMax - latencyMin + 1);
  const isBlocked = (from: PeerId, to: PeerId): boolean =>
    blocked.size > 0 && blocked.has(direction(addressOf(from), addressOf(to)));
  const connected = (a: PeerId, b: PeerId): boolean => links.get(a)?.has(b) ?? false;

  /** Each peer's chosen mesh peers, and who chose it: forwarding goes to the union. */
  const chosen = new Map<PeerId, Set<PeerId>>();
  const chosenBy = new Map<PeerId, Set<PeerId>>();
  const pairHash = (a: PeerId, b: PeerId): number => {
    // FNV-1a over "a\nb": stable and cheap; only the order of peers matters.
    let h = 0x811c9dc5;
    const s = `${a}\n${b}`;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
  };
  /** How many mesh peers `peer` has now (its choices and the peers that chose it). */
  function meshSize(peer: PeerId): number {
    const mine = chosen.get(peer);
    let size = mine?.size ?? 0;
    for (const p of chosenBy.get(peer) ?? []) if (!mine?.has(p)) size++;
    return size;
  }
  /** `peer` adds `p` to its mesh choices. */
  function choose(peer: PeerId, p: PeerId): void {
    chosen.get(peer)?.add(p);
    let by = chosenBy.get(p);
    if (!by) {
      by = new Set();
      chosenBy.set(p, by);
    }
    by.add(peer);
  }
  /** Grafts `peer` to more of its connections while it has fewer than meshDegree choices:
   *  lowest pair hash first, skipping a peer whose mesh is full (its PRUNE) unless it
   *  already meshes with `peer`; a new mesh link only while both ends are under the limit. */
  function graft(peer: PeerId): void {
    let mine = chosen.get(peer);
    if (!mine) {
      mine = new Set();
      chosen.set(peer, mine);
    }
    if (mine.size >= meshDegree) return;
    const candidates = [...(links.get(peer) ?? [])].filter((p) => !mine.has(p));
    candidates.sort((x, y) => pairHash(peer, x) - pairHash(peer, y));
    const by = chosenBy.get(peer);
    for (const p of candidates) {
      if (mine.size >= meshDegree) break;
      const already = by?.has(p) ?? false;
      if (!already) {
        if (meshSize(peer) >= meshDegreeHigh) break;
        if (meshSize(p) >= meshDegreeHigh && !makeRoom(p, peer)) continue;
      }
      choose(peer, p);
    }
  }
  /**
   * A full `peer` takes `grafter`, short of meshDegree mesh peers, by unlinking one of its
   * mesh peers that keeps more than meshDegree without it (gossipsub's full peer accepts the
   * GRAFT and prunes at random down to D; here deterministically, the best-meshed one). Each
   * swap lifts the grafter and leaves everyone at meshDegree or more, so swaps end.
   */
  function makeRoom(peer: PeerId, grafter: PeerId): boolean {
    if (meshSize(grafter) >= meshDegree) return false;
    let victim: PeerId | undefined;
    let victimSize = meshDegree;
    const members = new Set([...(chosen.get(peer) ?? []), ...(chosenBy.get(peer) ?? [])]);
    for (const m of members) {
      if (m === grafter) continue;
      const size = meshSize(m);
      if (
        size > victimSize ||
        (size === victimSize &&
          victim !== undefined &&
          size > meshDegree &&
          pairHash(peer, m) < pairHash(peer, victim))
      ) {
        victim = m;
        victimSize = size;
      }
    }
    if (victim === undefined) return false;
    chosen.get(peer)?.delete(victim);
    chosenBy.get(victim)?.delete(peer);
    chosen.get(victim)?.delete(peer);
    chosenBy.get(peer)?.delete(victim);
    return true;
  }
  /** `peer`'s mesh shrank: its connections short of mesh peers graft it while it has room
   *  (gossipsub's heartbeat tops a mesh under D_lo up; here at once, so an idle network needs
   *  no timer). Each of them already tried its other connections when it last grafted. */
  function freed(peer: PeerId): void {
    for (const p of links.get(peer) ?? []) {
      if (meshSize(peer) >= meshDegreeHigh) return;
      const theirs = chosen.get(p);
      if (theirs === undefined || theirs.size >= meshDegree || theirs.has(peer)) continue;
      if (chosenBy.get(p)?.has(peer) || meshSize(p) >= meshDegreeHigh) continue;
      choose(p, peer);
    }
  }
  /**
   * Picks `peer`'s mesh again from its connections (on every connect and disconnect), so
   * no mesh ever exceeds meshDegreeHigh: old choices are dropped first, then graft(); a peer
   * a dropped choice leaves with room is offered to its connections short of mesh peers.
   */
  function rechoose(peer: PeerId): void {
    const previous = chosen.get(peer) ?? new Set<PeerId>();
    for (const p of previous) chosenBy.get(p)?.delete(peer);
    chosen.set(peer, new Set());
    graft(peer);
    const now = chosen.get(peer)!;
    for (const p of previous) if (!now.has(p)) freed(p);
    if (previous.size > 0 || (chosenBy.get(peer)?.size ?? 0) > 0) freed(peer);
  }
  /** Mesh peers of `peer` that are still connected. */
  function meshOf(peer: PeerId): PeerId[] {
    const out = new Set<PeerId>();
    for (const p of chosen.get(peer) ?? []) if (connected(peer, p)) out.add(p);
    for (const p of chosenBy.get(peer) ?? []) if (connected(peer, p)) out.add(p);
    return [...out];
  }
  const neighbours = (peer: PeerId): Set<PeerId> => {
    let set = links.get(peer);
    if (!set) {
      set = new Set();
      links.set(peer, set);
    }
    return set;
  };

  function whenRunning(peer: PeerId, action: () => void, work: PausedWork = 'io'): void {
    const queue = paused.get(peer);
    if (queue) queue.push({ action, work });
    else action();
  }

  /** Resolves once `peer` is not paused (at once when it is not). */
  function running(peer: PeerId): Promise<void> {
    if (!paused.has(peer)) return Promise.resolve();
    return new Promise((resolve) => whenRunning(peer, resolve));
  }

  function passes(event: NetworkEvent): boolean {
    if (filter === undefined) return true;
    if (filter(event) === 'deliver') return true;
    counters.filtered++;
    return false;
  }

  function connect(a: MemoryTransport, b: MemoryTransport): void {
    if (connected(a.peerId, b.peerId)) return;
    neighbours(a.peerId).add(b.peerId);
    neighbours(b.peerId).add(a.peerId);
    rechoose(a.peerId);
    rechoose(b.peerId);
    whenRunning(a.peerId, () => a.notifyConnected(b.peerId));
    whenRunning(b.peerId, () => b.notifyConnected(a.peerId));
  }

  /** Exchanges in flight per link (`requester\nresponder`): a closed connection fails them at
   *  once, as a reset stream does, instead of at their next hop or never. */
  const openExchanges = new Map<string, Set<(error: MemoryTransportError) => void>>();
  function closeExchanges(from: PeerId, to: PeerId): void {
    const key = direction(from, to);
    const open = openExchanges.get(key);
    if (open === undefined) return;
    openExchanges.delete(key);
    for (const fail of open) fail(new MemoryTransportError('closed', `connection to ${to} closed`));
  }

  function disconnect(a: PeerId, b: PeerId): void {
    if (!connected(a, b)) return;
    links.get(a)?.delete(b);
    links.get(b)?.delete(a);
    closeExchanges(a, b);
    closeExchanges(b, a);
    rechoose(a);
    rechoose(b);
    whenRunning(a, () => transports.get(a)?.notifyDisconnected(b));
    whenRunning(b, () => transports.get(b)?.notifyDisconnected(a));
  }

  class MemoryTransport implements Transport {
    running = false;
    private readonly listeners: TransportListener[] = [];
    readonly topics = new Map<string, (message: GossipMessage) => GossipVerdict>();
    /** Topics whose accepted messages are delivered but not forwarded (setGossipForwarding). */
    private readonly unforwarded = new Set<string>();
    readonly handlers = new Map<string, RequestHandler>();
    /** Gossip ids seen, with the virtual time they expire. */
    private readonly seen = new Map<string, number>();
    private publishSeq = 0;
    /** Messages accepted in each of the last `lazyWindows` gossip heartbeats, newest first:
     *  what IHAVE advertises (gossipsub's mcache). */
    private windows: CachedGossip[][] = [[]];
    private beatPending = false;
    private beats = 0;

    constructor(
      readonly peerId: PeerId,
      readonly address: string,
    ) {}

    async start(): Promise<void> {
      this.running = true;
    }

    async stop(): Promise<void> {
      this.running = false;
      for (const peer of this.connectedPeers()) disconnect(this.peerId, peer);
    }

    listenAddresses(): string[] {
      return [`${ADDRESS_PREFIX}${this.address}`];
    }

    subscribe(topic: string, handler: (message: GossipMessage) => GossipVerdict): void {
      this.topics.set(topic, handler);
    }

    setGossipForwarding(topic: string, forward: boolean): void {
      if (forward) this.unforwarded.delete(topic);
      else this.unforwarded.add(topic);
    }

    async publish(topic: string, data: Uint8Array): Promise<{ recipients: number }> {
      if (!this.running) throw new MemoryTransportError('closed', 'transport stopped');
      const id = `${this.peerId}:${this.publishSeq++}`;
      this.markSeen(id);
      this.remember({ topic, id, origin: this.peerId, data });
      // floodPublish: straight to every connected subscriber.
      return { recipients: this.forward(topic, id, this.peerId, data, undefined, true) };
    }

    /** Sends one gossip hop to every connected subscriber (a publish) or to the mesh peers
     *  (a forward), except `except`. */
    forward(
      topic: string,
      id: string,
      origin: PeerId,
      data: Uint8Array,
      except: PeerId | undefined,
      flood = false,
    ): number {
      let recipients = 0;
      const peers = flood ? links.get(this.peerId) : meshOf(this.peerId);
      if (peers === undefined) return 0;
      for (const peer of peers) {
        if (peer === except) continue;
        const target = transports.get(peer);
        if (!target?.topics.has(topic)) continue;
        recipients++;
        counters.gossipSent++;
        sent(this.peerId, data.length);
        if (random.chance(lossRate)) {
          counters.gossipLost++;
          continue;
        }
        if (!passes({ kind: 'gossip', from: this.peerId, to: peer, channel: topic, data })) {
          continue;
        }
        const copies = random.chance(duplicateRate) ? 2 : 1;
        if (copies === 2) counters.gossipDuplicated++;
        for (let i = 0; i < copies; i++) {
          time.setTimer(latency(), () => {
            if (!connected(this.peerId, peer)) return;
            if (isBlocked(this.peerId, peer)) {
              counters.blackholed++;
              return;
            }
            received(peer, data.length);
            whenRunning(peer, () => target.receive(topic, id, origin, this.peerId, data));
          });
        }
      }
      return recipients;
    }

    receive(topic: string, id: string, origin: PeerId, from: PeerId, data: Uint8Array): void {
      if (!this.running) return;
      this.expireSeen();
      if (this.seen.has(id)) return;
      this.markSeen(id);
      const handler = this.topics.get(topic);
      if (!handler) return;
      const verdict = handler({ topic, origin, propagationSource: from, data });
      if (verdict === 'accept') {
        // Cached for the lazy repair either way, as gossipsub does; forwarded unless off.
        this.remember({ topic, id, origin, data });
        if (!this.unforwarded.has(topic)) this.forward(topic, id, origin, data, from);
      }
    }

    private remember(message: CachedGossip): void {
      if (lazyDegree === 0) return;
      this.windows[0]!.push(message);
      this.scheduleBeat();
    }

    /** The next gossip heartbeat, on this peer's own phase; only while something is cached,
     *  so an idle network has no timers. */
    private scheduleBeat(): void {
      if (this.beatPending) return;
      this.beatPending = true;
      const phase = pairHash(this.peerId, 'heartbeat') % gossipHeartbeatMs;
      const delay = gossipHeartbeatMs - ((time.nowMs() + phase) % gossipHeartbeatMs);
      // A stopped process's heartbeat runs when it continues.
      time.setTimer(delay, () => whenRunning(this.peerId, () => this.beat()));
    }

    private beat(): void {
      this.beatPending = false;
      if (!this.running) {
        this.windows = [[]];
        return;
      }
      this.beats++;
      const cached = this.windows.flat();
      const mesh = new Set(meshOf(this.peerId));
      const others = [...(links.get(this.peerId) ?? [])].filter((p) => !mesh.has(p));
      // A different choice each heartbeat, from a hash (not the seeded random stream, so a
      // run in which nothing needs repair plays exactly as without lazy repair).
      const beat = String(this.beats);
      others.sort((x, y) => pairHash(x, beat) - pairHash(y, beat));
      for (const peer of others.slice(0, lazyDegree)) {
        const target = transports.get(peer);
        if (target === undefined) continue;
        // IHAVE: one hop; the IWANT and the message it asks for: two more.
        time.setTimer(latencyMax, () => {
          if (!connected(this.peerId, peer) || isBlocked(this.peerId, peer)) return;
          whenRunning(peer, () => target.answerIhave(this, cached));
        });
      }
      this.windows.unshift([]);
      if (this.windows.length > lazyWindows) this.windows.pop();
      if (this.windows.some((w) => w.length > 0)) this.scheduleBeat();
    }

    /** An IHAVE from `from` arrived: ask for what we have not seen, and take it. */
    answerIhave(from: MemoryTransport, advertised: readonly CachedGossip[]): void {
      if (!this.running) return;
      this.expireSeen();
      const wanted = advertised.filter((m) => !this.seen.has(m.id) && this.topics.has(m.topic));
      if (wanted.length === 0) return;
      time.setTimer(2 * latencyMax, () => {
        if (!from.running || !connected(from.peerId, this.peerId)) return;
        if (isBlocked(this.peerId, from.peerId) || isBlocked(from.peerId, this.peerId)) return;
        for (const m of wanted) {
          const hop: NetworkEvent = {
            kind: 'gossip',
            from: from.peerId,
            to: this.peerId,
            channel: m.topic,
            data: m.data,
          };
          if (!passes(hop)) continue;
          counters.gossipSent++;
          counters.gossipRepaired++;
          sent(from.peerId, m.data.length);
          received(this.peerId, m.data.length);
          whenRunning(this.peerId, () =>
            this.receive(m.topic, m.id, m.origin, from.peerId, m.data),
          );
        }
      });
    }

    private markSeen(id: string): void {
      this.seen.set(id, time.nowMs() + seenTtlMs);
    }

    private expireSeen(): void {
      const now = time.nowMs();
      // Map iteration is in insertion order, which is expiry order.
      for (const [id, expiresAt] of this.seen) {
        if (expiresAt > now) break;
        this.seen.delete(id);
      }
    }

    handle(protocol: string, handler: RequestHandler): void {
      this.handlers.set(protocol, handler);
    }

    request(
      peer: PeerId,
      protocol: string,
      frame: Uint8Array,
      options: RequestOptions,
    ): AsyncIterable<Uint8Array> {
      counters.requests++;
      return this.exchange(peer, protocol, frame, options);
    }

    private async *exchange(
      peer: PeerId,
      protocol: string,
      frame: Uint8Array,
      options: RequestOptions,
    ): AsyncGenerator<Uint8Array> {
      const remote = transports.get(peer);
      if (!remote?.running || !connected(this.peerId, peer)) {
        throw new MemoryTransportError('unreachable', `no connection to ${peer}`);
      }
      const deadline = time.nowMs() + options.timeoutMs;
      // Every wait of the exchange (a hop, a stopped peer, the responder's handler) races
      // this: it rejects at the deadline, when the caller aborts, or when the link closes,
      // as the real transport's one deadline signal does (packages/transport-libp2p signals.ts).
      let fail: (error: MemoryTransportError) => void = () => undefined;
      const ended = new Promise<never>((_, reject) => {
        fail = reject;
      });
      ended.catch(() => undefined);
      const cancelDeadline = time.setTimer(options.timeoutMs, () =>
        fail(new MemoryTransportError('timeout', `request to ${peer} timed out`)),
      );
      const onAbort = (): void =>
        fail(new MemoryTransportError('aborted', 'aborted by the caller'));
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      const key = direction(this.peerId, peer);
      let open = openExchanges.get(key);
      if (open === undefined) {
        open = new Set();
        openExchanges.set(key, open);
      }
      open.add(fail);
      const runningOrExpired = (who: PeerId): Promise<void> =>
        paused.has(who) ? Promise.race([running(who), ended]) : Promise.resolve();
      const frames = this.exchangeWithin(
        peer,
        remote,
        protocol,
        frame,
        options,
        deadline,
        runningOrExpired,
      );
      let finished = false;
      try {
        for (;;) {
          const step = await Promise.race([frames.next(), ended]);
          if (step.done) {
            finished = true;
            return;
          }
          yield step.value;
        }
      } finally {
        cancelDeadline();
        options.signal?.removeEventListener('abort', onAbort);
        openExchanges.get(key)?.delete(fail);
        // Runs once the responder's pending step settles (at once if none): a stalled handler
        // is left waiting, as a real responder is after a reset.
        if (!finished) void frames.return(undefined).catch(() => undefined);
      }
    }

    private async *exchangeWithin(
      peer: PeerId,
      remote: MemoryTransport,
      protocol: string,
      frame: Uint8Array,
      options: RequestOptions,
      deadline: number,
      runningOrExpired: (who: PeerId) => Promise<void>,
    ): AsyncGenerator<Uint8Array> {
      const me = this.peerId;
      /** One hop `from` -> `to`: latency, then delivered, or a close, or (blackholed or
       *  filtered) nothing until the deadline. */
      const hop = (from: PeerId, to: PeerId, event: NetworkEvent | undefined): Promise<void> =>
        new Promise((resolve, reject) => {
          let cancel: () => void = () => undefined;
          const onAbort = (): void => {
            cancel();
            reject(new MemoryTransportError('aborted', 'aborted by the caller'));
          };
          const fail = (error: MemoryTransportError): void => {
            options.signal?.removeEventListener('abort', onAbort);
            reject(error);
          };
          const timeout = (): MemoryTransportError =>
            new MemoryTransportError('timeout', `request to ${peer} timed out`);
          const lost = event !== undefined && !passes(event);
          cancel = time.setTimer(latency(), () => {
            if (!connected(from, to)) {
              fail(new MemoryTransportError('closed', `connection to ${peer} closed`));
            } else if (time.nowMs() > deadline) {
              fail(timeout());
            } else if (lost || isBlocked(from, to)) {
              if (!lost) counters.blackholed++;
              // Nothing arrives: the requester learns only from its deadline (or a close).
              const watch = (): void => {
                if (!connected(from, to)) {
                  fail(new MemoryTransportError('closed', `connection to ${peer} closed`));
                } else if (time.nowMs() >= deadline) fail(timeout());
                else cancel = time.setTimer(Math.min(50, deadline - time.nowMs()), watch);
              };
              watch();
            } else {
              options.signal?.removeEventListener('abort', onAbort);
              resolve();
            }
          });
          options.signal?.addEventListener('abort', onAbort, { once: true });
        });
      sent(me, frame.length);
      await hop(me, peer, { kind: 'request', from: me, to: peer, channel: protocol, data: frame });
      received(peer, frame.length);
      await runningOrExpired(peer);
      if (!remote.running) throw new MemoryTransportError('closed', `${peer} is gone`);
      const handler = remote.handlers.get(protocol);
      if (!handler) throw new MemoryTransportError('remote', `${peer} does not handle ${protocol}`);
      let answer: Promise<Uint8Array> | AsyncIterable<Uint8Array>;
      try {
        answer = handler(frame, me);
      } catch (error) {
        throw new MemoryTransportError('remote', `handler failed: ${String(error)}`);
      }
      let frames = 0;
      const deliver = async (data: Uint8Array): Promise<Uint8Array> => {
        if (++frames > options.framesMax) {
          throw new MemoryTransportError('frames', `more than ${options.framesMax} frames`);
        }
        sent(peer, data.length);
        await hop(peer, me, { kind: 'response', from: peer, to: me, channel: protocol, data });
        received(me, data.length);
        await runningOrExpired(me);
        return data;
      };
      if (answer instanceof Promise) {
        let data: Uint8Array;
        try {
          data = await answer;
        } catch (error) {
          throw new MemoryTransportError('remote', `handler failed: ${String(error)}`);
        }
        yield await deliver(data);
        return;
      }
      const iterator = answer[Symbol.asyncIterator]();
      let finished = false;
      try {
        for (;;) {
          // A stopped responder produces nothing until it continues. A deadline or abort
          // meanwhile ends the exchange, not the responder's iterator: the finally below
          // still returns it (it was left suspended, and the anti-entropy responder's count
          // of sessions served never came down: swarm seed 9887, a node refusing every
          // session as overloaded after its peers' requests expired while it was stopped).
          await runningOrExpired(peer);
          let step: IteratorResult<Uint8Array>;
          try {
            step = await iterator.next();
          } catch (error) {
            // A throwing iterator is finished: no return() on it.
            finished = true;
            if (error instanceof MemoryTransportError) throw error;
            throw new MemoryTransportError('remote', `handler failed: ${String(error)}`);
          }
          if (step.done) {
            finished = true;
            return;
          }
          yield await deliver(step.value);
        }
      } finally {
        // The requester stopped reading (or the exchange failed): close the responder's
        // side too, as a reset stream would, so its cleanup runs.
        if (!finished) await iterator.return?.();
      }
    }

    async dial(address: string, options: { timeoutMs: number }): Promise<PeerId> {
      const name = address.startsWith(ADDRESS_PREFIX)
        ? address.slice(ADDRESS_PREFIX.length)
        : address;
      const peer = byAddress.get(name) ?? name;
      const remote = transports.get(peer);
      const deadline = time.nowMs() + options.timeoutMs;
      await new Promise<void>((resolve) =>
        time.setTimer(Math.min(latency(), options.timeoutMs), resolve),
      );
      if (
        !this.running ||
        !remote?.running ||
        peer === this.peerId ||
        isBlocked(this.peerId, peer) ||
        isBlocked(peer, this.peerId)
      ) {
        throw new MemoryTransportError('unreachable', `cannot reach ${address}`);
      }
      if (paused.has(peer) && !connected(this.peerId, peer)) {
        // The kernel accepts the connection, but the stopped process never finishes the
        // handshake: the dial runs into its deadline.
        await new Promise<void>((resolve) =>
          time.setTimer(Math.max(0, deadline - time.nowMs()), resolve),
        );
        throw new MemoryDialTimeoutError(`handshake with ${address} timed out`);
      }
      connect(this, remote);
      return peer;
    }

    async hangUp(peer: PeerId): Promise<void> {
      disconnect(this.peerId, peer);
    }

    connectedPeers(): PeerId[] {
      const peers = links.get(this.peerId);
      return peers === undefined ? [] : [...peers];
    }

    addListener(listener: TransportListener): void {
      this.listeners.push(listener);
    }

    notifyConnected(peer: PeerId): void {
      if (!this.running) return;
      for (const l of this.listeners) l.peerConnected?.(peer);
    }

    notifyDisconnected(peer: PeerId): void {
      if (!this.running) return;
      for (const l of this.listeners) l.peerDisconnected?.(peer);
    }
  }

  const network: MemoryNetwork = {
    createTransport(peerId, options) {
      if (transports.has(peerId)) throw new Error(`peer ${peerId} already exists`);
      const address = options?.address ?? peerId;
      const transport = new MemoryTransport(peerId, address);
      transports.set(peerId, transport);
      byAddress.set(address, peerId);
      return transport;
    },
    partition(...groups) {
      blocked.clear();
      const groupOf = new Map<PeerId, number>();
      groups.forEach((group, i) => {
        for (const peer of group) groupOf.set(peer, i);
      });
      for (const [a, ga] of groupOf) {
        for (const [b, gb] of groupOf) {
          if (ga !== gb) blocked.add(direction(addressOf(a), addressOf(b)));
        }
      }
      for (const [a, peers] of links) {
        for (const b of [...peers]) {
          if (isBlocked(a, b)) disconnect(a, b);
        }
      }
    },
    disconnect(a, b) {
      disconnect(a, b);
    },
    cutOneWay(from, to) {
      for (const a of from) {
        for (const b of to) if (a !== b) blocked.add(direction(addressOf(a), addressOf(b)));
      }
    },
    heal() {
      blocked.clear();
    },
    setFaults(faults) {
      lossRate = faults.gossipLossRate ?? lossRate;
      duplicateRate = faults.gossipDuplicateRate ?? duplicateRate;
      latencyMin = faults.latencyMsMin ?? latencyMin;
      latencyMax = Math.max(latencyMin, faults.latencyMsMax ?? latencyMax);
    },
    setFilter(next) {
      filter = next;
    },
    crash(peerId) {
      const transport = transports.get(peerId);
      if (!transport) return;
      transport.running = false;
      paused.delete(peerId);
      for (const peer of transport.connectedPeers()) disconnect(peerId, peer);
    },
    pause(peerId) {
      if (!paused.has(peerId)) paused.set(peerId, []);
    },
    resume(peerId, order = 'arrival') {
      const queue = paused.get(peerId);
      if (!queue) return;
      paused.delete(peerId);
      // Each queued delivery becomes its own timer, in order, so a handler that throws or
      // awaits does not change what the next one sees.
      const ordered =
        order === 'timers-first'
          ? [...queue.filter((q) => q.work === 'timer'), ...queue.filter((q) => q.work === 'io')]
          : queue;
      for (const { action } of ordered) time.setTimer(0, action);
    },
    isPaused: (peerId) => paused.has(peerId),
    whenRunning,
    reachable: (from, to) => connected(from, to) && !isBlocked(from, to),
    stats: () => ({ ...counters }),
    traffic: (peerId) => ({ ...trafficOf(peerId) }),
    mesh: (peerId) => meshOf(peerId),
  };
  return network;
}
