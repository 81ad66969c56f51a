/**
 * What an implementation hands the transport contract (index.ts): its transports, its clock,
 * and the few things the contract cannot do through the `Transport` interface alone.
 */
import type { Transport } from '../../src/transport.js';

/**
 * What a failure means to the caller, whatever class the implementation throws. The contract
 * asserts kinds, so "a request to a peer that hung up fails" cannot pass on a TypeError.
 * - `unreachable`: no connection could be made (dial refused or timed out, unknown peer);
 * - `timeout`: the request's `timeoutMs` passed;
 * - `aborted`: the caller's `signal` aborted;
 * - `closed`: the connection or a transport closed during the exchange (hang-up, stop);
 * - `remote`: the responder answered with a failure (handler threw, protocol not handled);
 * - `frames`: the answer went past `framesMax`.
 */
export type TransportErrorKind =
  | 'unreachable'
  | 'timeout'
  | 'aborted'
  | 'closed'
  | 'remote'
  | 'frames';

/**
 * One implementation's side of the contract. A fresh harness is made for every case and
 * closed after it. Methods (not function-valued properties), so a harness typed for a
 * subtype of `Transport` is accepted where `TransportContractHarness<Transport>` is expected.
 */
export interface TransportContractHarness<T extends Transport = Transport> {
  /**
   * `virtual`: time moves only inside `until` and `flushGossip`, and the contract asserts
   * every deadline to the millisecond. `real`: wall-clock time, deadlines asserted within
   * `timingSlackMs`.
   */
  readonly clock: 'virtual' | 'real';
  /** How late a deadline may fire on a loaded machine (real clock); 0 on virtual time. */
  readonly timingSlackMs: number;
  /** How long the contract waits for something that must happen (an event, a frame, a
   *  rejection) before it fails the case. On virtual time this is an asserted bound. */
  readonly patienceMs: number;

  /** `count` new transports, started, subscribed to nothing the contract can see, connected
   *  to nothing. */
  create(count: number): Promise<T[]>;
  /** The transports' clock, in ms (virtual time, or a monotonic wall clock). */
  nowMs(): number;
  /** Resolves after `ms` of the transports' time. Only for pacing a slow handler: the
   *  contract never sleeps to synchronise. */
  sleep(ms: number): Promise<void>;
  /**
   * Resolves once `condition()` holds; rejects if it still does not after `withinMs`.
   * Virtual time: advances the clock step by step (firing timers, running continuations).
   * Real time: polls.
   */
  until(condition: () => boolean, withinMs: number, what: string): Promise<void>;
  /**
   * Resolves once a message `node` publishes or forwards on `topic` reaches `peers` of its
   * connected subscribers directly (subscriptions exchanged, gossip mesh formed). A real
   * gossip layer learns subscriptions over the wire; the contract calls this after
   * connecting and before publishing.
   */
  gossipReady(node: T, topic: string, peers: number): Promise<void>;
  /**
   * Resolves once every gossip copy that `nodes` sent (or were about to send as forwards of
   * messages their handlers already saw) has arrived: what lets the contract assert that
   * something did NOT arrive. Virtual time: runs the clock past every hop and repair path.
   */
  flushGossip(nodes: readonly T[]): Promise<void>;
  /** An address `dial` accepts at which nothing listens (a refused connection). */
  refusedAddress(): Promise<string>;
  /** An address `dial` accepts that takes the connection but never completes the handshake
   *  (a hung process). */
  unresponsiveAddress(): Promise<string>;
  /** What a failure the transport raised means; undefined for anything else. */
  errorKind(error: unknown): TransportErrorKind | undefined;
  /** Stops every transport and helper this harness made. */
  close(): Promise<void>;
}
