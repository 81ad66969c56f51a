/**
 * A simulated network for the node logic: in-memory transports on virtual time, with seeded
 * latency, loss, duplication and partitions. It mirrors what the real transport promises
 * (packages/core/src/transport.ts): gossip is best-effort with duplicate suppression and
 * hop-by-hop forwarding of accepted messages; requests are reliable streams that fail when
 * the connection drops or the deadline passes.
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
}

export class MemoryTransportError extends Error {
  constructor(
    readonly code: 'unreachable' | 'timeout' | 'closed' | 'remote' | 'frames',
    message: string,
  ) {
    super(message);
    this.name = 'MemoryTransportError';
  }
}

export interface MemoryNetwork {
  createTransport(peerId: PeerId): Transport;
  /** Cuts every link between the groups (existing connections drop, dials fail). */
  partition(...groups: PeerId[][]): void;
  heal(): void;
  /** Sets fault rates for the rest of the run. */
  setFaults(faults: { gossipLossRate?: number; gossipDuplicateRate?: number }): void;
  /** Kills a peer: its connections drop at once, nothing it had queued is delivered. */
  crash(peerId: PeerId): void;
  stats(): { gossipSent: number; gossipLost: number; gossipDuplicated: number; requests: number };
}

const ADDRESS_PREFIX = 'memory/';

