/**
 * The fast path of replication (DESIGN.md section 7, docs/protocol/replication.md): local
 * changes are collected into one outbound batch, coalesced by sid (a later version of a
 * record replaces the earlier one, which LWW merge makes safe), encoded once and published
 * on the rooms topic every flushIntervalMs, or at once when the batch reaches
 * batchRecordsMax records or batchBytesMax estimated bytes. At most publishInFlightMax
 * publishes wait on the transport; a batch past that is dropped and counted, and
 * anti-entropy repairs what it held (P6: bounded, with a drop policy and a metric).
 */
import {
  BATCH_RECORD_BYTES_MAX,
  BATCH_RECORDS_MAX,
  encodeMessage,
  estimateRecordBytes,
  type RoomRecord,
  splitIntoFrames,
} from '@roomring/protocol';
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
  /** Records that could not be encoded at all (a bug if ever non-zero); dropped. */
  recordsUnencodable: number;
}

/** Bytes of the batch envelope besides its records (version, type, origin, seq, stamp). */
const BATCH_OVERHEAD_BYTES = 256;

export class Replicator {
  private batch = new Map<string, Readonly<RoomRecord>>();
  /** Each queued record's size when it was last queued, so a re-queued, grown record is
   *  counted at its new size (the early flush); flush() measures again before sending. */
  private batchSizes = new Map<string, number>();
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
    recordsUnencodable: 0,
  };

  constructor(
    private readonly config: NodeConfig,
    private readonly timers: Timers,
    private readonly host: ReplicatorHost,
  ) {}

  /** Queues a changed record for the next gossip batch. */
  enqueue(record: Readonly<RoomRecord>): void {
    const bytes = estimateRecordBytes(record);
    this.batchBytes += bytes - (this.batchSizes.get(record.sid) ?? 0);
    this.batchSizes.set(record.sid, bytes);
    this.batch.set(record.sid, record);
    this.afterEnqueue();
  }

  private afterEnqueue(): void {
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

  /**
   * Queues records that must reach peers in one message (a re-create and the tombstones of
   * the name's earlier incarnations): the batch is flushed first if they would not fit.
   */
  enqueueTogether(records: readonly Readonly<RoomRecord>[]): void {
    let bytes = 0;
    for (const record of records) bytes += estimateRecordBytes(record);
    if (
      this.batch.size + records.length > this.config.batchRecordsMax ||
      this.batchBytes + bytes > BATCH_RECORD_BYTES_MAX
    ) {
      this.flush();
    }
    for (const record of records) {
      const size = estimateRecordBytes(record);
      this.batchBytes += size - (this.batchSizes.get(record.sid) ?? 0);
      this.batchSizes.set(record.sid, size);
      this.batch.set(record.sid, record);
    }
    this.afterEnqueue();
  }

  /**
   * Takes `records` out of the batch not yet published (a durable write whose replicate
   * requests reach every peer gossip would, write-path.ts); returns the ones it held, as queued.
   */
  withdraw(records: readonly Readonly<RoomRecord>[]): Readonly<RoomRecord>[] {
    const withdrawn: Readonly<RoomRecord>[] = [];
    for (const record of records) {
      const queued = this.batch.get(record.sid);
      if (queued === undefined) continue;
      this.batch.delete(record.sid);
      this.batchBytes -= this.batchSizes.get(record.sid) ?? 0;
      this.batchSizes.delete(record.sid);
      withdrawn.push(queued);
    }
    return withdrawn;
  }

  /** Records waiting for the next flush. */
  pending(): number {
    return this.batch.size;
  }

  /**
   * Publishes what is queued. The queued records are the store's live objects: a later
   * write or a remote merge may have grown them since they were queued (a 64 KiB metadata
   * update), so they are measured again here and split into messages by their real encoded
   * size (splitIntoFrames is exact for valid records), never by what they weighed when queued.
   */
  flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    if (this.batch.size === 0) return;
    const records = [...this.batch.values()];
    this.batch = new Map();
    this.batchSizes = new Map();
    this.batchBytes = BATCH_OVERHEAD_BYTES;
    for (const group of splitIntoFrames(records, BATCH_RECORD_BYTES_MAX, BATCH_RECORDS_MAX)) {
      this.publishGroup(group);
    }
  }

  private publishGroup(records: readonly Readonly<RoomRecord>[]): void {
    if (this.inFlight >= this.config.publishInFlightMax) {
      this.counters.batchesDropped++;
      this.counters.recordsDropped += records.length;
      return;
    }
    let data: Uint8Array;
    try {
      data = encodeMessage({
        type: 'room-batch',
        origin: this.config.nodeId,
        seq: this.seq++,
        sentAt: this.host.stamp(),
        records: records as RoomRecord[],
      });
    } catch {
      // Cannot happen for records the store accepted; if it does, send the halves so one bad
      // record costs only itself (anti-entropy carries it if it is valid after all).
      if (records.length > 1) {
        const half = records.length >> 1;
        this.publishGroup(records.slice(0, half));
        this.publishGroup(records.slice(half));
      } else {
        this.counters.recordsUnencodable += records.length;
      }
      return;
    }
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
