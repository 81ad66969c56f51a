/**
 * A tiny replicated history for property tests: N stores with skewed clocks, local writes
 * queued as messages, delivered in any order, duplicated or dropped, then repaired by
 * anti-entropy (bucket digests + records of differing buckets). Not a test file itself.
 */
import { compareStamps, type RoomRecord } from '@roomring/protocol';
import fc from 'fast-check';
import { createRoomStore, type RoomStore } from '../src/index.js';
import { copy, ManualClock, SeededRandom, syncPair, T0 } from './helpers.js';

/** The last two have equal 32-bit hashes: they share a slot of their bucket's table
 *  (name-table.ts), so every property here also runs over a shared slot. */
export const NAMES = ['alpha', 'beta', '__proto__', 'room-112789', 'room-349192'];

export type Op =
  | { k: 'create'; r: number; name: number; meta: string }
  | { k: 'meta'; r: number; name: number; value: string }
  | { k: 'stats'; r: number; name: number; participants: number }
  | { k: 'delete'; r: number; name: number }
  | { k: 'deliver'; msg: number; to: number; keep: boolean }
  | { k: 'tick'; ms: number };

const replicaIndex = fc.nat(3);
const nameIndex = fc.nat(NAMES.length - 1);

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant('create' as const),
      r: replicaIndex,
      name: nameIndex,
      meta: fc.constantFrom('', 'm0'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('meta' as const),
      r: replicaIndex,
      name: nameIndex,
      value: fc.constantFrom('m1', 'm2', 'm3'),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('stats' as const),
      r: replicaIndex,
      name: nameIndex,
      participants: fc.nat(3),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('delete' as const), r: replicaIndex, name: nameIndex }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('deliver' as const),
      msg: fc.nat(),
      to: replicaIndex,
      keep: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 4 }) }),
  },
);

export interface Replica {
  store: RoomStore;
  clock: ManualClock;
  skewMs: number;
}

interface Message {
  from: number;
  record: RoomRecord;
}

export class Cluster {
  readonly replicas: Replica[];
  /** Every record version any replica wrote, in write order. */
  readonly emitted: RoomRecord[] = [];
  private pending: Message[] = [];
  private nowMs = T0;

  constructor(skewsMs: number[], bucketCount = 16) {
    this.replicas = skewsMs.map((skewMs, i) => {
      const clock = new ManualClock(T0 + skewMs);
      const store = createRoomStore({
        nodeId: `node-${i}`,
        clock,
        random: new SeededRandom(i + 1),
        bucketCount,
      });
      return { store, clock, skewMs };
    });
  }

  private emit(from: number, records: readonly Readonly<RoomRecord>[]): void {
    for (const record of records) {
      const c = copy(record);
      this.emitted.push(c);
      this.pending.push({ from, record: c });
    }
  }

  apply(op: Op): void {
    if (op.k === 'tick') {
      this.nowMs += op.ms;
      for (const r of this.replicas) r.clock.timeMs = this.nowMs + r.skewMs;
      return;
    }
    if (op.k === 'deliver') {
      if (this.pending.length === 0) return;
      const index = op.msg % this.pending.length;
      const message = this.pending[index]!;
      if (!op.keep) this.pending.splice(index, 1); // kept messages may be delivered again
      this.replicas[op.to % this.replicas.length]!.store.merge(copy(message.record));
      return;
    }
    const r = op.r % this.replicas.length;
    const store = this.replicas[r]!.store;
    const name = NAMES[op.name]!;
    switch (op.k) {
      case 'create': {
        const { room, created } = store.getOrCreate({
          name,
          homeRegion: `region-${r % 2}`,
          metadata: op.meta,
        });
        if (created) this.emit(r, [room]);
        break;
      }
      case 'meta': {
        const room = store.updateMetadata(name, op.value);
        if (room) this.emit(r, [room]);
        break;
      }
      case 'stats': {
        const room = store.updateStats(name, {
          numParticipants: op.participants,
          numPublishers: Math.min(op.participants, 1),
          activeRecording: op.participants > 2,
        });
        if (room) this.emit(r, [room]);
        break;
      }
      case 'delete':
        this.emit(r, store.delete(name));
        break;
    }
  }

  /** Delivers what is still pending, in an order drawn from `seed`; or drops it all. */
  finishDelivery(seed: number, drop: boolean): void {
    const pending = this.pending;
    this.pending = [];
    if (drop) return;
    const random = new SeededRandom(seed);
    for (let i = pending.length - 1; i > 0; i--) {
      const j = random.nextUint32() % (i + 1);
      [pending[i], pending[j]] = [pending[j]!, pending[i]!];
    }
    for (const message of pending) {
      for (let to = 0; to < this.replicas.length; to++) {
        if (to !== message.from) this.replicas[to]!.store.merge(copy(message.record));
      }
    }
  }

