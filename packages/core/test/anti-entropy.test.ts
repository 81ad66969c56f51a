/**
 * Anti-entropy (docs/protocol/sync.md): the pure helpers of the summary step, and whole
 * sessions between two AntiEntropy instances over a direct in-process transport.
 */
import {
  decodeMessage,
  encodeMessage,
  type Message,
  type RoomRecord,
  SUMMARY_ENTRIES_MAX,
  SUMMARY_ENTRY_BYTES_MAX,
  type SyncSummaryEntry,
} from '@roomring/protocol';
import {
  cellOfHash,
  createRoomStore,
  type RoomStore,
  recordHash,
  roomNameHash32,
} from '@roomring/store';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AntiEntropy,
  CELL_SUMMARY_RETRY_MS,
  DIFFERING_CHURN_SETTLE_PERIODS,
  DIFFERING_CHURN_SETTLE_PERIODS_MAX,
  differingSettleMs,
  groupWanted,
  SUMMARY_FRAME_ENTRIES,
  SummaryComparer,
  SYNC_BUCKETS_PROTOCOL,
  type SyncStoreView,
  splitByHolding,
  summaryEntriesPerFrame,
  type WantedRecord,
} from '../src/anti-entropy.js';
import { type NodeConfig, resolveConfig } from '../src/config.js';
import type { PeerId, RequestHandler, Transport } from '../src/transport.js';

const NOW_MS = Date.UTC(2026, 0, 1);
/** What the sessions see as now (deferral of held buckets is by time). */
const sessionClock = { nowMs: NOW_MS };

function newStore(nodeId: string, bucketCount: number, seed = 1): RoomStore {
  let state = seed;
  return createRoomStore({
    nodeId,
    bucketCount,
    clock: { nowMs: () => sessionClock.nowMs },
    random: {
      nextUint32: () => {
        state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
        return state;
      },
    },
  });
}

function viewOf(store: RoomStore): SyncStoreView {
  return {
    bucketCount: store.bucketCount,
    bucketDigests: () => store.bucketDigests(),
    digest: () => store.digest(),
    recordCount: () => store.counts().incarnations,
    recordsInBucket: (bucket) => store.recordsInBucket(bucket),
    namesInBucket: (bucket) => store.namesInBucket(bucket),
    cellDigests: (bucket) => store.cellDigests(bucket),
    recordsInCell: (bucket, cell) => store.recordsInCell(bucket, cell),
    cellsChangedAfter: (bucket, afterMs) => store.cellsChangedAfter(bucket, afterMs),
    recordHash,
  };
}

const entryOf = (bucket: number, record: Readonly<RoomRecord>): SyncSummaryEntry => {
  const [hashHi, hashLo] = recordHash(record);
  return { bucket, sid: record.sid, hashHi, hashLo };
};

