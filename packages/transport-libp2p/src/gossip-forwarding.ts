/**
 * Per-topic forwarding switch (Transport.setGossipForwarding). Gossipsub has no option to
 * deliver a topic's messages without forwarding them to mesh peers; its forwarding asks
 * `selectPeersToForward(topic, ...)` for the peers, so the switch wraps that method on the
 * node's instance: for a topic in `unforwarded` the answer is no peer. Nothing else changes:
 * the mesh is kept (GRAFT/PRUNE as before, so turning forwarding back on takes effect at
 * once), received messages enter the message cache and are advertised in IHAVE gossip, and
 * IWANT requests are answered, so a peer that lost its direct copy can still fetch it.
 */
import type { Libp2p } from '@libp2p/interface';
import type { Services } from './node-options.js';

type SelectPeers = (
  topic: string,
  propagationSource: unknown,
  excludePeers: unknown,
) => Set<string>;

interface ForwardingInternals {
  selectPeersToForward?: SelectPeers;
}

/**
 * Installs the switch on `node`'s gossipsub; `unforwarded` is read on every forward. Returns
 * false (and forwards everything, as gossipsub does) when the library no longer has the
 * method this relies on.
 */
export function forwardOnly(node: Libp2p<Services>, unforwarded: ReadonlySet<string>): boolean {
  const pubsub = node.services.pubsub as unknown as ForwardingInternals;
  const original = pubsub.selectPeersToForward;
  if (typeof original !== 'function') return false;
  pubsub.selectPeersToForward = function (this: unknown, topic, propagationSource, excludePeers) {
    if (unforwarded.has(topic)) return new Set<string>();
    return original.call(this, topic, propagationSource, excludePeers);
  };
  return true;
}
