/**
 * Pull anti-entropy (DESIGN.md section 7, docs/protocol/sync.md). Gossip repairs losses only
 * inside its short message cache, so every syncIntervalMs (and at once when a peer connects)
 * a node pulls from one peer:
 *
 *   1. digest exchange (one request, one response): each side's per-bucket digests;
 *   2. bucket pull: the initiator asks for the buckets whose digests differ and the peer
 *      streams every incarnation in them (tombstones included) in bounded frames.
 *
 * A responder that sees differing digests also schedules its own pull from the initiator, so
 * one session repairs both directions quickly. An empty node receives everything this way
 * (cold join). Sessions served at once are bounded by syncServeMax; more are refused.
 */
import {
  decodeMessage,
  encodeMessage,
  FRAME_RECORDS_MAX,
  type Message,
  type RoomRecord,
  splitIntoFrames,
} from '@roomring/protocol';
import type { NodeConfig } from './config.js';
import type { PeerId, Transport } from './transport.js';

export const SYNC_DIGEST_PROTOCOL = '/roomring/sync-digest/1';
export const SYNC_BUCKETS_PROTOCOL = '/roomring/sync-buckets/1';

/** Frames one pull may answer with: 65,536 x FRAME_RECORDS_MAX records is far past any store
 *  this node can hold, so the bound only stops a peer that never ends its stream (the
 *  session deadline stops a slow one). */
const PULL_FRAMES_MAX = 65_536;

/** Buckets asked for in one pull request: 1,024 x 4 B keeps the request under 8 KiB. */
const BUCKETS_PER_REQUEST_MAX = 1_024;

export interface SyncStoreView {
  bucketCount: number;
  bucketDigests(): Uint32Array;
  digest(): string;
  recordCount(): number;
  recordsInBucket(bucket: number): Iterable<Readonly<RoomRecord>>;
}

export interface AntiEntropyHost {
  store(): SyncStoreView;
  /** Merges a record received from `from`; the registry emits events. */
  mergeRemote(record: RoomRecord): void;
  stamp(): number;
  /** Whether this node may serve its state (false while resyncing: GC-horizon rule). */
  canServe(): boolean;
}

export interface SyncOutcome {
  peer: PeerId;
  bucketsDiffering: number;
  recordsReceived: number;
}

export interface AntiEntropyCounters {
  sessionsStarted: number;
  sessionsCompleted: number;
  sessionsFailed: number;
  sessionsServed: number;
  sessionsRefused: number;
  bucketsRepaired: number;
  recordsReceived: number;
  recordsSent: number;
  protocolErrors: number;
}

export class SyncRefusedError extends Error {
  override readonly name = 'SyncRefusedError';
}

/** Digests on the wire: two little-endian uint32 per bucket. */
export function digestsToBytes(words: Uint32Array): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(i * 4, words[i]!, true);
  return bytes;
}

/** Indexes of buckets whose digests differ. */
export function differingBuckets(mine: Uint32Array, theirs: Uint8Array): number[] {
  const view = new DataView(theirs.buffer, theirs.byteOffset, theirs.byteLength);
  const out: number[] = [];
  for (let b = 0; b < mine.length / 2; b++) {
    if (
      mine[2 * b] !== view.getUint32(8 * b, true) ||
      mine[2 * b + 1] !== view.getUint32(8 * b + 4, true)
    ) {
      out.push(b);
    }
  }
  return out;
}

export class AntiEntropy {
  private readonly running = new Set<PeerId>();
  /** Sessions waiting for a slot, in arrival order; one per peer (bounded by members). */
  private readonly wakeups: { peer: PeerId; resolve: () => void }[] = [];
  private readonly waiting = new Map<PeerId, Promise<void>>();
  private serving = 0;
  readonly counters: AntiEntropyCounters = {
    sessionsStarted: 0,
    sessionsCompleted: 0,
    sessionsFailed: 0,
    sessionsServed: 0,
    sessionsRefused: 0,
    bucketsRepaired: 0,
    recordsReceived: 0,
    recordsSent: 0,
    protocolErrors: 0,
  };