describe('summary helpers', () => {
  it('summaryEntriesPerFrame fits syncFrameBytesMax, up to SUMMARY_FRAME_ENTRIES (within SUMMARY_ENTRIES_MAX)', () => {
    expect(summaryEntriesPerFrame(16_384)).toBe(Math.floor(16_384 / SUMMARY_ENTRY_BYTES_MAX));
    expect(summaryEntriesPerFrame(16_384)).toBe(546);
    expect(SUMMARY_FRAME_ENTRIES).toBeLessThanOrEqual(SUMMARY_ENTRIES_MAX);
    expect(summaryEntriesPerFrame(524_288)).toBe(SUMMARY_FRAME_ENTRIES);
    expect(summaryEntriesPerFrame(10)).toBe(1);
  });

  it('splitByHolding separates buckets this node holds nothing in', () => {
    const store = newStore('a', 4);
    for (let i = 0; i < 40 && store.counts().incarnations < 3; i++) {
      const name = `r-${i}`;
      if (store.bucketOf(name) !== 2) store.getOrCreate({ name, homeRegion: 'eu' });
    }
    expect(splitByHolding(store, [0, 1, 2, 3]).empty).toContain(2);
    const { empty, held } = splitByHolding(store, [3, 2, 1, 0]);
    expect([...empty, ...held].sort()).toEqual([0, 1, 2, 3]);
    for (const b of held) expect([...store.recordsInBucket(b)].length).toBeGreaterThan(0);
    for (const b of empty) expect([...store.recordsInBucket(b)].length).toBe(0);
  });

  it('SummaryComparer wants missing and different records, not equal ones', () => {
    const mine = newStore('a', 1);
    const same = mine.getOrCreate({ name: 'same', homeRegion: 'eu' }).room;
    const changed = mine.getOrCreate({ name: 'changed', homeRegion: 'eu' }).room;
    const theirs = newStore('b', 1, 7);
    theirs.merge({ ...same });
    theirs.merge({ ...changed });
    const newer = theirs.updateMetadata('changed', 'v2')!;
    const extra = theirs.getOrCreate({ name: 'extra', homeRegion: 'eu' }).room;
    const comparer = new SummaryComparer(viewOf(mine), [0]);
    comparer.add([entryOf(0, same), entryOf(0, newer)]);
    comparer.add([entryOf(0, extra)]);
    expect(comparer.wanted).toEqual([
      { bucket: 0, sid: changed.sid },
      { bucket: 0, sid: extra.sid },
    ]);
  });

  it('SummaryComparer always wants a sid two local names share (forged or colliding sids)', () => {
    const mine = newStore('a', 1);
    const one = mine.getOrCreate({ name: 'one', homeRegion: 'eu' }).room;
    mine.merge({ ...one, name: 'two' });
    const comparer = new SummaryComparer(viewOf(mine), [0]);
    comparer.add([entryOf(0, one)]);
    expect(comparer.wanted).toEqual([{ bucket: 0, sid: one.sid }]);
  });

  it('SummaryComparer refuses entries for buckets not asked for, or spread apart', () => {
    const mine = newStore('a', 4);
    const entry = (bucket: number): SyncSummaryEntry => ({
      bucket,
      sid: 'RM_23456789ABCD',
      hashHi: 1,
      hashLo: 2,
    });
    const comparer = new SummaryComparer(viewOf(mine), [0, 1]);
    expect(() => comparer.add([entry(2)])).toThrow(/not asked for/);
    const apart = new SummaryComparer(viewOf(mine), [0, 1]);
    apart.add([entry(0), entry(0), entry(1)]);
    expect(() => apart.add([entry(0)])).toThrow(
      expect.objectContaining({ name: 'SyncProtocolError' }),
    );
  });

  it('SummaryComparer indexes each local bucket once', () => {
    const store = newStore('a', 2);
    for (let i = 0; i < 20; i++) store.getOrCreate({ name: `r-${i}`, homeRegion: 'eu' });
    const scans: number[] = [];
    const view = {
      ...viewOf(store),
      recordsInBucket: (b: number) => {
        scans.push(b);
        return store.recordsInBucket(b);
      },
    };
    const comparer = new SummaryComparer(view, [0, 1]);
    for (const b of [0, 1]) {
      for (const record of store.recordsInBucket(b)) comparer.add([entryOf(b, record)]);
    }
    expect(scans).toEqual([0, 1]);
    expect(comparer.wanted).toEqual([]);
  });

  it('groupWanted: at most sidsMax distinct sids per request, each with its buckets (property)', () => {
    const arbWanted = fc.array(
      fc.record({
        bucket: fc.nat({ max: 7 }),
        sid: fc.constantFrom(
          'RM_22222222222A',
          'RM_22222222222B',
          'RM_22222222222C',
          'RM_2222222222D2',
          'RM_2222222222E2',
        ),
      }),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(arbWanted, fc.integer({ min: 1, max: 4 }), (wanted: WantedRecord[], max) => {
        const groups = groupWanted(wanted, max);
        for (const g of groups) {
          expect(g.sids.length).toBeGreaterThan(0);
          expect(g.sids.length).toBeLessThanOrEqual(max);
          expect(new Set(g.sids).size).toBe(g.sids.length);
          expect(new Set(g.buckets).size).toBe(g.buckets.length);
          // Encodable as a request: what a peer accepts.
          encodeMessage({ type: 'sync-bucket-request', buckets: g.buckets, sids: g.sids });
        }
        for (const w of wanted) {
          expect(groups.some((g) => g.sids.includes(w.sid) && g.buckets.includes(w.bucket))).toBe(
            true,
          );
        }
        // Each sid asked for once: as few requests as the bound allows.
        const distinct = new Set(wanted.map((w) => w.sid)).size;
        expect(groups.flatMap((g) => g.sids)).toHaveLength(distinct);
        expect(groups.length).toBe(Math.ceil(distinct / max));
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Whole sessions over a direct transport
// ---------------------------------------------------------------------------------------------

/** A transport where a request calls the peer's handler directly (no loss, no latency). */
class DirectTransport implements Transport {
  readonly handlers = new Map<string, RequestHandler>();
  constructor(
    readonly peerId: PeerId,
    private readonly peers: Map<PeerId, DirectTransport>,
  ) {
    peers.set(peerId, this);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  listenAddresses(): string[] {
    return [];
  }
  subscribe(): void {}
  async publish(): Promise<{ recipients: number }> {
    return { recipients: 0 };
  }
  setGossipForwarding(): void {}
  handle(protocol: string, handler: RequestHandler): void {
    this.handlers.set(protocol, handler);
  }
  async *request(peer: PeerId, protocol: string, frame: Uint8Array): AsyncIterable<Uint8Array> {
    const handler = this.peers.get(peer)?.handlers.get(protocol);
    if (!handler) throw new Error(`${peer} does not handle ${protocol}`);
    const answer = handler(frame, this.peerId);
    if (answer instanceof Promise) yield await answer;
    else yield* answer;
  }
  async dial(): Promise<PeerId> {
    throw new Error('not used');
  }
  async hangUp(): Promise<void> {}
  connectedPeers(): PeerId[] {
    return [...this.peers.keys()].filter((p) => p !== this.peerId);
  }
  addListener(): void {}
}

interface Side {
  store: RoomStore;
  sync: AntiEntropy;
  transport: DirectTransport;
}

function pair(a: RoomStore, b: RoomStore, config: NodeConfig): [Side, Side] {
  const [x, y] = group([a, b], config);
  return [x!, y!];
}

function group(
  stores: RoomStore[],
  config: NodeConfig,
  /** Peers whose history reaches back before `self`'s store (AntiEntropyHost). */
  olderHistory: (self: PeerId, peer: PeerId) => boolean = () => false,
  /** The hosts' timers (follow-up sessions), by the node setting one; none run by default. */
  setTimer: (self: PeerId, delayMs: number, callback: () => void) => void = () => undefined,
): Side[] {
  const peers = new Map<PeerId, DirectTransport>();
  const side = (store: RoomStore): Side => {
    const transport = new DirectTransport(store.nodeId, peers);
    const sync = new AntiEntropy({ ...config, nodeId: store.nodeId }, transport, {
      store: () => viewOf(store),
      mergeRemote: (record) => {
        store.merge(record);
      },
      stamp: () => store.hlc.now(),
      nowMs: () => sessionClock.nowMs,
      canServe: () => true,
      canServeSummaries: () => true,
      sessionCompleted: () => undefined,
      setTimer: (delayMs, callback) => setTimer(store.nodeId, delayMs, callback),
      syncing: () => true,
      isConnected: () => true,
      peerHistoryIsOlder: (peer) => olderHistory(store.nodeId, peer),
    });
    sync.register();
    return { store, sync, transport };
  };
  return stores.map(side);
}

/** Lets queued sessions (the responder's reverse pull) run to the end. */
async function drain(sides: Side[]): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    const other = (s: Side) => (s === sides[0] ? sides[1]! : sides[0]!).store.nodeId;
    if (!sides.some((s) => s.sync.isSyncing(other(s)))) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error('sessions did not finish');
}

/** Records of `from` that `to` does not hold with the same hash. */
function differing(to: RoomStore, from: RoomStore): number {
  const held = new Set<string>();
  for (const r of to.records()) held.add(`${r.name}\n${r.sid}\n${recordHash(r).join(':')}`);
  let count = 0;
  for (const r of from.records()) {
    if (!held.has(`${r.name}\n${r.sid}\n${recordHash(r).join(':')}`)) count++;
  }
  return count;
}

/**
 * Writes that keep a store's one bucket changing on both `a` and `b`: each call creates a room
 * at `creator` and merges it into the other store, and creates one at `b` that `a` lacks (a
 * loss for a to repair: the last is `lost-${count()}`).
 */
function churnWrites(
  a: RoomStore,
  b: RoomStore,
  creator: RoomStore = b,
): { write: () => void; count: () => number } {
  const other = creator === a ? b : a;
  let written = 0;
  return {
    write: () => {
      written++;
      other.merge({ ...creator.getOrCreate({ name: `fill-${written}`, homeRegion: 'eu' }).room });
      b.getOrCreate({ name: `lost-${written}`, homeRegion: 'eu' });
    },
    count: () => written,
  };
}

const CONFIG = resolveConfig({ nodeId: 'a', region: 'eu', profile: 'test' });

/** Every frame of a handler's answer (Node 20 has no Array.fromAsync). */
async function collect(answer: ReturnType<RequestHandler>): Promise<Uint8Array[]> {
  if (answer instanceof Promise) return [await answer];
  const list: Uint8Array[] = [];
  for await (const bytes of answer) list.push(bytes);
  return list;
}

async function frames(answer: ReturnType<RequestHandler>): Promise<Message[]> {
  const out: Message[] = [];
  for (const bytes of await collect(answer)) {
    const result = decodeMessage(bytes);
    if (!result.ok) throw result.error;
    out.push(result.message);
  }
  return out;
}

describe('sessions', () => {
  type Kind = 'a' | 'b' | 'same' | 'a-newer' | 'b-newer' | 'deleted-at-b';
  const arbKinds = fc.array(
    fc.constantFrom<Kind>('a', 'b', 'same', 'same', 'same', 'a-newer', 'b-newer', 'deleted-at-b'),
    { minLength: 1, maxLength: 60 },
  );

  it('sessions converge and pull no more records than differ (property)', async () => {
    await fc.assert(
      fc.asyncProperty(arbKinds, fc.constantFrom(1, 4, 16), async (kinds, bucketCount) => {
        const a = newStore('a', bucketCount, 3);
        const b = newStore('b', bucketCount, 5);
        for (const [i, kind] of kinds.entries()) {
          const name = `room-${i}`;
          if (kind === 'b') {
            b.getOrCreate({ name, homeRegion: 'eu' });
            continue;
          }
          const room = a.getOrCreate({ name, homeRegion: 'eu' }).room;
          if (kind === 'a') continue;
          b.merge({ ...room });
          if (kind === 'a-newer') a.updateMetadata(name, 'newer');
          if (kind === 'b-newer') b.updateMetadata(name, 'newer');
          if (kind === 'deleted-at-b') b.delete(name);
        }
        const bound = differing(a, b) + differing(b, a);
        const sides = pair(a, b, CONFIG);
        // The first session (and the reverse one it starts) only notes which held buckets
        // differ; one sync interval later the next one repairs those that still do.
        const first = await sides[0].sync.syncWith('b');
        await drain(sides);
        sessionClock.nowMs += CONFIG.syncIntervalMs;
        const second = await sides[0].sync.syncWith('b');
        await drain(sides);
        expect(a.digest()).toBe(b.digest());
        const received = sides.reduce((n, s) => n + s.sync.counters.recordsReceived, 0);
        expect(received).toBeLessThanOrEqual(bound);
        expect((first?.recordsReceived ?? 0) + (second?.recordsReceived ?? 0)).toBe(
          sides[0].sync.counters.recordsReceived,
        );
        for (const s of sides) expect(s.sync.counters.protocolErrors).toBe(0);
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('repairs a record half its peers lack, with random peers alternating between the halves (found by the swarm, seed 77)', async () => {
    // x and `without` hold room r; `holder` holds r's tombstone too. x's sessions alternate
    // holder, without, holder, ...: r's bucket differs every other session only.
    const x = newStore('x', 16, 3);
    const without = newStore('without', 16, 5);
    const holder = newStore('holder', 16, 7);
    const room = x.getOrCreate({ name: 'r', homeRegion: 'eu' }).room;
    without.merge({ ...room });
    holder.merge({ ...room });
    const tombstone = { ...holder.delete('r')[0]! };
    expect(tombstone.deletedAt).toBeGreaterThan(0);
    const [sx, , sh] = group([x, without, holder], CONFIG);
    const peers = ['holder', 'without'];
    for (let session = 0; session < 6 && x.get('r'); session++) {
      await sx!.sync.syncWith(peers[session % 2]!);
      for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      sessionClock.nowMs += CONFIG.syncIntervalMs;
    }
    expect(x.get('r')).toBeUndefined();
    expect(sh!.sync.counters.sessionsServed).toBeGreaterThan(0);
  });

  it('a differing bucket still receiving writes here waits until it is quiet, or until it has differed for DIFFERING_CHURN_SETTLE_PERIODS settle periods', async () => {
    // One bucket: b holds a room a lacks (a real loss), while a keeps receiving new rooms in
    // that bucket (gossip of a fill, which b has too: only the lost one differs for good).
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    a.merge({ ...b.getOrCreate({ name: 'common', homeRegion: 'eu' }).room });
    const lost = b.getOrCreate({ name: 'lost', homeRegion: 'eu' }).room;
    const [sa] = group([a, b], CONFIG);
    const settle = differingSettleMs(CONFIG);
    const arriving = (i: number) => {
      const room = b.getOrCreate({ name: `fill-${i}`, homeRegion: 'eu' }).room;
      a.merge({ ...room });
    };
    const started = sessionClock.nowMs;
    let sessions = 0;
    while (a.get('lost') === undefined) {
      const outcome = await sa!.sync.syncWith('b');
      sessions++;
      const elapsed = sessionClock.nowMs - started;
      if (elapsed < DIFFERING_CHURN_SETTLE_PERIODS * settle) {
        // Churning here: compared neither at the first sighting nor after one settle period.
        expect(outcome?.bucketsDeferred).toBe(1);
        expect(outcome?.summariesReceived).toBe(0);
      }
      expect(sessions).toBeLessThanOrEqual(DIFFERING_CHURN_SETTLE_PERIODS + 1);
      sessionClock.nowMs += settle;
      arriving(sessions);
    }
    // Repaired by the session DIFFERING_CHURN_SETTLE_PERIODS settle periods after the first.
    expect(sessions).toBe(DIFFERING_CHURN_SETTLE_PERIODS + 1);
    expect(a.get('lost')?.sid).toBe(lost.sid);

    // The same loss in a quiet bucket is repaired one settle period after it was first seen.
    const c = newStore('c', 1, 7);
    const d = newStore('d', 1, 9);
    c.merge({ ...d.getOrCreate({ name: 'common', homeRegion: 'eu' }).room });
    d.getOrCreate({ name: 'lost-quiet', homeRegion: 'eu' });
    const [sc] = group([c, d], CONFIG);
    expect((await sc!.sync.syncWith('d'))?.bucketsDeferred).toBe(1);
    sessionClock.nowMs += settle;
    expect((await sc!.sync.syncWith('d'))?.bucketsDeferred).toBe(0);
    expect(c.get('lost-quiet')).toBeDefined();
  });

  it('follow-ups back off, up to syncIntervalMs, while they compare nothing; a comparison starts them again', async () => {
    const config = { ...CONFIG, syncIntervalMs: 5_000 };
    const settle = differingSettleMs(config);
    expect(settle).toBe(1_000);
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    const timers: { delayMs: number; callback: () => void }[] = [];
    // a's follow-ups with b (b also runs sessions back: it lacks what a holds).
    const [sa] = group([a, b], config, undefined, (self, delayMs, callback) => {
      if (self === 'a') timers.push({ delayMs, callback });
    });
    // Writes that never pause: the one bucket differs at every session and changes here
    // between any two (as in the churn rule's test below).
    const churn = churnWrites(a, b);
    const writes = churn.write;
    const runFollowUp = async (): Promise<void> => {
      const timer = timers.shift()!;
      sessionClock.nowMs += timer.delayMs;
      writes();
      timer.callback();
      while (sa!.sync.isSyncing('b')) await new Promise<void>((r) => setImmediate(r));
    };
    writes();
    const started = sessionClock.nowMs;
    expect((await sa!.sync.syncWith('b'))?.bucketsDeferred).toBe(1);
    for (let i = 0; i < 4; i++) await runFollowUp();
    // Sessions at 0, 1, 3, 7 s compared nothing: each next one waited twice as long, the last
    // syncIntervalMs. The one at 12 s compared the bucket under the churn rule (10 s).
    expect(sessionClock.nowMs - started).toBe(12 * settle);
    expect(timers).toEqual([]);
    expect(a.get(`lost-${churn.count() - 1}`)).toBeDefined();
    // Deferred again: the wait starts from differingSettleMs.
    sessionClock.nowMs += settle;
    writes();
    expect((await sa!.sync.syncWith('b'))?.bucketsDeferred).toBe(1);
    expect(timers.map((t) => t.delayMs)).toEqual([settle]);
  });

  it('a responder starts a session back unless its own follow-ups with the asker back off', async () => {
    const config = { ...CONFIG, syncIntervalMs: 5_000 };
    const settle = differingSettleMs(config);
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    const timers = new Map<PeerId, { delayMs: number; callback: () => void }[]>();
    const sides = group([a, b], config, undefined, (self, delayMs, callback) => {
      timers.set(self, [...(timers.get(self) ?? []), { delayMs, callback }]);
    }) as [Side, Side];
    // b's state changes every settle period (churn there); a lacks what b creates.
    const writes = churnWrites(a, b, a).write;
    writes();
    // b's own sessions with a defer the churning bucket: its follow-ups back off.
    await sides[1].sync.syncWith('a');
    for (let i = 0; i < 2; i++) {
      const next = timers.get('b')!.shift()!;
      sessionClock.nowMs += next.delayMs;
      writes();
      next.callback();
      await drain(sides);
    }
    expect(timers.get('b')!.map((t) => t.delayMs)).toEqual([4 * settle]);
    // a asks b now: b, backing off with a, starts no session back.
    const before = sides[1].sync.counters.sessionsStarted;
    await sides[0].sync.syncWith('b');
    await drain(sides);
    expect(sides[1].sync.counters.sessionsStarted).toBe(before);
    // A fresh pair, b not backing off: a's session sets off one back at once.
    const c = newStore('c', 1, 7);
    const d = newStore('d', 1, 9);
    d.getOrCreate({ name: 'only-at-d', homeRegion: 'eu' });
    c.getOrCreate({ name: 'only-at-c', homeRegion: 'eu' });
    const [sc, sd] = group([c, d], config);
    await sc!.sync.syncWith('d');
    await drain([sc!, sd!]);
    expect(sd!.sync.counters.sessionsStarted).toBe(1);
  });

  it('a follow-up that compares only churned buckets keeps backing off', async () => {
    const config = { ...CONFIG, syncIntervalMs: 5_000 };
    const settle = differingSettleMs(config);
    const a = newStore('a', 2, 3);
    const b = newStore('b', 2, 5);
    const timers: { delayMs: number; callback: () => void }[] = [];
    const [sa] = group([a, b], config, undefined, (self, delayMs, callback) => {
      if (self === 'a') timers.push({ delayMs, callback });
    });
    // Names of each bucket, so each bucket's churn can start on its own.
    const names = (bucket: number, prefix: string): (() => string) => {
      let i = 0;
      return () => {
        for (;;) {
          const name = `${prefix}-${i++}`;
          if (a.bucketOf(name) === bucket) return name;
        }
      };
    };
    const churn = [
      { fill: names(0, 'fill-0'), lost: names(0, 'lost-0'), from: 0 },
      { fill: names(1, 'fill-1'), lost: names(1, 'lost-1'), from: 3 * settle },
    ];
    const started = sessionClock.nowMs;
    const writes = () => {
      for (const bucket of churn) {
        if (sessionClock.nowMs - started < bucket.from) continue;
        a.merge({ ...b.getOrCreate({ name: bucket.fill(), homeRegion: 'eu' }).room });
        b.getOrCreate({ name: bucket.lost(), homeRegion: 'eu' });
      }
    };
    writes();
    await sa!.sync.syncWith('b');
    const delays: number[] = [];
    while (sessionClock.nowMs - started < 17 * settle) {
      const timer = timers.shift()!;
      delays.push(timer.delayMs / settle);
      sessionClock.nowMs += timer.delayMs;
      writes();
      timer.callback();
      while (sa!.sync.isSyncing('b')) await new Promise<void>((r) => setImmediate(r));
    }
    // Bucket 0 differs from 0 s, bucket 1 from 3 s. At 12 s the churn rule compares bucket 0
    // while bucket 1 is still deferred: the follow-ups go on at syncIntervalMs.
    expect(delays).toEqual([1, 2, 4, 5, 5]);
  });

  it('each comparison under the churn rule doubles its wait for that bucket, up to DIFFERING_CHURN_SETTLE_PERIODS_MAX; a quiet comparison starts it again', async () => {
    // Writes that never pause: every settle period a receives a room b also holds (churn
    // here) and b gets one that a never receives (a new real loss), so the one bucket differs
    // at every session and changes here between any two.
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    const [sa] = group([a, b], CONFIG);
    const settle = differingSettleMs(CONFIG);
    const churn = churnWrites(a, b);
    const writes = churn.write;
    writes();
    const started = sessionClock.nowMs;
    const compared: number[] = [];
    while (compared.length < 6) {
      const outcome = await sa!.sync.syncWith('b');
      if (outcome?.bucketsDeferred === 0) {
        expect(outcome.summariesReceived).toBeGreaterThan(0);
        expect(outcome.recordsWanted).toBeGreaterThan(0);
        compared.push((sessionClock.nowMs - started) / settle);
      }
      sessionClock.nowMs += settle;
      writes();
    }
    // First seen at period 0, compared at 10; seen again at 11, compared 20 later; and so on,
    // each wait twice the last, until the cap.
    const waits = compared.map((at, i) => (i === 0 ? at : at - compared[i - 1]! - 1));
    expect(waits).toEqual([
      DIFFERING_CHURN_SETTLE_PERIODS,
      2 * DIFFERING_CHURN_SETTLE_PERIODS,
      4 * DIFFERING_CHURN_SETTLE_PERIODS,
      DIFFERING_CHURN_SETTLE_PERIODS_MAX,
      DIFFERING_CHURN_SETTLE_PERIODS_MAX,
      DIFFERING_CHURN_SETTLE_PERIODS_MAX,
    ]);
    // Every loss written up to the last comparison was repaired by one of them.
    expect(a.get(`lost-${churn.count() - 1}`)).toBeDefined();

    // The writes stop: the next loss is compared one settle period after it is first seen,
    // and that quiet comparison starts the churn rule's wait again from the start.
    b.getOrCreate({ name: 'lost-after', homeRegion: 'eu' });
    expect((await sa!.sync.syncWith('b'))?.bucketsDeferred).toBe(1);
    sessionClock.nowMs += settle;
    expect((await sa!.sync.syncWith('b'))?.bucketsDeferred).toBe(0);
    expect(a.get('lost-after')).toBeDefined();
    const restarted = sessionClock.nowMs;
    let comparedAgainAt: number | undefined;
    while (comparedAgainAt === undefined) {
      sessionClock.nowMs += settle;
      writes();
      if ((await sa!.sync.syncWith('b'))?.bucketsDeferred === 0) {
        comparedAgainAt = (sessionClock.nowMs - restarted) / settle;
      }
    }
    // Seen at period 1 (the first session after the quiet one), compared 10 later.
    expect(comparedAgainAt).toBe(1 + DIFFERING_CHURN_SETTLE_PERIODS);
  });

  it('comparisons under the churn rule leave out cells not quiet on both sides, until the wait reaches the cap', async () => {
    // One bucket, 300 rooms held by both. Every settle period b creates a room in cell `hot`
    // that reaches a one period later, and a creates one in cell `mine` that reaches b one
    // period later: gossip in flight both ways, and churn here. b also holds two rooms a
    // lacks for good: one in a quiet cell, one in the hot cell.
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    for (let i = 0; i < 300; i++) {
      a.merge({ ...b.getOrCreate({ name: `common-${i}`, homeRegion: 'eu' }).room });
    }
    const cellOf = (name: string) => cellOfHash(roomNameHash32(name));
    const inCell = (cell: number, prefix: string): string => {
      for (let i = 0; ; i++) if (cellOf(`${prefix}-${i}`) === cell) return `${prefix}-${i}`;
    };
    const [quietCell, hot, mine] = [3, 7, 11];
    const lostQuiet = inCell(quietCell, 'lost-quiet');
    const lostHot = inCell(hot, 'lost-hot');
    b.getOrCreate({ name: lostQuiet, homeRegion: 'eu' });
    b.getOrCreate({ name: lostHot, homeRegion: 'eu' });
    const [sa, sb] = group([a, b], CONFIG);
    const settle = differingSettleMs(CONFIG);
    let inFlight: { to: RoomStore; record: RoomRecord }[] = [];
    let written = 0;
    const writes = () => {
      for (const { to, record } of inFlight) to.merge(record);
      written++;
      inFlight = [
        {
          to: a,
          record: {
            ...b.getOrCreate({ name: inCell(hot, `b-${written}`), homeRegion: 'eu' }).room,
          },
        },
        {
          to: b,
          record: {
            ...a.getOrCreate({ name: inCell(mine, `a-${written}`), homeRegion: 'eu' }).room,
          },
        },
      ];
    };
    writes();
    const started = sessionClock.nowMs;
    const compared: { at: number; summaries: number; leftOut: number }[] = [];
    while (compared.length < 4) {
      const leftOut = sb!.sync.counters.cellsLeftOut;
      const outcome = await sa!.sync.syncWith('b');
      if (outcome?.bucketsDeferred === 0) {
        compared.push({
          at: (sessionClock.nowMs - started) / settle,
          summaries: outcome.summariesReceived,
          leftOut: sb!.sync.counters.cellsLeftOut - leftOut,
        });
        if (compared.length === 1) {
          // The quiet cell's loss is repaired at once; the hot one's is not.
          expect(a.get(lostQuiet)).toBeDefined();
          expect(a.get(lostHot)).toBeUndefined();
        }
        if (compared.length < 4) expect(outcome.complete).toBe(false);
      }
      sessionClock.nowMs += settle;
      writes();
    }
    expect(compared.map((c) => c.at)).toEqual([
      DIFFERING_CHURN_SETTLE_PERIODS,
      DIFFERING_CHURN_SETTLE_PERIODS + 1 + 2 * DIFFERING_CHURN_SETTLE_PERIODS,
      DIFFERING_CHURN_SETTLE_PERIODS + 2 + 6 * DIFFERING_CHURN_SETTLE_PERIODS,
      DIFFERING_CHURN_SETTLE_PERIODS +
        3 +
        6 * DIFFERING_CHURN_SETTLE_PERIODS +
        DIFFERING_CHURN_SETTLE_PERIODS_MAX,
    ]);
    // The first comparison summarised only the quiet cell that differed: the hot cell (changed
    // at b) and a's own (changed at a) were left out by the responder.
    const atB = (cell: number) => [...b.recordsInCell(0, cell)].length;
    expect(compared[0]).toMatchObject({ summaries: atB(quietCell), leftOut: 2 });
    // Later ones before the cap find nothing quiet that differs.
    expect(compared[1]).toMatchObject({ summaries: 0, leftOut: 2 });
    expect(compared[2]).toMatchObject({ summaries: 0, leftOut: 2 });
    // At the cap every differing cell is compared, and the hot cell's loss is repaired.
    expect(compared[3]!.leftOut).toBe(0);
    expect(compared[3]!.summaries).toBeGreaterThanOrEqual(atB(hot));
    expect(a.get(lostHot)).toBeDefined();
  });

  it('a peer that refuses the quiet period (an older build) is asked for every differing cell, then again after CELL_SUMMARY_RETRY_MS', async () => {
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    const [sa, sb] = group([a, b], CONFIG);
    // b refuses a cell summary request with a quiet period as a build without them does.
    const serve = sb!.transport.handlers.get(SYNC_BUCKETS_PROTOCOL)!;
    const requests: boolean[] = [];
    sb!.transport.handle(SYNC_BUCKETS_PROTOCOL, (frame, from) => {
      const decoded = decodeMessage(frame);
      if (decoded.ok && decoded.message.type === 'sync-cell-summary-request') {
        requests.push(decoded.message.quiet !== undefined);
        if (decoded.message.quiet !== undefined) {
          return Promise.resolve(
            encodeMessage({
              type: 'rpc-error',
              requestId: 0,
              code: 'bad-request',
              message: 'expected 4 elements, got 6',
            }),
          );
        }
      }
      return serve(frame, from);
    });
    const settle = differingSettleMs(CONFIG);
    const churn = churnWrites(a, b);
    // Sessions until the churn rule makes a compare the bucket, `times` times.
    const churnComparisons = async (times: number) => {
      for (let done = 0; done < times; ) {
        churn.write();
        const outcome = await sa!.sync.syncWith('b');
        if (outcome?.bucketsDeferred === 0) {
          done++;
          expect(a.get(`lost-${churn.count() - 1}`)).toBeDefined();
        }
        sessionClock.nowMs += settle;
      }
    };
    await churnComparisons(1);
    // Refused with the quiet period, then asked without it in the same session.
    expect(requests).toEqual([true, false]);
    await churnComparisons(1);
    expect(requests).toEqual([true, false, false]);
    sessionClock.nowMs += CELL_SUMMARY_RETRY_MS;
    await churnComparisons(1);
    expect(requests.slice(3)).toEqual([true, false]);
    expect(sa!.sync.counters.sessionsFailed).toBe(0);
  });

  it('a summary lists only the records of the cells whose digests differ', async () => {
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    for (let i = 0; i < 400; i++) {
      a.merge({ ...b.getOrCreate({ name: `common-${i}`, homeRegion: 'eu' }).room });
    }
    const lost = b.getOrCreate({ name: 'lost', homeRegion: 'eu' }).room;
    const cell = cellOfHash(roomNameHash32('lost'));
    const inCell = b.recordsInCell(0, cell).length;
    expect(inCell).toBeLessThan(401 / 4);
    const [sa] = group([a, b], CONFIG);
    expect((await sa!.sync.syncWith('b'))?.bucketsDeferred).toBe(1);
    sessionClock.nowMs += differingSettleMs(CONFIG);
    const outcome = await sa!.sync.syncWith('b');
    expect(outcome).toMatchObject({
      bucketsDeferred: 0,
      summariesReceived: inCell,
      recordsWanted: 1,
      recordsReceived: 1,
      complete: true,
    });
    expect(a.get('lost')?.sid).toBe(lost.sid);
    expect(a.digest()).toBe(b.digest());
  });

  it('a peer that refuses cell summaries (an older build) is asked for whole buckets, then again after CELL_SUMMARY_RETRY_MS', async () => {
    const a = newStore('a', 1, 3);
    const b = newStore('b', 1, 5);
    for (let i = 0; i < 50; i++) {
      a.merge({ ...b.getOrCreate({ name: `common-${i}`, homeRegion: 'eu' }).room });
    }
    const [sa, sb] = group([a, b], CONFIG);
    // b answers a cell summary request as a build without them does: bad-request.
    const serve = sb!.transport.handlers.get(SYNC_BUCKETS_PROTOCOL)!;
    let cellRequests = 0;
    sb!.transport.handle(SYNC_BUCKETS_PROTOCOL, (frame, from) => {
      const decoded = decodeMessage(frame);
      if (decoded.ok && decoded.message.type === 'sync-cell-summary-request') {
        cellRequests++;
        return Promise.resolve(
          encodeMessage({
            type: 'rpc-error',
            requestId: 0,
            code: 'bad-request',
            message: 'expected sync-bucket-request or sync-summary-request',
          }),
        );
      }
      return serve(frame, from);
    });
    const repair = async (name: string) => {
      b.getOrCreate({ name, homeRegion: 'eu' });
      await sa!.sync.syncWith('b');
      sessionClock.nowMs += differingSettleMs(CONFIG);
      const outcome = await sa!.sync.syncWith('b');
      expect(a.get(name)).toBeDefined();
      return outcome;
    };
    // Refused once, then the whole bucket's summary: every record of b.
    expect(await repair('lost-1')).toMatchObject({ summariesReceived: 51, complete: true });
    expect(cellRequests).toBe(1);
    expect(sa!.sync.counters.sessionsFailed).toBe(0);
    // Not asked again meanwhile.
    await repair('lost-2');
    expect(cellRequests).toBe(1);
    // Asked again once CELL_SUMMARY_RETRY_MS has passed.
    sessionClock.nowMs += CELL_SUMMARY_RETRY_MS;
    await repair('lost-3');
    expect(cellRequests).toBe(2);
    expect(a.digest()).toBe(b.digest());
  });

  it('a peer whose history reaches back before this store is compared in full at once', async () => {
    // c restarted empty and has since created a room of its own in the only bucket; d (the
    // lone survivor of an outage) still holds one from before c's restart. Gossip will never
    // bring it, and until c holds it one more crash loses it (swarm seed 8075).
    const c = newStore('c', 1, 7);
    const d = newStore('d', 1, 9);
    c.getOrCreate({ name: 'made-since', homeRegion: 'eu' });
    const kept = d.getOrCreate({ name: 'kept-through-outage', homeRegion: 'eu' }).room;
    const [sc] = group([c, d], CONFIG, (self, peer) => self === 'c' && peer === 'd');
    const outcome = await sc!.sync.syncWith('d');
    expect(outcome).toMatchObject({ bucketsDiffering: 1, bucketsDeferred: 0, complete: true });
    expect(c.get('kept-through-outage')?.sid).toBe(kept.sid);

    // The same stores with equal histories: the held bucket waits one settle period.
    const e = newStore('e', 1, 7);
    const f = newStore('f', 1, 9);
    e.getOrCreate({ name: 'made-since', homeRegion: 'eu' });
    f.getOrCreate({ name: 'kept-through-outage', homeRegion: 'eu' });
    const [se] = group([e, f], CONFIG);
    expect(await se!.sync.syncWith('f')).toMatchObject({ bucketsDeferred: 1, complete: false });
    expect(e.get('kept-through-outage')).toBeUndefined();
  });

  it('a node holding nothing pulls whole buckets, without summaries', async () => {
    const b = newStore('b', 8, 5);
    for (let i = 0; i < 100; i++) b.getOrCreate({ name: `room-${i}`, homeRegion: 'eu' });
    const a = newStore('a', 8, 3);
    const sides = pair(a, b, CONFIG);
    const outcome = await sides[0].sync.syncWith('b');
    await drain(sides);
    expect(a.digest()).toBe(b.digest());
    expect(outcome).toMatchObject({
      bucketsDiffering: 8,
      recordsReceived: 100,
      summariesReceived: 0,
    });
    expect(sides[1].sync.counters.summariesSent).toBe(0);
  });

  it('summaries stream in frames within syncFrameBytesMax, the last one done', async () => {
    const b = newStore('b', 1, 5);
    for (let i = 0; i < 1_200; i++) b.getOrCreate({ name: `room-${i}`, homeRegion: 'eu' });
    const [, side] = pair(newStore('a', 1), b, CONFIG);
    const handler = side.transport.handlers.get(SYNC_BUCKETS_PROTOCOL)!;
    const request = encodeMessage({ type: 'sync-summary-request', buckets: [0] });
    const answer = handler(request, 'a');
    const list = await collect(answer);
    const perFrame = summaryEntriesPerFrame(CONFIG.syncFrameBytesMax);
    const counts: number[] = [];
    for (const [i, bytes] of list.entries()) {
      expect(bytes.length).toBeLessThanOrEqual(CONFIG.syncFrameBytesMax + 64);
      const result = decodeMessage(bytes);
      if (!result.ok || result.message.type !== 'sync-summaries') throw new Error('not summaries');
      counts.push(result.message.entries.length);
      expect(result.message.done).toBe(i === list.length - 1);
    }
    expect(counts).toEqual([perFrame, perFrame, 1_200 - 2 * perFrame]);
    expect(side.sync.counters.summariesSent).toBe(1_200);
  });

  it('a sync-bucket-request with sids answers only those records', async () => {
    const b = newStore('b', 1, 5);
    const rooms = Array.from(
      { length: 10 },
      (_, i) => b.getOrCreate({ name: `room-${i}`, homeRegion: 'eu' }).room,
    );
    const [, side] = pair(newStore('a', 1), b, CONFIG);
    const handler = side.transport.handlers.get(SYNC_BUCKETS_PROTOCOL)!;
    const sids = [rooms[3]!.sid, rooms[7]!.sid];
    const answer = await frames(
      handler(encodeMessage({ type: 'sync-bucket-request', buckets: [0], sids }), 'a'),
    );
    const records = answer.flatMap((m) => (m.type === 'sync-bucket-records' ? m.records : []));
    expect(records.map((r) => r.sid).sort()).toEqual([...sids].sort());
    const all = await frames(
      handler(encodeMessage({ type: 'sync-bucket-request', buckets: [0], sids: [] }), 'a'),
    );
    expect(all.flatMap((m) => (m.type === 'sync-bucket-records' ? m.records : []))).toHaveLength(
      10,
    );
  });

  it('summaries and record pulls share syncServeMax; bad requests are refused and counted', async () => {
    const b = newStore('b', 4, 5);
    for (let i = 0; i < 50; i++) b.getOrCreate({ name: `room-${i}`, homeRegion: 'eu' });
    const [, side] = pair(newStore('a', 4), b, CONFIG);
    const handler = side.transport.handlers.get(SYNC_BUCKETS_PROTOCOL)!;
    const open: AsyncIterator<Uint8Array>[] = [];
    for (const message of [
      { type: 'sync-summary-request', buckets: [0, 1] },
      { type: 'sync-bucket-request', buckets: [2], sids: [] },
    ] as Message[]) {
      const answer = handler(encodeMessage(message), 'a') as AsyncIterable<Uint8Array>;
      const iterator = answer[Symbol.asyncIterator]();
      await iterator.next(); // first frame sent, stream still open
      open.push(iterator);
    }
    expect(CONFIG.syncServeMax).toBe(2);
    const refused = await frames(
      handler(encodeMessage({ type: 'sync-summary-request', buckets: [3] }), 'a'),
    );
    expect(refused).toMatchObject([{ type: 'rpc-error', code: 'overloaded' }]);
    for (const iterator of open) await iterator.return?.();

    const outOfRange = await frames(
      handler(encodeMessage({ type: 'sync-summary-request', buckets: [4] }), 'a'),
    );
    expect(outOfRange).toMatchObject([{ type: 'rpc-error', code: 'bad-request' }]);
    const wrongType = await frames(
      handler(encodeMessage({ type: 'leave', nodeId: 'a', incarnation: 1, sentAt: 1 }), 'a'),
    );
    expect(wrongType).toMatchObject([{ type: 'rpc-error', code: 'bad-request' }]);
    expect(side.sync.counters.protocolErrors).toBe(2);
    expect(side.sync.counters.sessionsRefused).toBe(3);
  });
});