export function createMemoryNetwork(init: MemoryNetworkInit): MemoryNetwork {
  const { time, random } = init;
  const latencyMin = init.latencyMsMin ?? 1;
  const latencyMax = init.latencyMsMax ?? 5;
  const seenTtlMs = init.seenTtlMs ?? 120_000;
  let lossRate = init.gossipLossRate ?? 0;
  let duplicateRate = init.gossipDuplicateRate ?? 0;
  const counters = { gossipSent: 0, gossipLost: 0, gossipDuplicated: 0, requests: 0 };

  const transports = new Map<PeerId, MemoryTransport>();
  /** Links are symmetric; the key is the sorted pair. */
  const links = new Set<string>();
  let blocked: PeerId[][] = [];

  const linkKey = (a: PeerId, b: PeerId): string => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  const latency = (): number => latencyMin + random.int(latencyMax - latencyMin + 1);
  const isBlocked = (a: PeerId, b: PeerId): boolean =>
    blocked.some((group) => group.includes(a) !== group.includes(b));
  const connected = (a: PeerId, b: PeerId): boolean => links.has(linkKey(a, b));

  function connect(a: MemoryTransport, b: MemoryTransport): void {
    const key = linkKey(a.peerId, b.peerId);
    if (links.has(key)) return;
    links.add(key);
    a.notifyConnected(b.peerId);
    b.notifyConnected(a.peerId);
  }

  function disconnect(a: PeerId, b: PeerId): void {
    const key = linkKey(a, b);
    if (!links.delete(key)) return;
    transports.get(a)?.notifyDisconnected(b);
    transports.get(b)?.notifyDisconnected(a);
  }

  class MemoryTransport implements Transport {
    running = false;
    private readonly listeners: TransportListener[] = [];
    private readonly topics = new Map<string, (message: GossipMessage) => GossipVerdict>();
    private readonly handlers = new Map<string, RequestHandler>();
    /** Gossip ids seen, with the virtual time they expire. */
    private readonly seen = new Map<string, number>();
    private publishSeq = 0;

    constructor(readonly peerId: PeerId) {}

    async start(): Promise<void> {
      this.running = true;
    }

    async stop(): Promise<void> {
      this.running = false;
      for (const peer of this.connectedPeers()) disconnect(this.peerId, peer);
    }

    listenAddresses(): string[] {
      return [`${ADDRESS_PREFIX}${this.peerId}`];
    }

    subscribe(topic: string, handler: (message: GossipMessage) => GossipVerdict): void {
      this.topics.set(topic, handler);
    }

    async publish(topic: string, data: Uint8Array): Promise<{ recipients: number }> {
      if (!this.running) throw new MemoryTransportError('closed', 'transport stopped');
      const id = `${this.peerId}:${this.publishSeq++}`;
      this.markSeen(id);
      return { recipients: this.forward(topic, id, this.peerId, data, undefined) };
    }

    /** Sends one gossip hop to every connected subscriber except `except`. */
    forward(topic: string, id: string, origin: PeerId, data: Uint8Array, except?: PeerId): number {
      let recipients = 0;
      for (const peer of this.connectedPeers()) {
        if (peer === except) continue;
        const target = transports.get(peer);
        if (!target?.topics.has(topic)) continue;
        recipients++;
        counters.gossipSent++;
        if (random.chance(lossRate)) {
          counters.gossipLost++;
          continue;
        }
        const copies = random.chance(duplicateRate) ? 2 : 1;
        if (copies === 2) counters.gossipDuplicated++;
        for (let i = 0; i < copies; i++) {
          time.setTimer(latency(), () => {
            if (connected(this.peerId, peer)) target.receive(topic, id, origin, this.peerId, data);
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
      if (verdict === 'accept') this.forward(topic, id, origin, data, from);
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
      const wait = (): Promise<void> =>
        new Promise((resolve, reject) => {
          const onAbort = (): void => {
            cancel();
            reject(new MemoryTransportError('timeout', 'aborted'));
          };
          const cancel = time.setTimer(latency(), () => {
            options.signal?.removeEventListener('abort', onAbort);
            if (!connected(this.peerId, peer)) {
              reject(new MemoryTransportError('closed', `connection to ${peer} closed`));
            } else if (time.nowMs() > deadline) {
              reject(new MemoryTransportError('timeout', `request to ${peer} timed out`));
            } else resolve();
          });
          options.signal?.addEventListener('abort', onAbort, { once: true });
        });
      await wait();
      const handler = remote.handlers.get(protocol);
      if (!handler) throw new MemoryTransportError('remote', `${peer} does not handle ${protocol}`);
      let answer: Promise<Uint8Array> | AsyncIterable<Uint8Array>;
      try {
        answer = handler(frame, this.peerId);
      } catch (error) {
        throw new MemoryTransportError('remote', `handler failed: ${String(error)}`);
      }
      let frames = 0;
      const deliver = async (data: Uint8Array): Promise<Uint8Array> => {
        if (++frames > options.framesMax) {
          throw new MemoryTransportError('frames', `more than ${options.framesMax} frames`);
        }
        await wait();
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
          let step: IteratorResult<Uint8Array>;
          try {
            step = await iterator.next();
          } catch (error) {
            finished = true;
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

    async dial(address: string, _options: { timeoutMs: number }): Promise<PeerId> {
      const peer = address.startsWith(ADDRESS_PREFIX)
        ? address.slice(ADDRESS_PREFIX.length)
        : address;
      const remote = transports.get(peer);
      await new Promise<void>((resolve) => time.setTimer(latency(), resolve));
      if (
        !this.running ||
        !remote?.running ||
        isBlocked(this.peerId, peer) ||
        peer === this.peerId
      ) {
        throw new MemoryTransportError('unreachable', `cannot reach ${address}`);
      }
      connect(this, remote);
      return peer;
    }

    async hangUp(peer: PeerId): Promise<void> {
      disconnect(this.peerId, peer);
    }

    connectedPeers(): PeerId[] {
      const peers: PeerId[] = [];
      for (const other of transports.keys()) {
        if (other !== this.peerId && connected(this.peerId, other)) peers.push(other);
      }
      return peers;
    }

    addListener(listener: TransportListener): void {
      this.listeners.push(listener);
    }

    notifyConnected(peer: PeerId): void {
      for (const l of this.listeners) l.peerConnected?.(peer);
    }

    notifyDisconnected(peer: PeerId): void {
      for (const l of this.listeners) l.peerDisconnected?.(peer);
    }
  }

  return {
    createTransport(peerId) {
      if (transports.has(peerId)) throw new Error(`peer ${peerId} already exists`);
      const transport = new MemoryTransport(peerId);
      transports.set(peerId, transport);
      return transport;
    },
    partition(...groups) {
      blocked = groups.map((g) => [...g]);
      for (const key of [...links]) {
        const [a, b] = key.split('\n') as [PeerId, PeerId];
        if (isBlocked(a, b)) disconnect(a, b);
      }
    },
    heal() {
      blocked = [];
    },
    setFaults(faults) {
      lossRate = faults.gossipLossRate ?? lossRate;
      duplicateRate = faults.gossipDuplicateRate ?? duplicateRate;
    },
    crash(peerId) {
      const transport = transports.get(peerId);
      if (!transport) return;
      transport.running = false;
      for (const peer of transport.connectedPeers()) disconnect(peerId, peer);
    },
    stats: () => ({ ...counters }),
  };
}
