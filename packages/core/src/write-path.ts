/**
 * Durable writes (DESIGN.md section 7, property P4): a local write is acknowledged to the
 * caller only after `minAcks` other nodes confirmed holding it. The record is sent to
 * `replicationFanout` partners (other regions first, from the ring's preference list) over a
 * direct request/response protocol, within what is left of the caller's deadline. If too few
 * confirm in time the write still stands locally and keeps spreading by gossip and
 * anti-entropy, and the caller gets `UnavailableError` with a Retry-After; a retry is
 * idempotent (get-or-create finds the room and re-confirms it).
 */
import { decodeMessage, encodeMessage, type RoomRecord } from '@roomring/protocol';
import type { NodeConfig } from './config.js';
import { DeadlineExceededError, OverloadedError, UnavailableError } from './errors.js';
import type { PeerId, Transport } from './transport.js';

export const REPLICATE_PROTOCOL = '/roomring/replicate/1';

export interface WritePathHost {
  nowMs(): number;
  stamp(): number;
  /** Connected partners for a room, best first, at most `count`. */
  partnersFor(name: string, count: number): PeerId[];
  /** Whether `peer` is a known member allowed to send us writes. */
  isMember(peer: PeerId): boolean;
  /** Merges a record; true when this node now holds it (false: rejected, e.g. clock bound). */
  mergeRemote(record: RoomRecord): boolean;
}

export interface WritePathCounters {
  writesAcked: number;
  writesUnavailable: number;
  writesShed: number;
  replicateRequestsServed: number;
  replicateRequestsRejected: number;
  partnerFailures: number;
}

export class WritePath {
  private pending = 0;
  private nextRequestId = 1;
  readonly counters: WritePathCounters = {
    writesAcked: 0,
    writesUnavailable: 0,
    writesShed: 0,
    replicateRequestsServed: 0,
    replicateRequestsRejected: 0,
    partnerFailures: 0,
  };

  constructor(
    private readonly config: NodeConfig,
    private readonly transport: Transport,
    private readonly host: WritePathHost,
  ) {}

  register(): void {
    this.transport.handle(REPLICATE_PROTOCOL, (frame, from) => this.serve(frame, from));
  }

  /** Throws OverloadedError before a write is applied when too many wait for acks. */
  assertCapacity(): void {
    if (this.pending >= this.config.pendingWritesMax) {
      this.counters.writesShed++;
      throw new OverloadedError('pending writes', this.config.retryAfterMs);
    }
  }

  pendingWrites(): number {
    return this.pending;
  }

  /** Resolves once minAcks partners hold every record (all of one room name); rejects with
   *  UnavailableError otherwise. */
  async replicate(records: readonly Readonly<RoomRecord>[], deadlineAtMs: number): Promise<void> {
    if (this.config.minAcks === 0) return;
    const remainingMs = deadlineAtMs - this.host.nowMs();
    if (remainingMs <= 0) throw new DeadlineExceededError();
    const name = records[0]?.name;
    if (name === undefined) return;
    const partners = this.host.partnersFor(name, this.config.replicationFanout);
    if (partners.length < this.config.minAcks) {
      this.counters.writesUnavailable++;
      throw new UnavailableError(
        `${partners.length} replica partner(s) reachable, ${this.config.minAcks} needed`,
        this.config.retryAfterMs,
      );
    }
    const requestId = this.nextRequestId++ >>> 0;
    const frame = encodeMessage({
      type: 'replicate',
      requestId,
      origin: this.config.nodeId,
      sentAt: this.host.stamp(),
      records: [...records],
    });
    this.pending++;
    try {
      await new Promise<void>((resolve, reject) => {
        let acks = 0;
        let failures = 0;
        const settle = (ok: boolean): void => {
          if (ok) acks++;
          else failures++;
          if (acks === this.config.minAcks) resolve();
          else if (partners.length - failures < this.config.minAcks) {
            reject(
              new UnavailableError(
                `${acks} of ${this.config.minAcks} replica acks within the deadline`,
                this.config.retryAfterMs,
              ),
            );
          }
        };
        for (const peer of partners) {
          this.ask(peer, frame, requestId, records.length, remainingMs).then(settle, () => {
            this.counters.partnerFailures++;
            settle(false);
          });
        }
      });
      this.counters.writesAcked++;
    } catch (error) {
      this.counters.writesUnavailable++;
      throw error;
    } finally {
      this.pending--;
    }
  }

  private async ask(
    peer: PeerId,
    frame: Uint8Array,
    requestId: number,
    recordCount: number,
    timeoutMs: number,
  ): Promise<boolean> {
    for await (const answer of this.transport.request(peer, REPLICATE_PROTOCOL, frame, {
      timeoutMs,
      framesMax: 1,
    })) {
      const result = decodeMessage(answer);
      return (
        result.ok &&
        result.message.type === 'replicate-ack' &&
        result.message.requestId === requestId &&
        result.message.stored === recordCount
      );
    }
    return false;
  }

  private async serve(frame: Uint8Array, from: PeerId): Promise<Uint8Array> {
    const result = decodeMessage(frame);
    if (!result.ok || result.message.type !== 'replicate' || !this.host.isMember(from)) {
      this.counters.replicateRequestsRejected++;
      return encodeMessage({
        type: 'rpc-error',
        requestId: result.ok && result.message.type === 'replicate' ? result.message.requestId : 0,
        code: 'bad-request',
        message: result.ok ? 'not a replicate request from a member' : result.error.message,
      });
    }
    const { requestId, records } = result.message;
    let stored = 0;
    for (const record of records) if (this.host.mergeRemote(record)) stored++;
    this.counters.replicateRequestsServed++;
    return encodeMessage({
      type: 'replicate-ack',
      requestId,
      nodeId: this.config.nodeId,
      stored,
    });
  }
}
