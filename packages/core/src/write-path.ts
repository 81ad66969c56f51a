/**
 * Durable writes (DESIGN.md section 7, property P4): a local write is acknowledged to the
 * caller only after `minAcks` other nodes confirmed holding it. The record is sent to
 * `replicationFanout` partners (other regions first, from the ring's preference list) over a
 * direct request/response protocol, within what is left of the caller's deadline. If too few
 * confirm in time the write still stands locally and keeps spreading by gossip and
 * anti-entropy, and the caller gets `UnavailableError` with a Retry-After; a retry is
 * idempotent (get-or-create finds the room and re-confirms it).
 *
 * Requests to one partner are pipelined and batched: at most REPLICATE_IN_FLIGHT_PER_PEER
 * requests are outstanding per partner; writes arriving meanwhile wait in that partner's
 * queue and leave together in the next request (up to BATCH_RECORDS_MAX records and
 * BATCH_RECORD_BYTES_MAX bytes). An idle partner gets a write at once (no added delay:
 * the pump runs as a microtask, so writes of one event-loop turn share a request);
 * a busy one gets one request per round trip instead of one per write, which is what lets a
 * node acknowledge thousands of writes per second (a partner serves at most 8 replicate
 * requests from one peer at once, 32 in all, and answers busy beyond). The requests ask for
 * the transport's pipelined path: one long-lived stream per partner, not one per request.
 */
import {
  BATCH_RECORD_BYTES_MAX,
  BATCH_RECORDS_MAX,
  decodeMessage,
  encodeMessage,
  estimateRecordBytes,
  type RoomRecord,
  splitIntoFrames,
} from '@roomring/protocol';
import type { NodeConfig } from './config.js';
import { DeadlineExceededError, OverloadedError, UnavailableError } from './errors.js';
import type { PeerId, Transport } from './transport.js';

export const REPLICATE_PROTOCOL = '/roomring/replicate/1';

/**
 * Replicate requests outstanding per partner. 2: one on the wire while the next batch fills;
 * with a ~1-3 ms round trip a partner then takes one request per ~1 ms, and a writer stays
 * far below the 8 requests a partner serves from one peer at once.
 */
export const REPLICATE_IN_FLIGHT_PER_PEER = 2;

function recordsBytes(records: readonly Readonly<RoomRecord>[]): number {
  let bytes = 0;
  for (const record of records) bytes += estimateRecordBytes(record);
  return bytes;
}

/** One write waiting for one partner's answer. */
interface PartnerWaiter {
  records: readonly Readonly<RoomRecord>[];
  deadlineAtMs: number;
  settle(ok: boolean): void;
}

/** A partner's pipeline: requests on the wire, writes waiting for the next one. */
interface PartnerPipeline {
  inFlight: number;
  queue: PartnerWaiter[];
  /** A pump is queued as a microtask (see enqueue). */
  pumpQueued: boolean;
}

export interface WritePathHost {
  nowMs(): number;
  stamp(): number;
  /** Connected partners for a room, best first, at most `count`. */
  partnersFor(name: string, count: number): PeerId[];
  /** Whether `peer` is a known member allowed to send us writes. */
  isMember(peer: PeerId): boolean;
  /** Merges a record; true when this node now holds it (false: rejected, e.g. clock bound).
   *  Takes the record (Replica.mergeRemote): the store may keep the object itself. */
  mergeRemote(record: RoomRecord): boolean;
  /** Whether `partners` are every peer gossip would reach (every connected peer, and every
   *  ring member, connected or not). */
  reachesEveryPeer(partners: readonly PeerId[]): boolean;
  /** Takes `records` out of the gossip batch not yet published; returns those it held. */
  withholdGossip(records: readonly Readonly<RoomRecord>[]): Readonly<RoomRecord>[];
  /** Queues `records` for gossip again, in one message. */
  gossip(records: readonly Readonly<RoomRecord>[]): void;
}

export interface WritePathCounters {
  writesAcked: number;
  writesUnavailable: number;
  writesShed: number;
  replicateRequestsServed: number;
  replicateRequestsRejected: number;
  partnerFailures: number;
  /** Replicate requests sent; each carries every write queued for that partner. */
  replicateRequestsSent: number;
  /** Records kept out of gossip: their partners were every peer gossip reaches (replicate). */
  gossipWithheld: number;
  /** Withheld records gossiped after all: a partner did not confirm holding them. */
  gossipResent: number;
}

export class WritePath {
  private pending = 0;
  private nextRequestId = 1;
  private readonly pipelines = new Map<PeerId, PartnerPipeline>();
  readonly counters: WritePathCounters = {
    writesAcked: 0,
    writesUnavailable: 0,
    writesShed: 0,
    replicateRequestsServed: 0,
    replicateRequestsRejected: 0,
    partnerFailures: 0,
    replicateRequestsSent: 0,
    gossipWithheld: 0,
    gossipResent: 0,
  };

  constructor(
    private readonly config: NodeConfig,
    private readonly transport: Transport,
    private readonly host: WritePathHost,
  ) {}

  register(): void {
    this.transport.handle(REPLICATE_PROTOCOL, (frame, from) => this.serve(frame, from));
  }

  /** Whether a new write would be shed now (assertCapacity would throw). */
  atCapacity(): boolean {
    return this.pending >= this.config.pendingWritesMax;
  }

  /** Throws OverloadedError before a write is applied when too many wait for acks. */
  assertCapacity(): void {
    if (this.atCapacity()) {
      this.counters.writesShed++;
      throw new OverloadedError('pending writes', this.config.retryAfterMs);
    }
  }

