/**
 * Every gossipsub option that changes behaviour, set explicitly with the reason (DESIGN.md
 * section 7: never left to library defaults). Numbers are for clusters of 3-50 nodes.
 */
import { createHash } from 'node:crypto';
import { type GossipsubOpts, type Message, StrictSign } from '@libp2p/gossipsub';
import type { FastMsgIdFn } from '@libp2p/gossipsub/types';

type RpcMessage = Parameters<FastMsgIdFn>[0];

/**
 * Mesh degree. Publishing floods every message straight to every subscribed peer
 * (floodPublish) and membership keeps a connection to every member, so in roomring's
 * clusters each node already receives each message once, directly; mesh forwarding only adds
 * copies. With the spec's D = 6 a 5-node cluster is a full mesh and every node received each
 * batch four times (once direct, three forwarded): measured on 5 processes sharing 2 cores,
 * 20k rooms created per node, the duplicate traffic made gossipsub drop 25-40% of the batches
 * under load and the fill took 28 s; with D = 2 it dropped none and took 8-16 s. Two mesh
 * peers still give every message a second path when a direct link is down; what is lost
 * beyond that is anti-entropy's job.
 */
export const GOSSIP_D = 2;
/** Graft below this, back up to D: with Dlo = D a node that joined the topic knowing one
 *  peer grows its mesh to two as soon as it learns a second. */
export const GOSSIP_D_LO = 2;
/** Prune above this: bounds forwarded copies to 4 per message per node. */
export const GOSSIP_D_HI = 4;
/** Peers that get IHAVE gossip per heartbeat outside the mesh: the repair path for a message
 *  a mesh link lost, within `mcacheGossip` heartbeats. */
export const GOSSIP_D_LAZY = 2;
/** Heartbeats a message stays in the cache for IWANT answers: 5 x 1 s = 5 s of repair window
 *  (anything older is anti-entropy's job, DESIGN.md section 7). */
export const GOSSIP_MCACHE_LENGTH = 5;
/** Heartbeats whose message ids are advertised in IHAVE: 3 (< mcacheLength, as the spec
 *  requires, so an IWANT for an advertised id still finds the message). */
export const GOSSIP_MCACHE_GOSSIP = 3;
/** How long a message id is remembered for duplicate suppression: 120 s, far above the 5 s a
 *  copy can still circulate (mcache) plus queueing delays, so no copy is delivered twice.
 *  Memory: at 1,000 messages/s, 120k ids of ~50 B = ~6 MB. */
export const GOSSIP_SEEN_TTL_MS = 120_000;
/** An inbound RPC may carry several messages (an IWANT answer packs all it finds), so the RPC
 *  frame limit is a multiple of the message limit; each message is still checked against
 *  `gossipMessageBytesMax` before the handler. */
export const GOSSIP_RPC_MESSAGES_MAX = 4;
/** Room for an RPC's envelope around its messages: signature 64 B, key 36 B, from 38 B,
 *  seqno 8 B, topic, protobuf tags, and control messages (IHAVE/IWANT ids). */
export const GOSSIP_RPC_ENVELOPE_BYTES = 64 * 1024;

/**
 * Spec message id: the signed origin and its sequence number. Every publish gets a fresh
 * seqno, so publishing the same bytes twice makes two messages (the application may resend a
 * heartbeat unchanged), while every copy of one message has one id.
 */
export function messageId(message: Message): Uint8Array {
  if (message.type !== 'signed') {
    // Unreachable with StrictSign (unsigned messages are rejected before this is called);
    // fall back to a content hash so the function stays total.
    return createHash('sha256').update(message.topic).update(message.data).digest();
  }
  const from = message.from.toMultihash().bytes;
  const id = new Uint8Array(from.byteLength + 8);
  id.set(from);
  new DataView(id.buffer).setBigUint64(from.byteLength, message.sequenceNumber);
  return id;
}

function lengthPrefix(length: number): Uint8Array {
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, length);
  return prefix;
}

/**
 * Local duplicate filter, computed on the raw RPC message before its signature is checked.
 * With StrictSign every copy's Ed25519 signature would otherwise be verified before the
 * seen-cache rejects it: measured here, that is ~28% of a receiver's CPU in a 5-node mesh,
 * ~8% with this function (PLATFORM.md). It hashes every field but the data (length-prefixed,
 * so field boundaries cannot shift): the signature is a deterministic Ed25519 signature over
 * the data (and from, seqno, topic), so it already names exactly one payload, and hashing a
 * batch (up to batchBytesMax, 256 KiB) again for every copy cost ~0.5 us per record per copy. A forged copy (other
 * data under a real signature) that arrives first fails validation, and the cache only learns
 * a fast id after validation; one that arrives after the real message is dropped as a copy of
 * it, which is what it claims to be.
 */
