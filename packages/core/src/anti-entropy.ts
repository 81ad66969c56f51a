/**
 * Pull anti-entropy (DESIGN.md section 7, docs/protocol/sync.md). Gossip repairs losses only
 * inside its short message cache, so every syncIntervalMs (and at once when a peer connects)
 * a node pulls from one peer:
 *
 *   1. digest exchange (one request, one response): each side's per-bucket digests;
 *   2. buckets that differ and where the initiator holds nothing (a cold join): pulled whole,
 *      every incarnation (tombstones included) streamed in bounded frames;
 *   3. the other differing buckets: the initiator sends its cell digests of them (16 per
 *      bucket) and the peer streams a summary (bucket, cell, sid, 64-bit record hash) of each
 *      record in the cells that differ; the initiator marks the sids it lacks or holds with
 *      another hash as wanted (a peer of an older build gets the whole-bucket summary
 *      request instead);
 *   4. the wanted sids are pulled, at most SYNC_SIDS_MAX per request.
 *
 * Step 3 is what keeps a repair proportional to what differs: 1,000 rooms lost by gossip land
 * in ~880 of 4,096 buckets, which at 1M rooms hold ~215k records (~50 MB); the summaries of
 * their ~990 differing cells cover ~15k records (~0.5 MB) and only the ~1,000 differing records
 * are sent. Records the
 * initiator holds and the peer lacks are not pushed: a responder that sees differing digests
 * schedules its own pull from the initiator, so one session repairs both directions. Sessions
 * served at once are bounded by syncServeMax (summaries and records alike); more are refused.
 */
