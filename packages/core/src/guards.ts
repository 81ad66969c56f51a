/**
 * Nothing the node schedules may throw out to the process (one bad message, one odd call,
 * one bug in a rarely taken branch must not stop a node). The registry wraps the Timers and
 * the Transport it is given, once, where they enter the core: every timer callback, gossip
 * handler, request handler and connection listener then runs inside a guard that catches
 * what it throws (or, for a request handler, what its promise or stream rejects with after
 * the transport gave up on it), counts it by kind, and reports it with context so the
 * embedding application logs it. The node keeps serving.
 */
import type { Timers } from './runtime.js';
import type {
  GossipMessage,
  GossipVerdict,
  PeerId,
  RequestHandler,
  Transport,
  TransportListener,
} from './transport.js';

export type GuardedKind = 'timer' | 'gossip-handler' | 'request-handler' | 'listener' | 'task';

export interface CaughtError {
  kind: GuardedKind;
  /** What was running: the topic, the protocol, the timer's or task's name. */
  context: string;
  error: unknown;
}

export type CaughtErrorCounts = Record<GuardedKind, number>;

export class Guard {
  readonly counts: CaughtErrorCounts = {
    timer: 0,
    'gossip-handler': 0,
    'request-handler': 0,
    listener: 0,
    task: 0,
  };

  constructor(private readonly report: (caught: CaughtError) => void) {}

  /** Records one caught error; a reporter that throws is itself ignored. */
  caught(kind: GuardedKind, context: string, error: unknown): void {
    this.counts[kind]++;
    try {
      this.report({ kind, context, error });
    } catch {
      // The reporter is the last line; nothing left to tell.
    }
  }

  /** Runs `fn`, catching what it throws. */
  run(kind: GuardedKind, context: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.caught(kind, context, error);
    }
  }

  /** Observes a promise nobody awaits: a rejection is counted as a caught `task` error. */
  task(context: string, promise: Promise<unknown>): void {
    promise.catch((error: unknown) => this.caught('task', context, error));
  }

  timers(inner: Timers): Timers {
    return {
      setTimer: (delayMs, callback) =>
        inner.setTimer(delayMs, () => this.run('timer', callback.name || 'timer', callback)),
    };
  }

  transport(inner: Transport): Transport {
    const guard = this;
    const guardedHandler =
      (protocol: string, handler: RequestHandler): RequestHandler =>
      (request, from) => {
        let answer: ReturnType<RequestHandler>;
        try {
          answer = handler(request, from);
        } catch (error) {
          guard.caught('request-handler', protocol, error);
          // The requester sees a failed stream, as for any handler error.
          return Promise.reject(error);
        }
        return answer;
      };
    return {
      get peerId(): PeerId {
        return inner.peerId;
      },
      start: () => inner.start(),
      stop: () => inner.stop(),
      listenAddresses: () => inner.listenAddresses(),
      subscribe(topic, handler) {
        inner.subscribe(topic, (message: GossipMessage): GossipVerdict => {
          try {
            return handler(message);
          } catch (error) {
            guard.caught('gossip-handler', topic, error);
            // Not forwarded, not held against the sender: the fault may be ours.
            return 'ignore';
          }
        });
      },
      publish: (topic, data) => inner.publish(topic, data),
      setGossipForwarding: (topic, forward) => inner.setGossipForwarding(topic, forward),
      handle(protocol, handler) {
        inner.handle(protocol, guardedHandler(protocol, handler));
      },
      request: (peer, protocol, frame, options) => inner.request(peer, protocol, frame, options),
      dial: (address, options) => inner.dial(address, options),
      hangUp: (peer) => inner.hangUp(peer),
      connectedPeers: () => inner.connectedPeers(),
      addListener(listener: TransportListener) {
        inner.addListener({
          peerConnected: (peer) =>
            guard.run('listener', 'peerConnected', () => listener.peerConnected?.(peer)),
          peerDisconnected: (peer) =>
            guard.run('listener', 'peerDisconnected', () => listener.peerDisconnected?.(peer)),
        });
      },
    };
  }
}
