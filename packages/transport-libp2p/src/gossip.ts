/**
 * The application's gossip handler IS gossipsub's topic validator. Gossipsub calls a topic's
 * validator once per message id, after its own duplicate suppression (fast id, then seen
 * cache) and signature check, and before it forwards: so the handler sees each message exactly
 * once, on receipt, and its verdict decides forwarding. The library's 'message' event (which
 * would be a second delivery path) is not used.
 */

import { type Message, TopicValidatorResult } from '@libp2p/gossipsub';
import type { PeerId } from '@libp2p/interface';
import type { GossipMessage, GossipVerdict } from '@roomring/core';
import type { Libp2pTransportMetrics } from './metrics.js';

export type GossipHandler = (message: GossipMessage) => GossipVerdict;

const VERDICTS: ReadonlyMap<GossipVerdict, TopicValidatorResult> = new Map([
  ['accept', TopicValidatorResult.Accept],
  ['ignore', TopicValidatorResult.Ignore],
  ['reject', TopicValidatorResult.Reject],
]);

export interface ValidatorContext {
  readonly gossipMessageBytesMax: number;
  readonly metrics: Libp2pTransportMetrics;
}

/** Wraps a handler as a gossipsub topic validator. Synchronous, total, never throws. */
export function toValidator(
  topic: string,
  handler: GossipHandler,
  ctx: ValidatorContext,
): (propagationSource: PeerId, message: Message) => TopicValidatorResult {
  const { metrics } = ctx;
  return (propagationSource, message) => {
    // StrictSign already rejects unsigned messages; this keeps `origin` provably signed.
    if (message.type !== 'signed') {
      metrics.gossipRejected++;
      return TopicValidatorResult.Reject;
    }
    if (message.data.byteLength > ctx.gossipMessageBytesMax) {
      metrics.gossipTooLarge++;
      metrics.gossipRejected++;
      return TopicValidatorResult.Reject;
    }
    let verdict: GossipVerdict;
    try {
      verdict = handler({
        topic,
        origin: message.from.toString(),
        propagationSource: propagationSource.toString(),
        data: message.data,
      });
    } catch {
      // A bug in our handler, not the sender's fault: do not deliver or forward, do not
      // penalise the sender.
      metrics.gossipHandlerErrors++;
      metrics.gossipIgnored++;
      return TopicValidatorResult.Ignore;
    }
    const result = VERDICTS.get(verdict) ?? TopicValidatorResult.Ignore;
    if (result === TopicValidatorResult.Accept) metrics.gossipAccepted++;
    else if (result === TopicValidatorResult.Reject) metrics.gossipRejected++;
    else metrics.gossipIgnored++;
    return result;
  };
}