import {
  CELL_SUMMARY_ENTRY_BYTES_MAX,
  CELLS_PER_BUCKET,
  decodeMessage,
  encodeMessage,
  FRAME_RECORDS_MAX,
  type Message,
  RECORD_BYTES_MAX,
  type RoomRecord,
  type RpcErrorCode,
  SUMMARY_ENTRIES_MAX,
  SUMMARY_ENTRY_BYTES_MAX,
  SYNC_SIDS_MAX,
  type SyncCellSummaryEntry,
  type SyncSummaryEntry,
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

/** A differing bucket not seen differing again for this many sync intervals is forgotten
 *  (it was repaired through another peer or by gossip). */
const DIFFERING_FORGET_INTERVALS = 4;

/**
 * How long a held bucket must have been seen differing before it is compared: gossip on the
 * wire lands in milliseconds (flush + a hop), within a second under a sustained fill, so a
 * difference still there after this is a real loss. At most one sync interval.
 */
const DIFFERING_SETTLE_MS = 1_000;

export function differingSettleMs(config: Pick<NodeConfig, 'syncIntervalMs'>): number {
  return Math.min(config.syncIntervalMs, DIFFERING_SETTLE_MS);
}

/**
 * A differing bucket whose own digest is still changing here is receiving gossip, so the
 * difference is most likely that gossip in flight: it is compared once it has been quiet here
 * for differingSettleMs, or, under writes that never pause, once it has been differing for
 * this many settle periods anyway (10 s at most). During a fill every bucket changes many
 * times a second and differs from every peer at every session; comparing each one after a
 * second re-read every record's summary on both sides about once a second (measured: ~20% of
 * each process's CPU while 5 nodes filled 100k rooms) to find nothing.
 */
export const DIFFERING_CHURN_SETTLE_PERIODS = 10;

/**
 * The churn rule's wait doubles for a bucket each time it is compared under it (10, 20, 40,
 * then 80 settle periods: 80 s at most), and starts again from DIFFERING_CHURN_SETTLE_PERIODS
 * once the bucket is compared while quiet here or is no longer seen differing. A fill that
 * never pauses for minutes keeps every bucket differing and changing: with a fixed 10 s wait
 * each node re-read a summary of its whole store about every 10 s, both sides, and found
 * nothing gossip was not already bringing (measured: about half of a node's CPU between 600k
 * and 700k rooms, ~465k summary entries served and read per 80k records received). What a
 * real loss in such a bucket waits for grows with it: at most this many settle periods while
 * its writes go on, and one settle period once they stop.
 */
export const DIFFERING_CHURN_SETTLE_PERIODS_MAX = 80;

/*
 * A comparison under the churn rule asks only for the cells that were quiet on both sides for
 * a settle period (sync-cell-summary-request with `quiet`): the initiator marks the cells
 * whose digest changed here within it, and the responder leaves those out as well as the
 * ones that changed there. A cell that differs while it is quiet on both sides is a real
 * loss; one that changed within the last second most likely differs by gossip in flight.
 * Measured with 5 processes filling 1M rooms (a throwaway fill script, 2026-12-07): each
 * churn comparison of every bucket still served about 130k summary entries per 100k-room
 * step to find ~100 records gossip had not yet brought, and the steps with one cost 12-16
 * against 8-11 us of CPU per record per process. The comparison made once the wait has
 * reached DIFFERING_CHURN_SETTLE_PERIODS_MAX, and every one after it while the writes go on,
 * is complete (no cell left out), so a loss in a cell that never stops changing (a room
 * updated every second) is still repaired within 10 + 20 + 40 + 80 settle periods.
 */

/** Buckets asked for in one pull or summary request: 1,024 x 4 B keeps it under 8 KiB (a
 *  cell summary request adds 1,024 x 128 B of cell digests: 128 KiB). */
const BUCKETS_PER_REQUEST_MAX = 1_024;

/**
 * A peer that refused a cell summary request as a bad request (a build from before cell
 * summaries) is asked for whole-bucket summaries for this long, then asked again (it may have
 * been upgraded meanwhile).
 */
export const CELL_SUMMARY_RETRY_MS = 600_000;

/**
 * Wanted sids one summary may collect before the initiator stops reading it and pulls what
 * it has (the next session compares the rest): 262,144 sids x ~80 B = ~20 MB held at most,
 * and 16 pull requests of SYNC_SIDS_MAX. Only two stores that differ in ~all of 1,024
 * buckets holding more than 256 records each (1M+ rooms) reach it.
 */
const WANTED_MAX = 16 * SYNC_SIDS_MAX;

/** What a sync session reads from the store (a view, so tests can fake it). */
export interface SyncStoreView {
  bucketCount: number;
  bucketDigests(): Uint32Array;
  digest(): string;
  recordCount(): number;
  recordsInBucket(bucket: number): Iterable<Readonly<RoomRecord>>;
  /** Names the bucket holds records of (0: none), without reading them. */
  namesInBucket(bucket: number): number;
  /** A copy of the bucket's CELLS_PER_BUCKET cell digests: words 2c and 2c+1 are the low and
   *  high word of cell c's (the XOR of its records' hashes). */
  cellDigests(bucket: number): Uint32Array;
  /** The records of one cell of a bucket (`cellOfHash` of their name's hash in @roomring/store). */
  recordsInCell(bucket: number, cell: number): Iterable<Readonly<RoomRecord>>;
  /** The cells of `bucket` whose digest changed later than `afterMs` (the node's clock,
   *  as nowMs): bit c for cell c. */
  cellsChangedAfter(bucket: number, afterMs: number): number;
  /** The 64-bit hash the bucket digests XOR together, as [high, low] uint32 words
   *  (`recordHash` of @roomring/store): equal records give equal hashes on every node. */
  recordHash(record: Readonly<RoomRecord>): readonly [hi: number, lo: number];
}

export interface AntiEntropyHost {
  store(): SyncStoreView;
  /** Merges a record received from `from`; the registry emits events. Takes the record
   *  (Replica.mergeRemote): the store may keep the object itself. */
  mergeRemote(record: RoomRecord): void;
  stamp(): number;
  nowMs(): number;
  /** Whether this node may serve its records and digests (false while resyncing: the
   *  GC-horizon rule). */
  canServe(): boolean;
  /** Whether it may serve summaries (sid and hash only, nothing a peer merges): also while
   *  resyncing, so two nodes back from isolation can compare their stores. */
  canServeSummaries(): boolean;
  /** A session with `peer` ended; `outcome.complete` tells whether it pulled everything. */
  sessionCompleted(peer: PeerId, outcome: SyncOutcome): void;
  /** Schedules a follow-up session (the node's guarded timers). */
  setTimer(delayMs: number, callback: () => void): void;
  /** Whether the node runs sessions now (running, not resyncing). */
  syncing(): boolean;
  /** Whether `peer` holds history from before this store began (Isolation.peerHistoryIsOlder):
   *  a session with it compares every differing bucket at once. */
  peerHistoryIsOlder(peer: PeerId): boolean;
  isConnected(peer: PeerId): boolean;
}

export interface SyncOutcome {
  peer: PeerId;
  bucketsDiffering: number;
  /** Summary entries the peer sent for differing buckets this node already held records in. */
  summariesReceived: number;
  /** Sids those summaries showed to be missing here or different. */
  recordsWanted: number;
  recordsReceived: number;
  /** Differing buckets left for the next session: they did not differ in the previous one. */
  bucketsDeferred: number;
  /** Every differing bucket was compared and what was missing pulled: this node now holds
   *  everything the peer held when the session began (no deferral, no summary cut short). */
  complete: boolean;
  /** Buckets compared (or pulled whole) in this session. */
  bucketsCompared: number[];
}

export interface AntiEntropyCounters {
  sessionsStarted: number;
  sessionsCompleted: number;
  sessionsFailed: number;
  sessionsServed: number;
  sessionsRefused: number;
  bucketsRepaired: number;
  /** Differing buckets left for the next session (see syncWith). */
  bucketsDeferred: number;
  /** Summary entries received (one per record of a summarised bucket). */
  summariesReceived: number;
  /** Summary entries sent. */
  summariesSent: number;
  /** Differing cells a summary left out because they were not quiet (the churn rule's
   *  comparisons, docs/protocol/sync.md). */
  cellsLeftOut: number;
  /** Sids pulled because a summary showed them missing here or different. */
  recordsWanted: number;
  recordsReceived: number;
  recordsSent: number;
  protocolErrors: number;
}

/** The peer refused the session or answered something this side did not ask for. */
export class SyncRefusedError extends Error {
  override readonly name = 'SyncRefusedError';
  constructor(
    message: string,
    /** The peer's rpc-error code, when it answered one. */
    readonly code?: RpcErrorCode,
  ) {
    super(message);
  }
}

/** The peer's summary broke the protocol (a bucket not asked for, or one bucket's entries
 *  spread apart): the session fails and the error is counted. */
export class SyncProtocolError extends Error {
  override readonly name = 'SyncProtocolError';
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

/**
 * Splits differing buckets into those this node holds no record in (pulled whole: a cold
 * join stays a single pass) and those it holds records in (summarised first).
 */
export function splitByHolding(
  store: Pick<SyncStoreView, 'namesInBucket'>,
  buckets: readonly number[],
): { empty: number[]; held: number[] } {
  const empty: number[] = [];
  const held: number[] = [];
  for (const bucket of buckets) (store.namesInBucket(bucket) === 0 ? empty : held).push(bucket);
  return { empty, held };
}

/**
 * Record bytes per sync frame: syncFrameBytesMax, but never less than one record of the
 * largest valid size (RECORD_BYTES_MAX, 66,598 B with 64 KiB of metadata): below that, a room
 * with large metadata could never be sent and every session touching its bucket would fail
 * (found by the swarm with a 62 KiB setting). FRAME_RECORD_BYTES_MAX still bounds it.
 */
export function recordFrameBytes(config: Pick<NodeConfig, 'syncFrameBytesMax'>): number {
  return Math.max(config.syncFrameBytesMax, RECORD_BYTES_MAX);
}

/**
 * Summary entries this node puts in one frame (a peer accepts up to SUMMARY_ENTRIES_MAX). A
 * frame is produced synchronously: each entry hashes a record (~3 us) and is encoded, so a
 * frame of 16,384 entries held the event loop ~100 ms, and a summary of 1,024 buckets at 500k
 * rooms was a run of such frames that left heartbeats waiting (measured: 0.7 s of one node's
 * 1.7 s event-loop stall during a fill). 4,096 entries is about one FRAME_RECORDS_MAX frame's
 * work (~15-20 ms); the transport gives the loop a turn between frames.
 */
export const SUMMARY_FRAME_ENTRIES = 4_096;

/** Summary entries per frame: SUMMARY_FRAME_ENTRIES, fewer when syncFrameBytesMax is small
 *  (16 KiB in the test profile = 546 entries of at most SUMMARY_ENTRY_BYTES_MAX, 528 cell
 *  entries of at most CELL_SUMMARY_ENTRY_BYTES_MAX). */
export function summaryEntriesPerFrame(
  frameBytesMax: number,
  entryBytesMax: number = SUMMARY_ENTRY_BYTES_MAX,
): number {
  return Math.max(
    1,
    Math.min(SUMMARY_ENTRIES_MAX, SUMMARY_FRAME_ENTRIES, Math.floor(frameBytesMax / entryBytesMax)),
  );
}

/** A record a summary showed to differ: its sid and the bucket it lives in. */
export interface WantedRecord {
  bucket: number;
  sid: string;
}

/** Marks sids a local bucket holds more than once (two names, one sid): always wanted. */
const AMBIGUOUS: readonly [number, number] = [-1, -1];

/**
 * Compares a peer's summary with this node's records, bucket by bucket (`add`: whole-bucket
 * summaries) or cell by cell (`addCells`: cell summaries). Entries must come only for the
 * buckets asked for, each bucket's (or cell's) entries together (as every responder writes
 * them), so each local bucket or cell is indexed once: O(records of the buckets or cells)
 * time, and memory for one bucket's index plus the wanted list. A sid held under two names
 * is always wanted when both are in the part indexed (the bucket, or the cell).
 */
export class SummaryComparer {
  private readonly requested: Set<number>;
  /** Buckets (add) or bucket * CELLS_PER_BUCKET + cell (addCells) already compared. */
  private readonly finished = new Set<number>();
  private current = -1;
  private index = new Map<string, readonly [number, number]>();
  readonly wanted: WantedRecord[] = [];

  constructor(
    private readonly store: Pick<SyncStoreView, 'recordsInBucket' | 'recordsInCell' | 'recordHash'>,
    buckets: readonly number[],
  ) {
    this.requested = new Set(buckets);
  }

  /** Feeds one frame's entries. Throws SyncProtocolError for an entry out of place. */
  add(entries: readonly SyncSummaryEntry[]): void {
    for (const entry of entries) {
      if (entry.bucket !== this.current) {
        this.enter(entry.bucket, `bucket ${entry.bucket}`, entry.bucket);
        this.indexRecords(this.store.recordsInBucket(entry.bucket));
      }
      this.compare(entry);
    }
  }

  /** Feeds one frame's cell summary entries. Throws SyncProtocolError for one out of place. */
  addCells(entries: readonly SyncCellSummaryEntry[]): void {
    for (const entry of entries) {
      const unit = entry.bucket * CELLS_PER_BUCKET + entry.cell;
      if (unit !== this.current) {
        this.enter(unit, `cell ${entry.cell} of bucket ${entry.bucket}`, entry.bucket);
        this.indexRecords(this.store.recordsInCell(entry.bucket, entry.cell));
      }
      this.compare(entry);
    }
  }

  private compare(entry: SyncSummaryEntry): void {
    const mine = this.index.get(entry.sid);
    if (
      mine === undefined ||
      mine === AMBIGUOUS ||
      mine[0] !== entry.hashHi ||
      mine[1] !== entry.hashLo
    ) {
      this.wanted.push({ bucket: entry.bucket, sid: entry.sid });
    }
  }

  private enter(unit: number, what: string, bucket: number): void {
    if (!this.requested.has(bucket)) {
      throw new SyncProtocolError(`summary entry for bucket ${bucket}, which was not asked for`);
    }
    if (this.finished.has(unit)) {
      throw new SyncProtocolError(`summary entries for ${what} are not together`);
    }
    if (this.current >= 0) this.finished.add(this.current);
    this.current = unit;
  }

  private indexRecords(records: Iterable<Readonly<RoomRecord>>): void {
    this.index = new Map();
    for (const record of records) {
      this.index.set(
        record.sid,
        this.index.has(record.sid) ? AMBIGUOUS : this.store.recordHash(record),
      );
    }
  }
}

/**
 * Groups wanted records into pull requests of at most `sidsMax` distinct sids, each with the
 * distinct buckets its sids live in. A sid wanted in two buckets (two names) is asked for
 * once, with both buckets: the responder sends every record of those buckets with that sid.
 */
export function groupWanted(
  wanted: readonly WantedRecord[],
  sidsMax: number,
): { buckets: number[]; sids: string[] }[] {
  const bucketsBySid = new Map<string, number[]>();
  for (const { bucket, sid } of wanted) {
    const buckets = bucketsBySid.get(sid);
    if (buckets === undefined) bucketsBySid.set(sid, [bucket]);
    else if (!buckets.includes(bucket)) buckets.push(bucket);
  }
  const groups: { buckets: number[]; sids: string[] }[] = [];
  let sids: string[] = [];
  let buckets = new Set<number>();
  for (const [sid, sidBuckets] of bucketsBySid) {
    sids.push(sid);
    for (const bucket of sidBuckets) buckets.add(bucket);
    if (sids.length === sidsMax) {
      groups.push({ buckets: [...buckets], sids });
      sids = [];
      buckets = new Set();
    }
  }
  if (sids.length > 0) groups.push({ buckets: [...buckets], sids });
  return groups;
}

/** A held bucket seen differing: since when, when last, and this node's digest of it when
 *  last seen with since when it has had that value (quiet here). */
interface DifferingBucket {
  sinceMs: number;
  lastMs: number;
  hi: number;
  lo: number;
  quietSinceMs: number;
}

export class AntiEntropy {
  private readonly running = new Set<PeerId>();
  /**
   * Held buckets seen differing, with when that was first and last seen: at most
   * bucketCount entries; an entry not seen again for DIFFERING_FORGET_INTERVALS sync
   * intervals is dropped.
   */
  private readonly differing = new Map<number, DifferingBucket>();
  /**
   * Held buckets last compared under the churn rule: the settle periods that rule now waits
   * for each (DIFFERING_CHURN_SETTLE_PERIODS when absent) and when the bucket was last seen
   * differing. At most bucketCount entries; an entry not seen differing for
   * DIFFERING_FORGET_INTERVALS sync intervals is dropped.
   */
  private readonly churnWaits = new Map<number, { periods: number; lastMs: number }>();
  /** Peers that refused a cell summary request (an older build), until when they are asked
   *  for whole-bucket summaries instead: one entry per such peer, dropped when it expires. */
  private readonly cellSummariesRefused = new Map<PeerId, number>();
  /** Peers that refused a cell summary request with a quiet period (an older build), until
   *  when they are asked without one: one entry per such peer, dropped when it expires. */
  private readonly quietCellsRefused = new Map<PeerId, number>();
  /** Sessions waiting for a slot, in arrival order; one per peer (bounded by members). */
  private readonly wakeups: { peer: PeerId; resolve: () => void }[] = [];
  private readonly waiting = new Map<PeerId, Promise<void>>();
  /** Peers with a follow-up session scheduled (at most one each). */
  private readonly followUps = new Set<PeerId>();
  /** The delay of each peer's last follow-up (followUp): at most one entry per peer with a
   *  session that deferred buckets, dropped once one defers none. */
  private readonly followUpDelays = new Map<PeerId, number>();
  private serving = 0;
  readonly counters: AntiEntropyCounters = {
    sessionsStarted: 0,
    sessionsCompleted: 0,
    sessionsFailed: 0,
    sessionsServed: 0,
    sessionsRefused: 0,
    bucketsRepaired: 0,
    bucketsDeferred: 0,
    summariesReceived: 0,
    summariesSent: 0,
    cellsLeftOut: 0,
    recordsWanted: 0,
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
    this.transport.handle(SYNC_BUCKETS_PROTOCOL, (frame) => this.serveSync(frame));
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

  /**
   * The digest exchange: one small request (bucketCount x 8 B) a healthy peer answers in
   * milliseconds, so its deadline is min(syncTimeoutMs, 4 x probeTimeoutMs). A stopped or
   * cut-off peer then holds this node's only outbound session slot (syncOutboundMax) for a
   * few seconds, not syncTimeoutMs, and anti-entropy with everyone else goes on.
   */
  private async exchangeDigests(peer: PeerId): Promise<Message> {
    const timeoutMs = Math.min(this.config.syncTimeoutMs, 4 * this.config.probeTimeoutMs);
    const request = encodeMessage(this.digestMessage());
    for await (const frame of this.transport.request(peer, SYNC_DIGEST_PROTOCOL, request, {
      timeoutMs,
      framesMax: 1,
    })) {
      return this.decode(frame);
    }
    throw new SyncRefusedError(`${peer} closed ${SYNC_DIGEST_PROTOCOL} without an answer`);
  }

  private decode(frame: Uint8Array): Message {
    const result = decodeMessage(frame);
    if (!result.ok) {
      this.counters.protocolErrors++;
      throw result.error;
    }
    if (result.message.type === 'rpc-error') {
      throw new SyncRefusedError(
        `${result.message.code}: ${result.message.message}`,
        result.message.code,
      );
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
      const answer = await this.exchangeDigests(peer);
      if (answer.type !== 'sync-digest') throw new SyncRefusedError(`unexpected ${answer.type}`);
      const store = this.host.store();
      if (answer.bucketCount !== store.bucketCount) {
        throw new SyncRefusedError(
          `bucket count ${answer.bucketCount} differs from ours (${store.bucketCount})`,
        );
      }
      const digests = store.bucketDigests();
      const buckets = differingBuckets(digests, answer.digests);
      // A bucket that differs now but did not a moment ago is most likely just waiting for
      // gossip already on the wire; comparing it now would re-read (and under a sustained
      // write load, keep re-reading) summaries gossip is about to make equal. So a held
      // bucket is repaired once it has been seen differing for differingSettleMs (1 s at
      // most), with any peers, and its digest here did not change meanwhile (or it has
      // differed for DIFFERING_CHURN_SETTLE_PERIODS settle periods, still receiving writes);
      // buckets this node holds nothing of are pulled at once. A
      // session that deferred buckets is followed by another one then (followUp). (Requiring it to differ
      // in two sessions in a row, as before, starved a record half the peers lacked: random
      // peers alternated between having it and not. Found by the swarm, seed 77.)
      // A peer whose history reaches back before this store's may hold records gossip will
      // never bring (this node restarted empty while it kept them): nothing is deferred, so
      // the first session with it is complete and the records are held twice again as soon
      // as possible (swarm seed 8075: the lone survivor of a regional outage was killed
      // 1.8 s after it served again, and the room-15 bucket, which held a room created here
      // meanwhile, had been deferred at every session with it).
      const { settled, churned } = this.host.peerHistoryIsOlder(peer)
        ? { settled: new Set(buckets), churned: new Set<number>() }
        : this.settledDifferences(buckets, digests);
      // Churned buckets are compared cell by cell where quiet on both sides, until their
      // wait reaches the cap (see DIFFERING_CHURN_SETTLE_PERIODS_MAX).
      const quietOnly = new Set<number>();
      for (const bucket of churned) {
        const periods = this.churnWaits.get(bucket)?.periods ?? DIFFERING_CHURN_SETTLE_PERIODS;
        if (periods < DIFFERING_CHURN_SETTLE_PERIODS_MAX) quietOnly.add(bucket);
      }
      const outcome = await this.repair(peer, store, buckets, settled, quietOnly);
      for (const bucket of outcome.bucketsCompared) {
        this.differing.delete(bucket);
        if (churned.has(bucket)) this.lengthenChurnWait(bucket);
        else this.churnWaits.delete(bucket);
      }
      this.counters.sessionsCompleted++;
      this.counters.bucketsRepaired += buckets.length;
      this.host.sessionCompleted(peer, outcome);
      if (outcome.bucketsDeferred > 0) {
        // Buckets compared under the churn rule were still changing: not a sign of settling.
        this.followUp(
          peer,
          outcome.bucketsCompared.some((bucket) => !churned.has(bucket)),
        );
      } else {
        this.followUpDelays.delete(peer);
      }
      return outcome;
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

  /**
   * Notes when each differing held bucket was first seen so and whether its digest here
   * changed since. Returns as `settled` those that have differed for differingSettleMs while
   * quiet here, or, whatever their churn, for the settle periods the churn rule waits for
   * them (DIFFERING_CHURN_SETTLE_PERIODS, lengthened by each comparison it caused); those
   * settled only by the churn rule are also in `churned`.
   */
  private settledDifferences(
    buckets: readonly number[],
    digests: Uint32Array,
  ): { settled: Set<number>; churned: Set<number> } {
    const now = this.host.nowMs();
    const settleMs = differingSettleMs(this.config);
    const settled = new Set<number>();
    const churned = new Set<number>();
    for (const bucket of buckets) {
      const hi = digests[2 * bucket]!;
      const lo = digests[2 * bucket + 1]!;
      const churnWait = this.churnWaits.get(bucket);
      if (churnWait !== undefined) churnWait.lastMs = now;
      const seen = this.differing.get(bucket);
      if (seen === undefined) {
        this.differing.set(bucket, { sinceMs: now, lastMs: now, hi, lo, quietSinceMs: now });
        continue;
      }
      seen.lastMs = now;
      if (seen.hi !== hi || seen.lo !== lo) {
        seen.hi = hi;
        seen.lo = lo;
        seen.quietSinceMs = now;
      }
      const churnPeriods = churnWait?.periods ?? DIFFERING_CHURN_SETTLE_PERIODS;
      if (now - seen.sinceMs >= settleMs && now - seen.quietSinceMs >= settleMs) {
        settled.add(bucket);
      } else if (now - seen.sinceMs >= churnPeriods * settleMs) {
        settled.add(bucket);
        churned.add(bucket);
      }
    }
    const forgetBefore = now - DIFFERING_FORGET_INTERVALS * this.config.syncIntervalMs;
    for (const [bucket, seen] of this.differing) {
      if (seen.lastMs < forgetBefore) this.differing.delete(bucket);
    }
    for (const [bucket, churnWait] of this.churnWaits) {
      if (churnWait.lastMs < forgetBefore) this.churnWaits.delete(bucket);
    }
    return { settled, churned };
  }

  /** A bucket was compared under the churn rule: the rule's next wait for it doubles, up to
   *  DIFFERING_CHURN_SETTLE_PERIODS_MAX settle periods. */
  private lengthenChurnWait(bucket: number): void {
    const periods = this.churnWaits.get(bucket)?.periods ?? DIFFERING_CHURN_SETTLE_PERIODS;
    this.churnWaits.set(bucket, {
      periods: Math.min(2 * periods, DIFFERING_CHURN_SETTLE_PERIODS_MAX),
      lastMs: this.host.nowMs(),
    });
  }

  /** Steps 2-4 of a session for the buckets whose digests differ. */
  private async repair(
    peer: PeerId,
    store: SyncStoreView,
    buckets: readonly number[],
    settled: ReadonlySet<number>,
    quietOnly: ReadonlySet<number>,
  ): Promise<SyncOutcome> {
    const outcome: SyncOutcome = {
      peer,
      bucketsDiffering: buckets.length,
      summariesReceived: 0,
      recordsWanted: 0,
      recordsReceived: 0,
      bucketsDeferred: 0,
      complete: false,
      bucketsCompared: [],
    };
    const split = splitByHolding(store, buckets);
    const empty = split.empty;
    const held = split.held.filter((bucket) => settled.has(bucket));
    outcome.bucketsDeferred = split.held.length - held.length;
    outcome.bucketsCompared = [...empty, ...held];
    this.counters.bucketsDeferred += outcome.bucketsDeferred;
    for (let i = 0; i < empty.length; i += BUCKETS_PER_REQUEST_MAX) {
      const chunk = empty.slice(i, i + BUCKETS_PER_REQUEST_MAX);
      outcome.recordsReceived += await this.pull(peer, chunk, []);
    }
    const quiet = held.filter((bucket) => quietOnly.has(bucket));
    const whole = held.filter((bucket) => !quietOnly.has(bucket));
    const wholeCutShort = await this.compareHeld(peer, store, whole, false, outcome);
    const quietCutShort = await this.compareHeld(peer, store, quiet, true, outcome);
    const cutShort = wholeCutShort || quietCutShort;
    // Cells left out as not quiet are differences this session did not compare.
    outcome.complete = outcome.bucketsDeferred === 0 && !cutShort && quiet.length === 0;
    return outcome;
  }

  /** Step 3 and 4 for held buckets, BUCKETS_PER_REQUEST_MAX at a time; true when a summary
   *  was cut short at WANTED_MAX. */
  private async compareHeld(
    peer: PeerId,
    store: SyncStoreView,
    buckets: readonly number[],
    quietMode: boolean,
    outcome: SyncOutcome,
  ): Promise<boolean> {
    let cutShort = false;
    for (let i = 0; i < buckets.length; i += BUCKETS_PER_REQUEST_MAX) {
      const chunk = buckets.slice(i, i + BUCKETS_PER_REQUEST_MAX);
      const comparer = await this.summarise(peer, store, chunk, outcome, quietMode);
      if (comparer.wanted.length >= WANTED_MAX) cutShort = true;
      outcome.recordsWanted += comparer.wanted.length;
      this.counters.recordsWanted += comparer.wanted.length;
      for (const group of groupWanted(comparer.wanted, SYNC_SIDS_MAX)) {
        outcome.recordsReceived += await this.pull(peer, group.buckets, group.sids);
      }
    }
    return cutShort;
  }

  /**
   * A session left differing buckets for later (they may have been gossip in flight): ask
   * the same peer again once they have settled, instead of at the next periodic session up to
   * syncIntervalMs later. A healed partition then converges in about a second. At most one
   * follow-up pending per peer.
   *
   * `settling`: whether the session compared a bucket that had settled (not one the churn
   * rule made it compare). One that did not found every differing bucket still changing here
   * (writes that do not pause, such as a fill), so the next follow-up waits twice as long, up
   * to syncIntervalMs: during a fill a follow-up a second found the same, and each node ran
   * about 5 sessions a second (digests both ways, and the bookkeeping of 4,096 buckets) for
   * nothing. A session that compares a settled bucket, or finds none deferred, starts the
   * wait at differingSettleMs again.
   */
  private followUp(peer: PeerId, settling: boolean): void {
    if (this.followUps.has(peer) || !this.host.syncing()) return;
    const settleMs = differingSettleMs(this.config);
    const previous = this.followUpDelays.get(peer);
    const delayMs =
      settling || previous === undefined
        ? settleMs
        : Math.min(2 * previous, this.config.syncIntervalMs);
    this.followUpDelays.set(peer, delayMs);
    this.followUps.add(peer);
    this.host.setTimer(delayMs, () => {
      this.followUps.delete(peer);
      if (!this.host.syncing() || !this.host.isConnected(peer)) {
        this.followUpDelays.delete(peer);
        return;
      }
      this.syncWith(peer).catch(() => undefined);
    });
  }

  /** Whether a follow-up with `peer` is pending and waits longer than a settle period (the
   *  sessions before it compared no settled bucket). */
  private backingOff(peer: PeerId): boolean {
    return (
      this.followUps.has(peer) &&
      (this.followUpDelays.get(peer) ?? 0) > differingSettleMs(this.config)
    );
  }

  /**
   * Lists which sids `peer` holds, bucket by bucket, over every bucket: `visit(bucket, sids)`
   * runs once per bucket (an empty set where the peer holds nothing), as the summary streams
   * in, so at most one bucket's sids are held at once. Used by the GC-horizon rule; served
   * also by a resyncing peer. Throws (SyncRefusedError, SyncProtocolError, transport errors)
   * when the listing cannot be completed; buckets visited before that stay visited.
   */
  async listPeerSids(
    peer: PeerId,
    visit: (bucket: number, entries: ReadonlyMap<string, SyncSummaryEntry>) => void,
  ): Promise<void> {
    const { bucketCount } = this.host.store();
    for (let first = 0; first < bucketCount; first += BUCKETS_PER_REQUEST_MAX) {
      const chunk: number[] = [];
      for (let b = first; b < Math.min(bucketCount, first + BUCKETS_PER_REQUEST_MAX); b++) {
        chunk.push(b);
      }
      const pending = new Set(chunk);
      let current = -1;
      let entries = new Map<string, SyncSummaryEntry>();
      const finish = (): void => {
        if (current < 0) return;
        pending.delete(current);
        visit(current, entries);
      };
      const request = encodeMessage({ type: 'sync-summary-request', buckets: chunk });
      for await (const frame of this.transport.request(peer, SYNC_BUCKETS_PROTOCOL, request, {
        timeoutMs: this.config.syncTimeoutMs,
        framesMax: PULL_FRAMES_MAX,
      })) {
        const message = this.decode(frame);
        if (message.type !== 'sync-summaries') {
          throw new SyncRefusedError(`unexpected ${message.type}`);
        }
        this.counters.summariesReceived += message.entries.length;
        for (const entry of message.entries) {
          if (entry.bucket !== current) {
            if (!pending.has(entry.bucket)) {
              this.counters.protocolErrors++;
              throw new SyncProtocolError(
                `summary entry for bucket ${entry.bucket}, not asked for or not together`,
              );
            }
            finish();
            current = entry.bucket;
            entries = new Map();
          }
          entries.set(entry.sid, entry);
        }
      }
      finish();
      for (const bucket of pending) visit(bucket, new Map());
    }
  }

  /**
   * Pulls the records of `wanted` from `peer` now (no settling: the GC-horizon rule asks for
   * them while the peer still holds them), merging each; returns what the peer sent, by sid
   * (also records the merge refused, such as a tombstone past the GC horizon).
   */
  async pullNow(
    peer: PeerId,
    wanted: readonly WantedRecord[],
  ): Promise<Map<string, Readonly<RoomRecord>>> {
    const received = new Map<string, Readonly<RoomRecord>>();
    for (const group of groupWanted(wanted, SYNC_SIDS_MAX)) {
      // A copy: mergeRemote may have kept the record itself as the stored incarnation, which
      // later changes update in place.
      await this.pull(peer, group.buckets, group.sids, (record) =>
        received.set(record.sid, { ...record }),
      );
    }
    return received;
  }

  /**
   * Reads the peer's summary of the cells of `buckets` whose digests differ from this node's,
   * and compares it with the local records; with `quietMode`, only of those quiet here and
   * there for a settle period. A peer that refuses the cell request as a bad request (a build
   * from before cell summaries) is asked for whole-bucket summaries, now and for
   * CELL_SUMMARY_RETRY_MS; one that refuses only the quiet period (a build from before it),
   * for every differing cell, as long.
   */
  private async summarise(
    peer: PeerId,
    store: SyncStoreView,
    buckets: number[],
    outcome: SyncOutcome,
    quietMode: boolean,
  ): Promise<SummaryComparer> {
    const now = this.host.nowMs();
    for (const refused of [this.cellSummariesRefused, this.quietCellsRefused]) {
      for (const [refusing, untilMs] of refused) {
        if (untilMs <= now) refused.delete(refusing);
      }
    }
    if (this.cellSummariesRefused.has(peer)) {
      return this.summariseBuckets(peer, store, buckets, outcome);
    }
    const quiet = quietMode && !this.quietCellsRefused.has(peer);
    const comparer = new SummaryComparer(store, buckets);
    const cellDigests = new Uint8Array(buckets.length * CELLS_PER_BUCKET * 8);
    for (const [i, bucket] of buckets.entries()) {
      cellDigests.set(digestsToBytes(store.cellDigests(bucket)), i * CELLS_PER_BUCKET * 8);
    }
    const request = encodeMessage({
      type: 'sync-cell-summary-request',
      buckets,
      cellDigests,
      ...(quiet ? { quiet: this.quietPeriod(store, buckets, now) } : {}),
    });
    try {
      await this.readSummary(peer, request, comparer, outcome, (message) => {
        if (message.type !== 'sync-cell-summaries') return undefined;
        comparer.addCells(message.entries);
        return message.entries.length;
      });
    } catch (error) {
      if (!(error instanceof SyncRefusedError) || error.code !== 'bad-request') throw error;
      if (quiet) {
        this.quietCellsRefused.set(peer, now + CELL_SUMMARY_RETRY_MS);
        return this.summarise(peer, store, buckets, outcome, false);
      }
      this.cellSummariesRefused.set(peer, now + CELL_SUMMARY_RETRY_MS);
      return this.summariseBuckets(peer, store, buckets, outcome);
    }
    return comparer;
  }

  /** The quiet period of a cell summary request: a settle period, and the cells of each of
   *  `buckets` that changed here within it (a little-endian uint16 mask per bucket). */
  private quietPeriod(
    store: SyncStoreView,
    buckets: readonly number[],
    now: number,
  ): { ms: number; changedCells: Uint8Array } {
    const ms = differingSettleMs(this.config);
    const changedCells = new Uint8Array(buckets.length * 2);
    for (const [i, bucket] of buckets.entries()) {
      const mask = store.cellsChangedAfter(bucket, now - ms);
      changedCells[2 * i] = mask & 0xff;
      changedCells[2 * i + 1] = mask >>> 8;
    }
    return { ms, changedCells };
  }

  /** Reads the peer's summary of every record of `buckets` (sync-summary-request) and
   *  compares it with the local records. */
  private async summariseBuckets(
    peer: PeerId,
    store: SyncStoreView,
    buckets: number[],
    outcome: SyncOutcome,
  ): Promise<SummaryComparer> {
    const comparer = new SummaryComparer(store, buckets);
    const request = encodeMessage({ type: 'sync-summary-request', buckets });
    await this.readSummary(peer, request, comparer, outcome, (message) => {
      if (message.type !== 'sync-summaries') return undefined;
      comparer.add(message.entries);
      return message.entries.length;
    });
    return comparer;
  }

  /**
   * Sends a summary request and feeds each answer frame to `feed`, which hands its entries to
   * `comparer` and returns how many there were, or undefined for a message of another type
   * (the session fails). An entry out of place counts a protocol error. Stops reading once
   * WANTED_MAX sids are wanted: the stream closes, and the next session goes on.
   */
  private async readSummary(
    peer: PeerId,
    request: Uint8Array,
    comparer: SummaryComparer,
    outcome: SyncOutcome,
    feed: (message: Message) => number | undefined,
  ): Promise<void> {
    for await (const frame of this.transport.request(peer, SYNC_BUCKETS_PROTOCOL, request, {
      timeoutMs: this.config.syncTimeoutMs,
      framesMax: PULL_FRAMES_MAX,
    })) {
      const message = this.decode(frame);
      let entries: number | undefined;
      try {
        entries = feed(message);
      } catch (error) {
        this.counters.protocolErrors++;
        throw error;
      }
      if (entries === undefined) throw new SyncRefusedError(`unexpected ${message.type}`);
      outcome.summariesReceived += entries;
      this.counters.summariesReceived += entries;
      if (comparer.wanted.length >= WANTED_MAX) break;
    }
  }

  private async pull(
    peer: PeerId,
    buckets: number[],
    sids: string[],
    onRecord?: (record: RoomRecord) => void,
  ): Promise<number> {
    const request = encodeMessage({ type: 'sync-bucket-request', buckets, sids });
    let received = 0;
    for await (const frame of this.transport.request(peer, SYNC_BUCKETS_PROTOCOL, request, {
      timeoutMs: this.config.syncTimeoutMs,
      framesMax: PULL_FRAMES_MAX,
    })) {
      const message = this.decode(frame);
      if (message.type !== 'sync-bucket-records') {
        throw new SyncRefusedError(`unexpected ${message.type}`);
      }
      for (const record of message.records) {
        this.host.mergeRemote(record);
        onRecord?.(record);
      }
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
      !this.backingOff(from) &&
      differingBuckets(store.bucketDigests(), theirs.digests).length > 0
    ) {
      // Repair the other direction too; failures are retried by the periodic session. Not
      // while this node's follow-ups with that peer back off (its last ones found every
      // differing bucket still changing): during a fill each session otherwise set off one
      // back, which deferred every bucket too. Its own follow-up is due within
      // syncIntervalMs.
      queueMicrotask(() => {
        this.syncWith(from).catch(() => undefined);
      });
    }
    return encodeMessage(this.digestMessage());
  }

  /** Serves a sync-bucket-request (records) or a sync-summary-request (summaries); both
   *  count against syncServeMax. */
  private serveSync(frame: Uint8Array): AsyncIterable<Uint8Array> | Promise<Uint8Array> {
    if (!this.host.canServeSummaries()) {
      return Promise.resolve(this.refusal('unavailable', 'resyncing'));
    }
    if (this.serving >= this.config.syncServeMax) {
      return Promise.resolve(this.refusal('overloaded', 'too many sync sessions'));
    }
    const result = decodeMessage(frame);
    const message = result.ok ? result.message : undefined;
    const { bucketCount } = this.host.store();
    const inRange = (buckets: readonly number[]): boolean => buckets.every((b) => b < bucketCount);
    if (message?.type === 'sync-bucket-request' && !this.host.canServe()) {
      return Promise.resolve(this.refusal('unavailable', 'resyncing'));
    }
    if (message?.type === 'sync-bucket-request' && inRange(message.buckets)) {
      return this.streamBuckets(message.buckets, message.sids);
    }
    if (message?.type === 'sync-summary-request' && inRange(message.buckets)) {
      return this.streamSummaries(message.buckets);
    }
    if (message?.type === 'sync-cell-summary-request' && inRange(message.buckets)) {
      return this.streamCellSummaries(message.buckets, message.cellDigests, message.quiet);
    }
    this.counters.protocolErrors++;
    return Promise.resolve(
      this.refusal(
        'bad-request',
        'expected sync-bucket-request, sync-summary-request or sync-cell-summary-request',
      ),
    );
  }

  /** Every record of `buckets`, or only those with one of `sids` when it is not empty. */
  private async *streamBuckets(
    buckets: readonly number[],
    sids: readonly string[],
  ): AsyncGenerator<Uint8Array> {
    this.serving++;
    this.counters.sessionsServed++;
    try {
      const store = this.host.store();
      const only = sids.length > 0 ? new Set(sids) : undefined;
      let records: Readonly<RoomRecord>[] = [];
      let covered: number[] = [];
      // Gathers buckets until about half a frame's records are pending, then sends them; the
      // last frame of each group lists the buckets it completes.
      for (const [i, bucket] of buckets.entries()) {
        for (const record of store.recordsInBucket(bucket)) {
          if (only === undefined || only.has(record.sid)) records.push(record);
        }
        covered.push(bucket);
        const last = i === buckets.length - 1;
        if (!last && records.length < FRAME_RECORDS_MAX / 2) continue;
        const frames = splitIntoFrames(records, recordFrameBytes(this.config), FRAME_RECORDS_MAX);
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

  /**
   * A summary entry per record of `buckets`, each bucket's entries together, in frames of
   * summaryEntriesPerFrame(syncFrameBytesMax).
   */
  private streamSummaries(buckets: readonly number[]): AsyncGenerator<Uint8Array> {
    const store = this.host.store();
    return this.streamEntries<SyncSummaryEntry>(
      buckets,
      summaryEntriesPerFrame(this.config.syncFrameBytesMax),
      (bucket, _i, pending) => {
        for (const record of store.recordsInBucket(bucket)) {
          const [hashHi, hashLo] = store.recordHash(record);
          pending.push({ bucket, sid: record.sid, hashHi, hashLo });
        }
      },
      (entries, done) => encodeMessage({ type: 'sync-summaries', entries, done }),
    );
  }

  /**
   * A cell summary entry per record of the cells of `buckets` whose digests here differ from
   * `theirs` (the asker's, in the order of `buckets`), each cell's entries together, in
   * frames of summaryEntriesPerFrame(syncFrameBytesMax, CELL_SUMMARY_ENTRY_BYTES_MAX). With
   * `quiet`, not the cells the asker marks as changed nor those that changed here within
   * `quiet.ms` (counted in cellsLeftOut).
   */
  private streamCellSummaries(
    buckets: readonly number[],
    theirs: Uint8Array,
    quiet?: { ms: number; changedCells: Uint8Array },
  ): AsyncGenerator<Uint8Array> {
    const store = this.host.store();
    const view = new DataView(theirs.buffer, theirs.byteOffset, theirs.byteLength);
    const quietAfter = quiet === undefined ? 0 : this.host.nowMs() - quiet.ms;
    return this.streamEntries<SyncCellSummaryEntry>(
      buckets,
      summaryEntriesPerFrame(this.config.syncFrameBytesMax, CELL_SUMMARY_ENTRY_BYTES_MAX),
      (bucket, i, pending) => {
        const mine = store.cellDigests(bucket);
        const notQuiet =
          quiet === undefined
            ? 0
            : quiet.changedCells[2 * i]! |
              (quiet.changedCells[2 * i + 1]! << 8) |
              store.cellsChangedAfter(bucket, quietAfter);
        for (let cell = 0; cell < CELLS_PER_BUCKET; cell++) {
          const at = (i * CELLS_PER_BUCKET + cell) * 8;
          if (
            mine[2 * cell] === view.getUint32(at, true) &&
            mine[2 * cell + 1] === view.getUint32(at + 4, true)
          ) {
            continue;
          }
          if ((notQuiet & (1 << cell)) !== 0) {
            this.counters.cellsLeftOut++;
            continue;
          }
          for (const record of store.recordsInCell(bucket, cell)) {
            const [hashHi, hashLo] = store.recordHash(record);
            pending.push({ bucket, cell, sid: record.sid, hashHi, hashLo });
          }
        }
      },
      (entries, done) => encodeMessage({ type: 'sync-cell-summaries', entries, done }),
    );
  }

  /**
   * Serves a summary: `collect` adds the entries of the i-th bucket of `buckets`, and they go
   * out `perFrame` at a time, each frame encoded by `frame`, the last with `done`. A bucket's
   * entries are gathered before any is sent, so a merge during a yield cannot split them.
   */
  private async *streamEntries<E>(
    buckets: readonly number[],
    perFrame: number,
    collect: (bucket: number, i: number, pending: E[]) => void,
    frame: (entries: E[], done: boolean) => Uint8Array,
  ): AsyncGenerator<Uint8Array> {
    this.serving++;
    this.counters.sessionsServed++;
    try {
      const pending: E[] = [];
      for (const [i, bucket] of buckets.entries()) {
        collect(bucket, i, pending);
        while (pending.length >= perFrame) {
          const entries = pending.splice(0, perFrame);
          this.counters.summariesSent += entries.length;
          yield frame(entries, false);
        }
      }
      this.counters.summariesSent += pending.length;
      yield frame(pending, true);
    } finally {
      this.serving--;
    }
  }
}