  constructor(
    private readonly config: NodeConfig,
    private readonly transport: Transport,
    private readonly host: AntiEntropyHost,
  ) {}

  register(): void {
    this.transport.handle(SYNC_DIGEST_PROTOCOL, (frame, from) => this.serveDigest(frame, from));
    this.transport.handle(SYNC_BUCKETS_PROTOCOL, (frame) => this.serveBuckets(frame));
  }

  isSyncing(peer: PeerId): boolean {
    return this.running.has(peer) || this.waiting.has(peer);
  }

  private digestMessage(): Message {
    const store = this.host.store();
    return {
      type: 'sync-digest',
      nodeId: this.config.nodeId,
      sentAt: this.host.stamp(),
      bucketCount: store.bucketCount,
      digests: digestsToBytes(store.bucketDigests()),
      storeDigest: store.digest(),
      recordCount: store.recordCount(),
    };
  }

  private async single(peer: PeerId, protocol: string, message: Message): Promise<Message> {
    for await (const frame of this.transport.request(peer, protocol, encodeMessage(message), {
      timeoutMs: this.config.syncTimeoutMs,
      framesMax: 1,
    })) {
      return this.decode(frame);
    }
    throw new SyncRefusedError(`${peer} closed ${protocol} without an answer`);
  }

  private decode(frame: Uint8Array): Message {
    const result = decodeMessage(frame);
    if (!result.ok) {
      this.counters.protocolErrors++;
      throw result.error;
    }
    if (result.message.type === 'rpc-error') {
      throw new SyncRefusedError(`${result.message.code}: ${result.message.message}`);
    }
    return result.message;
  }

  /**
   * Runs one pull session with `peer`; at most one per peer, and at most syncOutboundMax at
   * once. A request past that bound waits for a free slot (one waiting entry per peer), so a
   * node joining a cluster pulls everything from one peer and then finds the others equal,
   * instead of pulling every room from every peer at once.
   */
  async syncWith(peer: PeerId): Promise<SyncOutcome | undefined> {
    if (this.running.has(peer)) return undefined;
    if (this.running.size >= this.config.syncOutboundMax) {
      let waiter = this.waiting.get(peer);
      if (!waiter) {
        waiter = new Promise<void>((resolve) => this.wakeups.push({ peer, resolve }));
        this.waiting.set(peer, waiter);
      }
      await waiter;
      if (this.running.has(peer)) return undefined;
    }
    this.running.add(peer);
    this.counters.sessionsStarted++;
    try {
      const answer = await this.single(peer, SYNC_DIGEST_PROTOCOL, this.digestMessage());
      if (answer.type !== 'sync-digest') throw new SyncRefusedError(`unexpected ${answer.type}`);
      const store = this.host.store();
      if (answer.bucketCount !== store.bucketCount) {
        throw new SyncRefusedError(
          `bucket count ${answer.bucketCount} differs from ours (${store.bucketCount})`,
        );
      }
      const buckets = differingBuckets(store.bucketDigests(), answer.digests);
      let recordsReceived = 0;
      for (let i = 0; i < buckets.length; i += BUCKETS_PER_REQUEST_MAX) {
        recordsReceived += await this.pull(peer, buckets.slice(i, i + BUCKETS_PER_REQUEST_MAX));
      }
      this.counters.sessionsCompleted++;
      this.counters.bucketsRepaired += buckets.length;
      return { peer, bucketsDiffering: buckets.length, recordsReceived };
    } catch (error) {
      this.counters.sessionsFailed++;
      throw error;
    } finally {
      this.running.delete(peer);
      const next = this.wakeups.shift();
      if (next) {
        this.waiting.delete(next.peer);
        next.resolve();
      }
    }
  }

