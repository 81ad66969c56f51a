/**
 * Counters for every limit and drop policy in this package (DESIGN.md P6: each limit has a
 * metric). Fixed keys only: no peer ids, topics or protocol names as keys, so the set stays
 * small and nothing from the network becomes a property name (PLATFORM.md, last section).
 */
export interface Libp2pTransportMetrics {
  /** Messages this node published. */
  gossipPublished: number;
  /** Received messages whose handler said accept / ignore / reject. */
  gossipAccepted: number;
  gossipIgnored: number;
  gossipRejected: number;
  /** Received messages over `gossipMessageBytesMax` (rejected before the handler). */
  gossipTooLarge: number;
  /** Gossip handlers that threw (the message is ignored, the node keeps running). */
  gossipHandlerErrors: number;
  /** Connections hung up because their gossip streams died while connected (gossip-watchdog.ts). */
  gossipLinksReset: number;
  /** Gossip messages received, every copy (duplicates included, before any check). */
  gossipReceived: number;
  /** Requests this node sent, and how they ended. */
  requestsStarted: number;
  requestsSucceeded: number;
  requestsFailed: number;
  /** Requests refused locally because `requestsPendingMax` were in flight. */
  requestsShed: number;
  /** Requests served: completed (an answer or an error frame was delivered) or failed (the
   *  stream was reset, timed out idle, or the requester went away). */
  responsesStarted: number;
  responsesCompleted: number;
  responsesFailed: number;
  /** Requests answered with busy because `inboundStreamsPerProtocolMax` were being served. */
  responsesShed: number;
  /** Request handlers that threw or rejected (answered with a remote handler error). */
  responseHandlerErrors: number;
  /** Frames refused for exceeding `frameBytesMax`, either side. */
  framesTooLarge: number;
  /** Listener callbacks (peerConnected/peerDisconnected) that threw. */
  listenerErrors: number;
  /** Gauges. */
  requestsPending: number;
  responsesActive: number;
  peersConnected: number;
}

export function emptyMetrics(): Libp2pTransportMetrics {
  return {
    gossipPublished: 0,
    gossipAccepted: 0,
    gossipIgnored: 0,
    gossipRejected: 0,
    gossipTooLarge: 0,
    gossipHandlerErrors: 0,
    gossipLinksReset: 0,
    gossipReceived: 0,
    requestsStarted: 0,
    requestsSucceeded: 0,
    requestsFailed: 0,
    requestsShed: 0,
    responsesStarted: 0,
    responsesCompleted: 0,
    responsesFailed: 0,
    responsesShed: 0,
    responseHandlerErrors: 0,
    framesTooLarge: 0,
    listenerErrors: 0,
    requestsPending: 0,
    responsesActive: 0,
    peersConnected: 0,
  };
}
