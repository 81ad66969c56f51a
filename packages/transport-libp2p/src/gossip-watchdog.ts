/**
 * Gossipsub never reopens a peer's gossip streams while the connection lives: an outbound
 * stream aborted by `gossipOutboundBufferBytesMax`, or an inbound one that failed to decode,
 * leaves a connected peer that silently gets no gossip (PLATFORM.md: "the application must
 * redial members itself"). This watchdog hangs such a connection up, so the peer is reported
 * disconnected, membership redials it, and the new connection gets fresh streams.
 */
import type { Libp2p } from '@libp2p/interface';
import type { Libp2pTransportMetrics } from './metrics.js';
import type { Services } from './node-options.js';

/** Heartbeats a connected peer may lack a working gossip link before it is hung up. A new
 *  connection has its streams within milliseconds (after identify); 5 heartbeats (5 s at the
 *  default interval) leave room for an overloaded node. */
export const GOSSIP_LINK_GRACE_HEARTBEATS = 5;

interface GossipInternals {
  streamsOutbound?: Map<string, unknown>;
}

/** Starts the watchdog on the node's gossipsub heartbeat. Returns a function that stops it. */
export function watchGossipLinks(
  node: Libp2p<Services>,
  metrics: Libp2pTransportMetrics,
): () => void {
  const pubsub = node.services.pubsub;
  /** Consecutive heartbeats each connected peer (by peer id) has had no working link. */
  const strikes = new Map<string, number>();
  const onHeartbeat = () => {
    const outbound = (pubsub as unknown as GossipInternals).streamsOutbound;
    if (!(outbound instanceof Map)) return; // library internals changed: do nothing
    const gossipPeers = new Set(pubsub.getPeers().map(String));
    const connected = new Set<string>();
    for (const peer of node.getPeers()) {
      const id = peer.toString();
      connected.add(id);
      if (gossipPeers.has(id) && outbound.has(id)) {
        strikes.delete(id);
        continue;
      }
      const count = (strikes.get(id) ?? 0) + 1;
      if (count < GOSSIP_LINK_GRACE_HEARTBEATS) {
        strikes.set(id, count);
        continue;
      }
      strikes.delete(id);
      metrics.gossipLinksReset++;
      node.hangUp(peer).catch(() => {
        // Already closing or closed: nothing left to do.
      });
    }
    for (const id of strikes.keys()) if (!connected.has(id)) strikes.delete(id);
  };
  pubsub.addEventListener('gossipsub:heartbeat', onHeartbeat);
  return () => pubsub.removeEventListener('gossipsub:heartbeat', onHeartbeat);
}
