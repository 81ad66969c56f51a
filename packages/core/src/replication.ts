/**
 * The fast path of replication (DESIGN.md section 7, docs/protocol/replication.md): local
 * changes are collected into one outbound batch, coalesced by sid (a later version of a
 * record replaces the earlier one, which LWW merge makes safe), encoded once and published
 * on the rooms topic every flushIntervalMs, or at once when the batch reaches
 * batchRecordsMax records or batchBytesMax estimated bytes. At most publishInFlightMax
 * publishes wait on the transport; a batch past that is dropped and counted, and
 * anti-entropy repairs what it held (P6: bounded, with a drop policy and a metric).
 */
import { encodeMessage, estimateRecordBytes, type RoomRecord } from '@roomring/protocol';
import type { NodeConfig } from './config.js';
import type { CancelTimer, Timers } from './runtime.js';

export interface ReplicatorHost {
  publish(data: Uint8Array): Promise<unknown>;
  stamp(): number;
}

export interface ReplicatorCounters {
  batchesPublished: number;
  recordsPublished: number;
  batchesDropped: number;
  recordsDropped: number;
  publishErrors: number;
}

/** Bytes of the batch envelope besides its records (version, type, origin, seq, stamp). */
const BATCH_OVERHEAD_BYTES = 256;

export class Replicator {
  private batch = new Map<string, Readonly<RoomRecord>>();
  private batchBytes = BATCH_OVERHEAD_BYTES;
  private seq = 0;
  private inFlight = 0;
  private cancelFlush: CancelTimer | undefined;
  readonly counters: ReplicatorCounters = {
    batchesPublished: 0,
    recordsPublished: 0,
    batchesDropped: 0,
    recordsDropped: 0,
    publishErrors: 0,
  };

  constructor(
    private readonly config: NodeConfig,
    private readonly timers: Timers,
    private readonly host: ReplicatorHost,
  ) {}

  /** Queues a changed record for the next gossip batch. */
  enqueue(record: Readonly<RoomRecord>): void {
    const previous = this.batch.get(record.sid);
    if (previous === undefined) this.batchBytes += estimateRecordBytes(record);
    this.batch.set(record.sid, record);
    if (
      this.batch.size >= this.config.batchRecordsMax ||
      this.batchBytes >= this.config.batchBytesMax
    ) {
      this.flush();
    } else if (this.cancelFlush === undefined) {
      this.cancelFlush = this.timers.setTimer(this.config.flushIntervalMs, () => {
        this.cancelFlush = undefined;
        this.flush();
      });
    }
  }

  /** Records waiting for the next flush. */
  pending(): number {
    return this.batch.size;
  }

  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    if (this.batch.size === 0) return;
    const records = [...this.batch.values()];
    this.batch = new Map();
    this.batchBytes = BATCH_OVERHEAD_BYTES;
    if (this.inFlight >= this.config.publishInFlightMax) {
      this.counters.batchesDropped++;
      this.counters.recordsDropped += records.length;
      return;
    }
    const data = encodeMessage({
      type: 'room-batch',
      origin: this.config.nodeId,
      seq: this.seq++,
      sentAt: this.host.stamp(),
      records,
    });
    this.inFlight++;
    this.counters.batchesPublished++;
    this.counters.recordsPublished += records.length;
    this.host.publish(data).then(
      () => {
        this.inFlight--;
      },
      () => {
        this.inFlight--;
        this.counters.publishErrors++;
      },
    );
  }

  stop(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
  }
}
