/**
 * What the node's logic needs from a network, and nothing more (DESIGN.md section 3).
 * Implementations: `@roomring/transport-libp2p` (real: libp2p TCP + noise + yamux +
 * gossipsub) and the in-memory transport used by the simulator and fast tests.
 *
 * Peers are named by an opaque `PeerId` string (a libp2p peer id for the real transport).
 * Mapping peers to cluster node ids is the membership protocol's job, not the transport's.
 */
export type PeerId = string;

/** What a gossip handler tells the gossip layer: forward it, drop it silently, or drop it and
 *  count it against the sender (malformed, forged, oversized). */
export type GossipVerdict = 'accept' | 'ignore' | 'reject';

export interface GossipMessage {
  topic: string;
  /** The peer that published it (signed by the real transport). */
  origin: PeerId;
  /** The neighbour that handed it to us (differs from origin when it was forwarded). */
  propagationSource: PeerId;
  data: Uint8Array;
}

/** Answers one request frame with one or more response frames. An async iterable lets the
 *  responder stream bounded frames (sync) with back-pressure; each frame is at most the
 *  transport's `frameBytesMax`. Throwing ends the stream with an error on the requester. */
export type RequestHandler = (
  request: Uint8Array,
  from: PeerId,
) => Promise<Uint8Array> | AsyncIterable<Uint8Array>;

export interface RequestOptions {
  /** The whole exchange (dial + request + every response frame) must finish within this. */
  timeoutMs: number;
  /** Responses past this many frames abort the exchange with an error. */
  framesMax: number;
  signal?: AbortSignal;
  /** The answer is one frame (the handler returns a Promise) and the request may share a
   *  long-lived stream with other pipelined requests to the same peer and protocol, instead
   *  of opening one of its own. Same outcomes and errors either way; a transport without
   *  streams ignores it. For frequent small requests (durable-write acknowledgements). */
  pipelined?: boolean;
}

export interface TransportListener {
  peerConnected?(peer: PeerId): void;
  peerDisconnected?(peer: PeerId): void;
}

export interface Transport {
  readonly peerId: PeerId;
  start(): Promise<void>;
  /** Closes every connection and stops listening; pending requests reject. */
  stop(): Promise<void>;
  /** Addresses other nodes can dial, as strings the same transport's `dial` accepts. */
  listenAddresses(): string[];

  /** Joins a topic. The handler validates and consumes each message exactly once (after the
   *  gossip layer's own duplicate suppression); its verdict decides forwarding. */
  subscribe(topic: string, handler: (message: GossipMessage) => GossipVerdict): void;
  /** Publishes to every subscribed peer. Resolves with how many peers it was sent to; never
   *  throws because no peer is subscribed yet. */
  publish(topic: string, data: Uint8Array): Promise<{ recipients: number }>;
  /**
   * Whether accepted messages of `topic` are forwarded to gossip mesh peers (the default) or
   * only delivered. Publishing always goes straight to every connected subscriber; with
   * forwarding off, a subscriber whose direct copy was lost (or that is not connected to the
   * publisher) gets it from anti-entropy, or from gossip's lazy repair if it is outside a
   * holder's mesh. A small cluster, where every member is connected to every other, turns it
   * off for room batches: each forward there is a copy the peer already has.
   */
  setGossipForwarding(topic: string, forward: boolean): void;

  handle(protocol: string, handler: RequestHandler): void;
  /**
   * Opens a stream, sends one frame, yields the response frames until the responder ends.
   * Fails (never silently loses a frame) at `timeoutMs`, on abort, when the connection closes
   * or the transport stops. To a peer it is not connected to, a transport may dial a known
   * address first (libp2p does) or fail as unreachable (the memory network does). The node
   * picks connected peers for its requests (an operator's syncWith may name any member), so
   * the two differ only when a connection closes just before a request
   * (docs/architecture.md, "Transports").
   */
  request(
    peer: PeerId,
    protocol: string,
    frame: Uint8Array,
    options: RequestOptions,
  ): AsyncIterable<Uint8Array>;

  /** Dials `host:port` (or the transport's own address form); resolves with the peer. An
   *  address that leads back to this node resolves with this node's own `peerId` and opens
   *  no connection (a transport that cannot tell may reject instead). A dial that runs into
   *  `timeoutMs` rejects with a `DialTimeoutError` (matched by `name`, see below); any other
   *  rejection means the address answered that the peer is not there. */
  dial(address: string, options: { timeoutMs: number }): Promise<PeerId>;
  hangUp(peer: PeerId): Promise<void>;
  connectedPeers(): PeerId[];
  addListener(listener: TransportListener): void;
}

/**
 * The rejection of a `dial` that ran into its `timeoutMs` without a definite answer: the
 * address took the connection but the handshake never finished (a stopped or overloaded
 * process, a long GC pause), or nothing answered at all. Weak evidence that the peer is gone,
 * unlike a refused dial (nothing listens there: a killed process), so the failure detector
 * keeps such a member suspect instead of declaring it dead (docs/protocol/membership.md,
 * "Probes"). Transports may reject with their own error class as long as its `name` is
 * `DialTimeoutError` (the real transport keeps its `TransportError` hierarchy); callers
 * match with `isDialTimeout`.
 */
export class DialTimeoutError extends Error {
  override readonly name = 'DialTimeoutError';
}

/** Whether a dial's rejection says it ran into its deadline (`DialTimeoutError`, by name). */
export function isDialTimeout(error: unknown): boolean {
  return error instanceof Error && error.name === 'DialTimeoutError';
}