export function fastMessageId(message: RpcMessage): string {
  const hash = createHash('sha256');
  const topic = new TextEncoder().encode(message.topic);
  for (const field of [message.from, message.seqno, topic, message.signature, message.key]) {
    const bytes = field ?? new Uint8Array(0);
    hash.update(lengthPrefix(bytes.byteLength)).update(bytes);
  }
  return hash.digest('base64');
}

export interface GossipOptionsInit {
  /** Called for every gossip message received, each copy (the transport counts them). */
  onGossipReceived?: () => void;
  gossipMessageBytesMax: number;
  gossipOutboundBufferBytesMax: number;
  gossipHeartbeatIntervalMs: number;
}

/** The options handed to `gossipsub()`. */
export function gossipOptions(init: GossipOptionsInit): Partial<GossipsubOpts> {
  return {
    // Only our own nodes speak to us (pnet); floodsub would bypass signature policy and mesh.
    fallbackToFloodsub: false,
    // A node's own messages go to every subscribed peer, not only its mesh: one hop to
    // everyone in clusters of tens of nodes, the lowest latency and no dependence on the mesh
    // having formed yet. Cost: N-1 sends per publish, fine below ~100 nodes.
    floodPublish: true,
    // Encode once per publish and write the same bytes to every peer (STYLE.md habit 11).
    batchPublish: true,
    // Peer exchange helps open networks find peers; membership does that here.
    doPX: false,
    directPeers: [],
    D: GOSSIP_D,
    Dlo: GOSSIP_D_LO,
    Dhi: GOSSIP_D_HI,
    // The spec's relations Dscore <= D and Dout < Dlo, Dout <= D/2.
    Dscore: 1,
    Dout: 1,
    Dlazy: GOSSIP_D_LAZY,
    heartbeatInterval: init.gossipHeartbeatIntervalMs,
    // Fanout state for topics we publish to without subscribing: 60 s (spec value).
    fanoutTTL: 60_000,
    mcacheLength: GOSSIP_MCACHE_LENGTH,
    mcacheGossip: GOSSIP_MCACHE_GOSSIP,
    seenTTL: GOSSIP_SEEN_TTL_MS,
    // Every message carries the origin's signature; `origin` handed to handlers is proven.
    globalSignaturePolicy: StrictSign,
    msgIdFn: messageId,
    fastMsgIdFn: (message) => {
      init.onGossipReceived?.();
      return fastMessageId(message);
    },
    // The Transport contract: publishing with no subscribed peer yet resolves, recipients 0.
    allowPublishToZeroTopicPeers: true,
    // Sequence numbers make every publish unique; a duplicate would be a bug worth an error.
    ignoreDuplicatePublishError: false,
    // The application does not want its own messages back; its write path already applied them.
    emitSelf: false,
    // Validation is synchronous inside the validator (the handler), so forwarding can follow
    // at once; no application round trip through reportMessageValidationResult. (Forwarding
    // later, so that peers' IDONTWANT could stop copies, was tried: at 25-100 ms it saved
    // ~0.3 copies per batch during a fill, where every node's event loop lags more than
    // that, and at 500 ms the fill took 2.5x longer.)
    asyncValidation: false,
    // Do not forward topics we are not subscribed to.
    canRelayMessage: false,
    // Mesh peers are tagged so the connection pruner keeps them when `connectionsMax` is hit.
    tagMeshPeers: true,
    // The decoded-RPC bound on the wire; per-message data is checked against
    // gossipMessageBytesMax in the validator before any handler sees it.
    maxInboundDataLength:
      init.gossipMessageBytesMax * GOSSIP_RPC_MESSAGES_MAX + GOSSIP_RPC_ENVELOPE_BYTES,
    maxOutboundBufferSize: init.gossipOutboundBufferBytesMax,
    // Scores: a cluster runs several nodes on one IP (local clusters, containers behind one
    // address); the default colocation penalty would graylist the 14th node on a host.
    scoreParams: { IPColocationFactorWeight: 0 },
    scoreThresholds: {
      gossipThreshold: -10,
      publishThreshold: -50,
      graylistThreshold: -80,
      acceptPXThreshold: 10,
      opportunisticGraftThreshold: 20,
    },
  };
}
