/**
 * `createLibp2pTransport`: the real `Transport` (packages/core/src/transport.ts) on libp2p 3.
 * This file holds the lifecycle and the wiring; the leaves are gossip.ts, request.ts,
 * respond.ts, node-options.ts.
 */

import { setMaxListeners } from 'node:events';
import type { Libp2p, PeerId as Libp2pPeerId, Listener } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type {
  GossipMessage,
  GossipVerdict,
  PeerId,
  RequestHandler,
  RequestOptions,
  Transport,
  TransportListener,
} from '@roomring/core';
import { P2P_ADDRS_MAX } from '@roomring/protocol';
import { createLibp2p } from 'libp2p';
import { parseDialAddress, routableFirst } from './address.js';
import {
  DialTimeoutError,
  InvalidConfigError,
  MessageTooLargeError,
  PeerUnreachableError,
  TimeoutError,
  TransportStoppedError,
} from './errors.js';
import { type GossipHandler, toValidator } from './gossip.js';
import { forwardOnly } from './gossip-forwarding.js';
import { watchGossipLinks } from './gossip-watchdog.js';
import { loadIdentity } from './identity.js';
import { type Libp2pTransportConfig, type Libp2pTransportInit, resolveConfig } from './init.js';
import { emptyMetrics, type Libp2pTransportMetrics } from './metrics.js';
import { nodeOptions, type Services } from './node-options.js';
import {
  PIPELINED_SUFFIX,
  PipelinedRequester,
  SESSIONS_PER_CONNECTION_MAX,
  servePipelined,
} from './pipelined.js';
import { parsePeerId, type RequestContext, runRequest, validateOptions } from './request.js';
import { type ResponderContext, serveStream } from './respond.js';

/** libp2p's own per-connection inbound stream limit sits this far above ours, so that our
 *  busy answer (a typed `PeerBusyError` for the requester) comes before libp2p's bare reset. */
const BUSY_ANSWER_HEADROOM_STREAMS = 8;

export interface WaitForTopicPeersOptions {
  timeoutMs: number;
  /** Count mesh peers (forwarding paths) instead of known subscribers. @default false */
  mesh?: boolean;
}

/** The `Transport` plus what operators and tests need to observe it. */
export interface Libp2pTransport extends Transport {
  /** Peers known to subscribe to `topic` that this node can send to now (their subscription
   *  arrived and our outbound gossip stream to them is open): who a publish would reach. */
  topicPeers(topic: string): PeerId[];
  /** Peers in this node's gossipsub mesh for `topic`. */
  meshPeers(topic: string): PeerId[];
  /** Resolves once `topicPeers` (or, with `mesh`, the mesh peers it can send to) has at least
   *  `count` entries; wakes on
   *  gossipsub's subscription, graft and heartbeat events and every 20 ms. Rejects with
   *  `TimeoutError` after `timeoutMs`, `TransportStoppedError` on stop. */
  waitForTopicPeers(topic: string, count: number, options: WaitForTopicPeersOptions): Promise<void>;
  /** A snapshot of the counters and gauges. */
  metrics(): Libp2pTransportMetrics;
  /** Refuses every connection to and from these peers (replacing the previous set) and
   *  hangs up the ones open now: a network partition on demand, for tests and for
   *  operators fencing off a misbehaving node. An empty list lifts it. */
  setBlockedPeers(peers: readonly PeerId[]): Promise<void>;
}

interface Running {
  readonly node: Libp2p<Services>;
  /** The transport listeners, whose addresses are read on every `listenAddresses()` call: a
   *  wildcard listener's follow the interfaces as they come and go. */
  readonly listeners: ReadonlySet<Listener>;
  readonly stop: AbortController;
  readonly stopWatchdog: () => void;
  readonly requestContext: RequestContext;
  readonly responderContext: ResponderContext;
  readonly pipelined: PipelinedRequester;
}

/** gossipsub 17 internals read for observability only (not in its typed interface): the mesh,
 *  and the outbound RPC streams, without which a known subscriber cannot be sent anything. */