  /** Anti-entropy between every pair; returns buckets that differed in the last round. */
  antiEntropy(rounds: number): number {
    let differing = 0;
    for (let round = 0; round < rounds; round++) {
      differing = 0;
      for (let i = 0; i < this.replicas.length; i++) {
        for (let j = i + 1; j < this.replicas.length; j++) {
          differing += syncPair(this.replicas[i]!.store, this.replicas[j]!.store);
        }
      }
    }
    return differing;
  }
}

/**
 * The merge rule computed naively from every version ever written: per (name, sid), each
 * field group from the version with the greatest `(xxxAt, xxxBy)`, the greatest tombstone.
 * A converged store must hold exactly this.
 */
export function referenceJoin(records: readonly RoomRecord[]): RoomRecord[] {
  const byKey = new Map<string, RoomRecord>();
  for (const r of records) {
    const key = JSON.stringify([r.name, r.sid]);
    const acc = byKey.get(key);
    if (acc === undefined) {
      byKey.set(key, { ...r });
      continue;
    }
    if (compareStamps(r.settingsAt, r.settingsBy, acc.settingsAt, acc.settingsBy) > 0) {
      acc.settingsAt = r.settingsAt;
      acc.settingsBy = r.settingsBy;
      acc.emptyTimeoutS = r.emptyTimeoutS;
      acc.departureTimeoutS = r.departureTimeoutS;
      acc.maxParticipants = r.maxParticipants;
      acc.metadata = r.metadata;
      acc.pinnedNode = r.pinnedNode;
    }
    if (compareStamps(r.statsAt, r.statsBy, acc.statsAt, acc.statsBy) > 0) {
      acc.statsAt = r.statsAt;
      acc.statsBy = r.statsBy;
      acc.numParticipants = r.numParticipants;
      acc.numPublishers = r.numPublishers;
      acc.activeRecording = r.activeRecording;
      acc.everOccupied = r.everOccupied;
    }
    if (compareStamps(r.deletedAt, r.deletedBy, acc.deletedAt, acc.deletedBy) > 0) {
      acc.deletedAt = r.deletedAt;
      acc.deletedBy = r.deletedBy;
    }
  }
  // Every incarnation created before its name's newest tombstone carries that tombstone.
  const horizons = new Map<string, RoomRecord>();
  for (const r of byKey.values()) {
    if (r.deletedAt === 0) continue;
    const h = horizons.get(r.name);
    if (!h || compareStamps(r.deletedAt, r.deletedBy, h.deletedAt, h.deletedBy) > 0) {
      horizons.set(r.name, r);
    }
  }
  for (const r of byKey.values()) {
    const h = horizons.get(r.name);
    if (h && compareStamps(r.createdAt, r.creator, h.deletedAt, h.deletedBy) < 0) {
      r.deletedAt = h.deletedAt;
      r.deletedBy = h.deletedBy;
    }
  }
  return [...byKey.values()].sort((x, y) =>
    x.name === y.name ? (x.sid < y.sid ? -1 : 1) : x.name < y.name ? -1 : 1,
  );
}

/**
 * The visible incarnation per the rule, computed naively: the name's newest tombstone
 * `(deletedAt, deletedBy)` is its delete horizon; among live incarnations created at or after
 * it, the smallest (createdAt, creator, sid).
 */
export function referenceVisible(
  records: readonly RoomRecord[],
  name: string,
): RoomRecord | undefined {
  let horizon: RoomRecord | undefined;
  for (const r of records) {
    if (r.name !== name || r.deletedAt === 0) continue;
    if (
      horizon === undefined ||
      compareStamps(r.deletedAt, r.deletedBy, horizon.deletedAt, horizon.deletedBy) > 0
    ) {
      horizon = r;
    }
  }
  let best: RoomRecord | undefined;
  for (const r of records) {
    if (r.name !== name || r.deletedAt !== 0) continue;
    if (
      horizon !== undefined &&
      compareStamps(r.createdAt, r.creator, horizon.deletedAt, horizon.deletedBy) < 0
    ) {
      continue;
    }
    if (
      best === undefined ||
      compareStamps(r.createdAt, r.creator, best.createdAt, best.creator) < 0 ||
      (r.createdAt === best.createdAt && r.creator === best.creator && r.sid < best.sid)
    ) {
      best = r;
    }
  }
  return best;
}
