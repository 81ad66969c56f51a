/**
 * Per-topic forwarding switch (Transport.setGossipForwarding). Gossipsub has no option to
 * deliver a topic's messages without forwarding them to mesh peers; its forwarding asks
 * `selectPeersToForward(topic, ...)` for the peers, so the switch wraps that method on the
 * node's instance: for a topic in `unforwarded` the answer is no peer. Nothing else changes:
 * the mesh is kept (GRAFT/PRUNE as before, so turning forwarding back on takes effect at
 * once), received messages enter the message cache and are advertised in IHAVE gossip, and
 * IWANT requests are answered, so a peer that lost its direct copy can still fetch it.
 *
 * IDONTWANT (gossipsub 1.2) follows the same switch. On receiving a message of 512 B or more
 * gossipsub tells every other mesh peer it does not want it forwarded: one more RPC, and one
 * more encrypted socket write, per peer and per message received. In a topic nobody forwards
 * there is nothing to stop, so for an unforwarded topic none is sent (in a 5-node cluster
 * filling rooms, 3 such RPCs for every batch received; a profile put them at 2.5% of a
 * receiver's time, but side-by-side fills measured no difference in CPU per record).
 * Turning forwarding back on turns them back on.
 */
import type { Libp2p } from '@libp2p/interface';
import type { Services } from './node-options.js';

type SelectPeers = (
  topic: string,
  propagationSource: unknown,
  excludePeers: unknown,
) => Set<string>;

type SendIDontWants = (msgId: unknown, topic: string, source: string) => void;

interface ForwardingInternals {
  selectPeersToForward?: SelectPeers;
  sendIDontWants?: SendIDontWants;
}

/**
 * Installs the switch on `node`'s gossipsub; `unforwarded` is read on every forward and every
 * received message. Returns false when the library no longer has a method this relies on;
 * that part of the switch is then not installed (gossipsub forwards, or sends IDONTWANT, as
 * it does by itself), which the gossip-forwarding tests catch.
 */
export function forwardOnly(node: Libp2p<Services>, unforwarded: ReadonlySet<string>): boolean {
  const pubsub = node.services.pubsub as unknown as ForwardingInternals;
  const original = pubsub.selectPeersToForward;
  if (typeof original !== 'function') return false;
  pubsub.selectPeersToForward = function (this: unknown, topic, propagationSource, excludePeers) {
    if (unforwarded.has(topic)) return new Set<string>();
    return original.call(this, topic, propagationSource, excludePeers);
  };
  const sendIDontWants = pubsub.sendIDontWants;
  if (typeof sendIDontWants !== 'function') return false;
  pubsub.sendIDontWants = function (this: unknown, msgId, topic, source) {
    if (unforwarded.has(topic)) return;
    sendIDontWants.call(this, msgId, topic, source);
  };
  return true;
}