interface GossipInternals {
  getMeshPeers?(topic: string): string[];
  streamsOutbound?: Map<string, unknown>;
}

const WAKE_EVENTS = ['subscription-change', 'gossipsub:graft', 'gossipsub:heartbeat'] as const;
/** Outbound gossip streams open without an event; `waitForTopicPeers` also re-checks this
 *  often (cheap: a few Map lookups). */
const TOPIC_PEERS_POLL_MS = 20;

class Libp2pTransportImpl implements Libp2pTransport {
  readonly peerId: PeerId;
  private readonly privateKey;
  private readonly gossipHandlers = new Map<string, GossipHandler>();
  /** Topics whose accepted messages are not forwarded (setGossipForwarding); at most one
   *  entry per subscribed topic. */
  private readonly unforwarded = new Set<string>();
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly registeredProtocols = new Set<string>();
  private readonly listeners: TransportListener[] = [];
  private readonly counters = emptyMetrics();
  private running: Running | undefined;
  /** Peers refused in both directions (setBlockedPeers). */
  private blocked: ReadonlySet<string> = new Set();
  /** start() and stop() run one at a time, in call order. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(private readonly config: Libp2pTransportConfig) {
    this.privateKey = loadIdentity(config.privateKey, config.identitySeed);
    this.peerId = peerIdFromPrivateKey(this.privateKey).toString();
  }

  start(): Promise<void> {
    this.lifecycle = this.lifecycle.then(
      () => this.doStart(),
      () => this.doStart(),
    );
    return this.lifecycle;
  }

  stop(): Promise<void> {
    this.lifecycle = this.lifecycle.then(
      () => this.doStop(),
      () => this.doStop(),
    );
    return this.lifecycle;
  }

  private async doStart(): Promise<void> {
    if (this.running !== undefined) return;
    const node = await createLibp2p<Services>(
      nodeOptions(
        this.config,
        this.privateKey,
        (peer) => this.blocked.has(peer),
        () => {
          this.counters.gossipReceived++;
        },
      ),
    );
    // The per-topic forwarding switch (gossip-forwarding.ts); a library without the method it
    // wraps forwards everything, which the gossip tests catch.
    forwardOnly(node, this.unforwarded);
    const listeners = new Set<Listener>();
    node.addEventListener('transport:listening', (event) => listeners.add(event.detail));
    node.addEventListener('transport:close', (event) => listeners.delete(event.detail));
    const stop = new AbortController();
    // One listener per pending request and per active response, both bounded
    // (requestsPendingMax, inboundStreamsPerProtocolMax per protocol): not a leak.
    setMaxListeners(Number.POSITIVE_INFINITY, stop.signal);
    const requestContext: RequestContext = {
      node,
      frameBytesMax: this.config.frameBytesMax,
      requestsPendingMax: this.config.requestsPendingMax,
      streamWindowBytesMax: this.config.streamWindowBytesMax,
      metrics: this.counters,
      stopSignal: stop.signal,
    };
    const running: Running = {
      node,
      listeners,
      stop,
      stopWatchdog: watchGossipLinks(node, this.counters),
      requestContext,
      pipelined: new PipelinedRequester(requestContext),
      responderContext: {
        frameBytesMax: this.config.frameBytesMax,
        inboundStreamsPerProtocolMax: this.config.inboundStreamsPerProtocolMax,
        inboundStreamsPerPeerMax: this.config.inboundStreamsPerPeerMax,
        requestReadTimeoutMs: this.config.requestReadTimeoutMs,
        streamWindowBytesMax: this.config.streamWindowBytesMax,
        streamIdleTimeoutMs: this.config.streamIdleTimeoutMs,
        metrics: this.counters,
        stopSignal: stop.signal,
        active: new Map(),
        activeByPeer: new Map(),
      },
    };
    node.addEventListener('peer:connect', (event) => this.notify('peerConnected', event.detail));
    node.addEventListener('peer:disconnect', (event) =>
      this.notify('peerDisconnected', event.detail),
    );
    this.registeredProtocols.clear();
    // Handlers go in before the node listens, so the first inbound stream finds them.
    for (const protocol of this.requestHandlers.keys()) this.register(running, protocol);
    for (const [topic, handler] of this.gossipHandlers) this.installValidator(node, topic, handler);
    try {
      await node.start();
      // Again after start: handle()/subscribe() calls made while the node was starting were
      // only recorded. Registration is idempotent; gossipsub can only subscribe once started.
      for (const protocol of this.requestHandlers.keys()) this.register(running, protocol);
      for (const [topic, handler] of this.gossipHandlers) {
        this.installValidator(node, topic, handler);
        node.services.pubsub.subscribe(topic);
      }
    } catch (error) {
      stop.abort(new TransportStoppedError('start failed'));
      running.stopWatchdog();
      await Promise.resolve(node.stop()).catch(() => {});
      throw error;
    }
    this.running = running;
  }

  private async doStop(): Promise<void> {
    const running = this.running;
    if (running === undefined) return;
    this.running = undefined;
    // Pending requests and responses reject with this reason at once.
    running.stop.abort(new TransportStoppedError('transport stopped'));
    running.stopWatchdog();
    await running.node.stop();
  }

  private current(): Running {
    if (this.running === undefined) throw new TransportStoppedError('transport is not started');
    return this.running;
  }

  private notify(event: 'peerConnected' | 'peerDisconnected', peer: Libp2pPeerId): void {
    const id = peer.toString();
    for (const listener of this.listeners) {
      try {
        listener[event]?.(id);
      } catch {
        this.counters.listenerErrors++;
      }
    }
  }

  /** The advertised addresses if configured, else the listen addresses with routable ones
   *  first and loopback only when there is no other (`routableFirst`), each with our peer id.
   *  Not libp2p's `getMultiaddrs()`: it leaves out a public interface address until AutoNAT
   *  (which we do not run) has confirmed it, so a node with a public IP would advertise only
   *  its loopback. At most P2P_ADDRS_MAX, the most a heartbeat carries. */
  listenAddresses(): string[] {
    const running = this.running;
    if (running === undefined) return [];
    const addresses =
      this.config.advertiseAddresses.length > 0
        ? this.config.advertiseAddresses.map((address) => multiaddr(address))
        : routableFirst(
            [...running.listeners].flatMap((listener) => listener.getAddrs()),
            P2P_ADDRS_MAX,
          );
    return addresses.map((address) => `${address.toString()}/p2p/${this.peerId}`);
  }