  pendingWrites(): number {
    return this.pending;
  }

  /**
   * Resolves once minAcks partners hold every record (all of one room name); rejects with
   * UnavailableError otherwise.
   *
   * The records also wait in the gossip batch (the local change queued them). When the
   * partners are every peer gossip would reach (a cluster of replicationFanout + 1 nodes or
   * fewer, e.g. one node in each of three regions), that publish would only bring
   * each member a record its replicate request brings it anyway: the records are taken out
   * of the batch, and gossiped after all unless every partner confirms holding them.
   * Anti-entropy stays the backstop, as for any gossip.
   */
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
    const withheld = this.host.reachesEveryPeer(partners) ? this.host.withholdGossip(records) : [];
    this.counters.gossipWithheld += withheld.length;
    this.pending++;
    try {
      await new Promise<void>((resolve, reject) => {
        let acks = 0;
        let failures = 0;
        const settle = (ok: boolean): void => {
          if (ok) acks++;
          else failures++;
          if (acks + failures === partners.length && failures > 0 && withheld.length > 0) {
            this.counters.gossipResent += withheld.length;
            this.host.gossip(withheld);
          }
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
          this.enqueue(peer, { records, deadlineAtMs, settle });
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

  private enqueue(peer: PeerId, waiter: PartnerWaiter): void {
    let pipeline = this.pipelines.get(peer);
    if (!pipeline) {
      pipeline = { inFlight: 0, queue: [], pumpQueued: false };
      this.pipelines.set(peer, pipeline);
    }
    pipeline.queue.push(waiter);
    // Pumped once the current task's synchronous work is done, not at once: writes made in
    // the same turn (a burst of creates, a batch from one caller) leave in one request
    // instead of the first alone. A microtask adds no timer delay.
    if (pipeline.pumpQueued) return;
    pipeline.pumpQueued = true;
    const queued = pipeline;
    queueMicrotask(() => {
      queued.pumpQueued = false;
      this.pump(peer, queued);
    });
  }

  /** Sends queued writes while the partner has a free request slot. */
  private pump(peer: PeerId, pipeline: PartnerPipeline): void {
    while (pipeline.inFlight < REPLICATE_IN_FLIGHT_PER_PEER && pipeline.queue.length > 0) {
      const now = this.host.nowMs();
      const batch: PartnerWaiter[] = [];
      let records = 0;
      let bytes = 0;
      let deadlineAtMs = Number.POSITIVE_INFINITY;
      while (pipeline.queue.length > 0) {
        const next = pipeline.queue[0]!;
        if (next.deadlineAtMs <= now) {
          pipeline.queue.shift();
          next.settle(false);
          continue;
        }
        // Measured now, not when queued: the records are the store's live objects and may
        // have grown meanwhile (send() splits by exact size in any case).
        const nextBytes = recordsBytes(next.records);
        const fits =
          batch.length === 0 ||
          (records + next.records.length <= BATCH_RECORDS_MAX &&
            bytes + nextBytes <= BATCH_RECORD_BYTES_MAX);
        if (!fits) break;
        pipeline.queue.shift();
        batch.push(next);
        records += next.records.length;
        bytes += nextBytes;
        // The request lives until the earliest deadline in it, so no write waits past its
        // own; the writes of one batch arrived within a round trip and share the default.
        deadlineAtMs = Math.min(deadlineAtMs, next.deadlineAtMs);
      }
      if (batch.length === 0) break;
      pipeline.inFlight++;
      this.counters.replicateRequestsSent++;
      this.send(peer, batch, deadlineAtMs - now).then(
        (ok) => this.finish(peer, pipeline, batch, ok),
        () => {
          this.counters.partnerFailures++;
          this.finish(peer, pipeline, batch, false);
        },
      );
    }
    if (
      pipeline.inFlight === 0 &&
      pipeline.queue.length === 0 &&
      this.pipelines.get(peer) === pipeline
    ) {
      this.pipelines.delete(peer);
    }
  }

  private finish(
    peer: PeerId,
    pipeline: PartnerPipeline,
    batch: readonly PartnerWaiter[],
    ok: boolean,
  ): void {
    pipeline.inFlight--;
    for (const waiter of batch) waiter.settle(ok);
    this.pump(peer, pipeline);
  }

  /**
   * Replicate requests with every record of `batch`, split by exact encoded size (one request
   * unless a record grew past what pump() measured, or one delete tombstones many large
   * incarnations); true when the partner holds all of them.
   */
  private async send(
    peer: PeerId,
    batch: readonly PartnerWaiter[],
    timeoutMs: number,
  ): Promise<boolean> {
    const groups = splitIntoFrames(
      batch.flatMap((w) => w.records) as RoomRecord[],
      BATCH_RECORD_BYTES_MAX,
      BATCH_RECORDS_MAX,
    );
    if (groups.length > 1) this.counters.replicateRequestsSent += groups.length - 1;
    const results = await Promise.all(groups.map((group) => this.sendOne(peer, group, timeoutMs)));
    return results.every(Boolean);
  }

  private async sendOne(
    peer: PeerId,
    records: readonly RoomRecord[],
    timeoutMs: number,
  ): Promise<boolean> {
    const requestId = this.nextRequestId++ >>> 0;
    const recordCount = records.length;
    const frame = encodeMessage({
      type: 'replicate',
      requestId,
      origin: this.config.nodeId,
      sentAt: this.host.stamp(),
      records: records as RoomRecord[],
    });
    for await (const answer of this.transport.request(peer, REPLICATE_PROTOCOL, frame, {
      timeoutMs,
      framesMax: 1,
      pipelined: true,
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
