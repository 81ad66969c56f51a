/** Test doubles and helpers shared by the store's tests (not a test file itself). */
import { CELLS_PER_BUCKET, type RoomRecord } from '@roomring/protocol';
import { expect } from 'vitest';
import {
  type Clock,
  createRoomStore,
  type Random,
  type RoomStore,
  type RoomStoreInit,
} from '../src/index.js';
import { cellOfHash, roomNameHash32 } from '../src/name-hash.js';
import { recordHash } from '../src/record-hash.js';

/** 2026-01-01T00:00:00Z: any fixed time after the HLC epoch. */
export const T0 = Date.UTC(2026, 0, 1);

export class ManualClock implements Clock {
  constructor(public timeMs: number = T0) {}
  nowMs(): number {
    return this.timeMs;
  }
  advance(ms: number): void {
    this.timeMs += ms;
  }
}

/** mulberry32: a tiny seeded PRNG, so every sid a test creates is reproducible. */
export class SeededRandom implements Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
}

export function newStore(overrides: Partial<RoomStoreInit> = {}): {
  store: RoomStore;
  clock: ManualClock;
} {
  const clock = overrides.clock instanceof ManualClock ? overrides.clock : new ManualClock();
  const store = createRoomStore({
    nodeId: 'node-a',
    clock,
    random: new SeededRandom(1),
    bucketCount: 64,
    ...overrides,
  });
  return { store, clock };
}

/** A plain copy of a record: what goes on the wire. */
export function copy(record: Readonly<RoomRecord>): RoomRecord {
  return { ...record };
}

/** Every stored incarnation, as plain objects sorted by (name, sid). */
export function dump(store: RoomStore): RoomRecord[] {
  const all: RoomRecord[] = [];
  for (let b = 0; b < store.bucketCount; b++) {
    for (const record of store.recordsInBucket(b)) all.push(copy(record));
  }
  return all.sort((x, y) =>
    x.name === y.name ? (x.sid < y.sid ? -1 : x.sid > y.sid ? 1 : 0) : x.name < y.name ? -1 : 1,
  );
}

/** A canonical string of the whole state, for equality checks. */
export function stateKey(store: RoomStore): string {
  return JSON.stringify(dump(store));
}

/** Records of one bucket as a canonical string. */
export function bucketKey(store: RoomStore, bucket: number): string {
  return JSON.stringify(
    [...store.recordsInBucket(bucket)]
      .map(copy)
      .sort((x, y) => (x.name + x.sid < y.name + y.sid ? -1 : 1)),
  );
}

/**
 * One anti-entropy exchange between two stores (docs/protocol/sync.md): compare bucket
 * digests, then each side merges the other's records of every differing bucket.
 * Returns how many buckets differed.
 */
export function syncPair(a: RoomStore, b: RoomStore): number {
  const da = a.bucketDigests();
  const db = b.bucketDigests();
  let differing = 0;
  for (let bucket = 0; bucket < a.bucketCount; bucket++) {
    if (da[2 * bucket] === db[2 * bucket] && da[2 * bucket + 1] === db[2 * bucket + 1]) continue;
    differing++;
    const fromA = [...a.recordsInBucket(bucket)].map(copy);
    const fromB = [...b.recordsInBucket(bucket)].map(copy);
    for (const r of fromA) b.merge(r);
    for (const r of fromB) a.merge(r);
  }
  return differing;
}

/**
 * The cell digests agree with the records (docs/protocol/sync.md, cell summaries): every
 * record of a bucket is in exactly one cell, the cell of its name's hash; each cell's digest
 * is the XOR of its records' hashes; the cells of a bucket XOR to the bucket's digest.
 */
export function expectCellsConsistent(store: RoomStore): void {
  const digests = store.bucketDigests();
  for (let b = 0; b < store.bucketCount; b++) {
    const cells = store.cellDigests(b);
    expect(cells).toHaveLength(2 * CELLS_PER_BUCKET);
    const seen = new Set<Readonly<RoomRecord>>();
    let bucketLo = 0;
    let bucketHi = 0;
    for (let c = 0; c < CELLS_PER_BUCKET; c++) {
      let lo = 0;
      let hi = 0;
      for (const record of store.recordsInCell(b, c)) {
        expect(cellOfHash(roomNameHash32(record.name))).toBe(c);
        expect(seen.has(record)).toBe(false);
        seen.add(record);
        const [h, l] = recordHash(record);
        hi = (hi ^ h) >>> 0;
        lo = (lo ^ l) >>> 0;
      }
      expect([cells[2 * c], cells[2 * c + 1]]).toEqual([lo, hi]);
      bucketLo = (bucketLo ^ lo) >>> 0;
      bucketHi = (bucketHi ^ hi) >>> 0;
    }
    expect([...store.recordsInBucket(b)].every((record) => seen.has(record))).toBe(true);
    expect(seen.size).toBe([...store.recordsInBucket(b)].length);
    expect(store.namesInBucket(b)).toBe(new Set([...seen].map((record) => record.name)).size);
    expect([bucketLo, bucketHi]).toEqual([digests[2 * b], digests[2 * b + 1]]);
  }
}