  // -- gossip -------------------------------------------------------------------------------

  subscribe(topic: string, handler: (message: GossipMessage) => GossipVerdict): void {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new InvalidConfigError('topic must be a non-empty string');
    }
    if (typeof handler !== 'function') throw new InvalidConfigError('handler must be a function');
    this.gossipHandlers.set(topic, handler);
    const running = this.running;
    if (running === undefined) return; // installed by start()
    this.installValidator(running.node, topic, handler);
    running.node.services.pubsub.subscribe(topic);
  }

  private installValidator(node: Libp2p<Services>, topic: string, handler: GossipHandler): void {
    node.services.pubsub.topicValidators.set(
      topic,
      toValidator(topic, handler, {
        gossipMessageBytesMax: this.config.gossipMessageBytesMax,
        metrics: this.counters,
      }),
    );
  }

  async publish(topic: string, data: Uint8Array): Promise<{ recipients: number }> {
    const running = this.current();
    if (data.byteLength > this.config.gossipMessageBytesMax) {
      throw new MessageTooLargeError(
        `gossip message of ${data.byteLength} B > gossipMessageBytesMax ${this.config.gossipMessageBytesMax}`,
      );
    }
    const result = await running.node.services.pubsub.publish(topic, data);
    this.counters.gossipPublished++;
    return { recipients: result.recipients.length };
  }

  setGossipForwarding(topic: string, forward: boolean): void {
    if (typeof topic !== 'string' || topic.length === 0) {
      throw new InvalidConfigError('topic must be a non-empty string');
    }
    if (forward) this.unforwarded.delete(topic);
    else this.unforwarded.add(topic);
  }

  topicPeers(topic: string): PeerId[] {
    const pubsub = this.running?.node.services.pubsub;
    return pubsub === undefined ? [] : this.sendable(pubsub.getSubscribers(topic).map(String));
  }

  /** The peers among `peers` with an open outbound gossip stream. */
  private sendable(peers: PeerId[]): PeerId[] {
    const pubsub = this.running?.node.services.pubsub as unknown as GossipInternals | undefined;
    const outbound = pubsub?.streamsOutbound;
    return outbound instanceof Map ? peers.filter((peer) => outbound.has(peer)) : peers;
  }

  meshPeers(topic: string): PeerId[] {
    const pubsub = this.running?.node.services.pubsub as unknown as GossipInternals | undefined;
    return pubsub?.getMeshPeers?.(topic) ?? [];
  }

  waitForTopicPeers(
    topic: string,
    count: number,
    options: WaitForTopicPeersOptions,
  ): Promise<void> {
    const running = this.current();
    const enough = () =>
      (options.mesh === true ? this.sendable(this.meshPeers(topic)) : this.topicPeers(topic))
        .length >= count;
    if (enough()) return Promise.resolve();
    const pubsub = running.node.services.pubsub;
    return new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        clearTimeout(timer);
        clearInterval(poll);
        for (const event of WAKE_EVENTS) pubsub.removeEventListener(event, onEvent);
        running.stop.signal.removeEventListener('abort', onStop);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onEvent = () => {
        if (enough()) finish();
      };
      const onStop = () => finish(new TransportStoppedError('transport stopped'));
      const timer = setTimeout(
        () =>
          finish(
            new TimeoutError(`fewer than ${count} peers on ${topic} after ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
      const poll = setInterval(onEvent, TOPIC_PEERS_POLL_MS);
      for (const event of WAKE_EVENTS) pubsub.addEventListener(event, onEvent);
      running.stop.signal.addEventListener('abort', onStop, { once: true });
    });
  }

  // -- request/response ---------------------------------------------------------------------

  handle(protocol: string, handler: RequestHandler): void {
    if (typeof protocol !== 'string' || !protocol.startsWith('/')) {
      throw new InvalidConfigError(`protocol must start with '/', got ${protocol}`);
    }
    if (typeof handler !== 'function') throw new InvalidConfigError('handler must be a function');
    this.requestHandlers.set(protocol, handler);
    if (this.running !== undefined) this.register(this.running, protocol);
  }

  /** Registers the libp2p stream handler once per protocol; it looks the application handler
   *  up per stream, so a later `handle()` for the same protocol replaces it. */
  private register(running: Running, protocol: string): void {
    if (this.registeredProtocols.has(protocol)) return;
    this.registeredProtocols.add(protocol);
    const options = {
      maxInboundStreams: this.config.inboundStreamsPerProtocolMax + BUSY_ANSWER_HEADROOM_STREAMS,
      // libp2p counts outbound streams per connection and protocol; ours are bounded by
      // requestsPendingMax already.
      maxOutboundStreams: this.config.requestsPendingMax,
    };
    // The registrar stores the handler synchronously; the promise only updates the peer store.
    running.node
      .handle(
        protocol,
        (stream, connection) => {
          const handler = this.requestHandlers.get(protocol);
          if (handler === undefined) {
            stream.abort(new Error(`no handler for ${protocol}`));
            return;
          }
          void serveStream(stream, connection, protocol, handler, running.responderContext);
        },
        options,
      )
      .catch(() => {
        this.registeredProtocols.delete(protocol);
      });
    // The pipelined variant of the same protocol (pipelined.ts): one long-lived stream per
    // requester, each request on it counted against the same limits as a stream.
    running.node
      .handle(
        protocol + PIPELINED_SUFFIX,
        (stream, connection) => {
          servePipelined(
            stream,
            connection,
            protocol,
            () => this.requestHandlers.get(protocol),
            running.responderContext,
          );
        },
        {
          maxInboundStreams: SESSIONS_PER_CONNECTION_MAX,
          maxOutboundStreams: SESSIONS_PER_CONNECTION_MAX,
        },
      )
      .catch(() => {
        this.registeredProtocols.delete(protocol);
      });
  }

  request(
    peer: PeerId,
    protocol: string,
    frame: Uint8Array,
    options: RequestOptions,
  ): AsyncIterable<Uint8Array> {
    if (options.pipelined === true) return this.pipelinedRequest(peer, protocol, frame, options);
    return runRequest(() => this.current().requestContext, peer, protocol, frame, options);
  }

  private async *pipelinedRequest(
    peer: PeerId,
    protocol: string,
    frame: Uint8Array,
    options: RequestOptions,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const running = this.current();
    validateOptions(options);
    yield await running.pipelined.request(peer, protocol, frame, options.timeoutMs, options.signal);
  }

  // -- connections --------------------------------------------------------------------------

  /** Resolves with the peer at `address`; with this node's own peer id, without a
   *  connection, when the address leads back to this node (libp2p sees it before dialling
   *  for a multiaddr with our id, after the handshake for `host:port`), so a seed list that
   *  names this node is recognised instead of failing on every try. A dial that runs into
   *  `timeoutMs` rejects with DialTimeoutError (a stopped process takes the connection but
   *  never finishes the handshake), any other failure with PeerUnreachableError. */
  async dial(address: string, options: { timeoutMs: number }): Promise<PeerId> {
    const running = this.current();
    const target = parseDialAddress(address);
    if (!(Number.isFinite(options.timeoutMs) && options.timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be a positive number, got ${options.timeoutMs}`);
    }
    const signal = AbortSignal.any([AbortSignal.timeout(options.timeoutMs), running.stop.signal]);
    try {
      const connection = await running.node.dial(target, { signal });
      return connection.remotePeer.toString();
    } catch (error) {
      if (running.stop.signal.aborted) throw running.stop.signal.reason;
      if (isSelfDial(error)) return this.peerId;
      if (signal.aborted) {
        const why = `timed out after ${options.timeoutMs} ms`;
        throw new DialTimeoutError(`cannot dial ${address}: ${why}`, { cause: error });
      }
      throw new PeerUnreachableError(`cannot dial ${address}: ${String(error)}`, { cause: error });
    }
  }

  async setBlockedPeers(peers: readonly PeerId[]): Promise<void> {
    this.blocked = new Set(peers);
    const running = this.running;
    if (!running) return;
    await Promise.all(
      running.node
        .getPeers()
        .filter((peer) => this.blocked.has(peer.toString()))
        .map((peer) => running.node.hangUp(peer).catch(() => undefined)),
    );
  }

  async hangUp(peer: PeerId): Promise<void> {
    const running = this.current();
    await running.node.hangUp(parsePeerId(peer));
  }

  connectedPeers(): PeerId[] {
    return this.running?.node.getPeers().map(String) ?? [];
  }

  addListener(listener: TransportListener): void {
    this.listeners.push(listener);
  }

  metrics(): Libp2pTransportMetrics {
    return { ...this.counters, peersConnected: this.connectedPeers().length };
  }
}

/** libp2p refuses a dial that reaches this node with `InvalidPeerIdError('Can not dial
 *  self')` (connection manager and upgrader alike); it has no error class of its own. */
function isSelfDial(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'InvalidPeerIdError' &&
    /can ?not dial self/i.test(error.message)
  );
}

/**
 * Creates the transport. Synchronous: the identity is loaded (or generated) now, so `peerId`
 * is known before `start()`. Throws `InvalidConfigError` for invalid options.
 */
export function createLibp2pTransport(init: Libp2pTransportInit): Libp2pTransport {
  return new Libp2pTransportImpl(resolveConfig(init));
}