  private async pull(peer: PeerId, buckets: number[]): Promise<number> {
    const request = encodeMessage({ type: 'sync-bucket-request', buckets });
    let received = 0;
    for await (const frame of this.transport.request(peer, SYNC_BUCKETS_PROTOCOL, request, {
      timeoutMs: this.config.syncTimeoutMs,
      framesMax: PULL_FRAMES_MAX,
    })) {
      const message = this.decode(frame);
      if (message.type !== 'sync-bucket-records') {
        throw new SyncRefusedError(`unexpected ${message.type}`);
      }
      for (const record of message.records) this.host.mergeRemote(record);
      received += message.records.length;
      this.counters.recordsReceived += message.records.length;
      // Read on past `done` until the responder ends the stream, so it finishes cleanly.
    }
    return received;
  }

  private refusal(code: 'overloaded' | 'unavailable' | 'bad-request', text: string): Uint8Array {
    this.counters.sessionsRefused++;
    return encodeMessage({ type: 'rpc-error', requestId: 0, code, message: text });
  }

  private async serveDigest(frame: Uint8Array, from: PeerId): Promise<Uint8Array> {
    if (!this.host.canServe()) return this.refusal('unavailable', 'resyncing');
    const result = decodeMessage(frame);
    if (!result.ok || result.message.type !== 'sync-digest') {
      this.counters.protocolErrors++;
      return this.refusal('bad-request', 'expected sync-digest');
    }
    const theirs = result.message;
    const store = this.host.store();
    if (
      theirs.bucketCount === store.bucketCount &&
      !this.running.has(from) &&
      differingBuckets(store.bucketDigests(), theirs.digests).length > 0
    ) {
      // Repair the other direction too; failures are retried by the periodic session.
      queueMicrotask(() => {
        this.syncWith(from).catch(() => undefined);
      });
    }
    return encodeMessage(this.digestMessage());
  }

  private serveBuckets(frame: Uint8Array): AsyncIterable<Uint8Array> | Promise<Uint8Array> {
    if (!this.host.canServe()) return Promise.resolve(this.refusal('unavailable', 'resyncing'));
    if (this.serving >= this.config.syncServeMax) {
      return Promise.resolve(this.refusal('overloaded', 'too many sync sessions'));
    }
    const result = decodeMessage(frame);
    const store = this.host.store();
    if (
      !result.ok ||
      result.message.type !== 'sync-bucket-request' ||
      result.message.buckets.some((b) => b >= store.bucketCount)
    ) {
      this.counters.protocolErrors++;
      return Promise.resolve(this.refusal('bad-request', 'expected sync-bucket-request'));
    }
    return this.streamBuckets(result.message.buckets);
  }

  private async *streamBuckets(buckets: readonly number[]): AsyncGenerator<Uint8Array> {
    this.serving++;
    this.counters.sessionsServed++;
    try {
      const store = this.host.store();
      let records: Readonly<RoomRecord>[] = [];
      let covered: number[] = [];
      // Gathers buckets until about half a frame's records are pending, then sends them; the
      // last frame of each group lists the buckets it completes.
      for (const [i, bucket] of buckets.entries()) {
        for (const record of store.recordsInBucket(bucket)) records.push(record);
        covered.push(bucket);
        const last = i === buckets.length - 1;
        if (!last && records.length < FRAME_RECORDS_MAX / 2) continue;
        const frames = splitIntoFrames(records, this.config.syncFrameBytesMax, FRAME_RECORDS_MAX);
        if (frames.length === 0) frames.push([]);
        for (const [j, frameRecords] of frames.entries()) {
          const lastOfGroup = j === frames.length - 1;
          this.counters.recordsSent += frameRecords.length;
          yield encodeMessage({
            type: 'sync-bucket-records',
            buckets: lastOfGroup ? covered : [],
            records: [...frameRecords],
            done: last && lastOfGroup,
          });
        }
        records = [];
        covered = [];
      }
      if (buckets.length === 0) {
        yield encodeMessage({ type: 'sync-bucket-records', buckets: [], records: [], done: true });
      }
    } finally {
      this.serving--;
    }
  }
}
