/**
 * Micro-benchmarks of @roomring/store: the hot paths of CreateRoom (get-or-create of a known
 * room, create of a new one), merge of remote records, digests, and heap bytes per room.
 *
 * Targets (packages/store brief): get-or-create of an existing room >= 1,000,000 ops/s;
 * create >= 200,000 ops/s; heap per room <= 400 B at 100k and 1M rooms.
 * The bench may read real time (it is not a pure package): the store gets Date.now.
 */
import type { RoomRecord } from '@roomring/protocol';
import { decodeMessage, encodeMessage, packHlc } from '@roomring/protocol';
import { type CreateRoomInput, createRoomStore, type RoomStore } from '@roomring/store';
import { atLeast, atMost, type BenchResult, collectGarbage, measureOpsPerSec } from './harness.js';

const SUITE = 'store';
const clock = { nowMs: () => Date.now() };

/** xorshift32: a seeded source for sids, so runs are comparable. */
function seededRandom(seed: number): { nextUint32(): number } {
  let state = seed >>> 0 || 1;
  return {
    nextUint32() {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    },
  };
}

function newStore(nodeId = 'node-a'): RoomStore {
  return createRoomStore({ nodeId, clock, random: seededRandom(nodeId.length * 7919) });
}

function roomName(i: number, digits: number): string {
  return `room-${String(i).padStart(digits, '0')}`;
}

function inputs(count: number, prefix = 'room'): CreateRoomInput[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `${prefix}-${String(i).padStart(6, '0')}`,
    homeRegion: 'eu-west',
  }));
}

function fill(store: RoomStore, list: readonly CreateRoomInput[]): void {
  for (const input of list) store.getOrCreate(input);
}

function benchGetOrCreateExisting(): number {
  const store = newStore();
  const list = inputs(100_000);
  fill(store, list);
  let i = 0;
  const batch = 10_000;
  return measureOpsPerSec(() => {
    for (let n = 0; n < batch; n++) {
      const result = store.getOrCreate(list[i]!);
      if (result.created) throw new Error('expected an existing room');
      i = i + 1 === list.length ? 0 : i + 1;
    }
  }, batch);
}

function benchGet(): number {
  const store = newStore();
  const list = inputs(100_000);
  fill(store, list);
  const names = list.map((input) => input.name);
  let i = 0;
  let found = 0;
  const batch = 10_000;
  const rate = measureOpsPerSec(() => {
    for (let n = 0; n < batch; n++) {
      if (store.get(names[i]!) !== undefined) found++;
      i = i + 1 === names.length ? 0 : i + 1;
    }
  }, batch);
  if (found === 0) throw new Error('get found nothing');
  return rate;
}

/** Creates of new rooms: each batch fills a fresh store with 20k names (store setup included). */
function benchCreate(): number {
  const list = inputs(20_000);
  return measureOpsPerSec(() => {
    const store = newStore();
    for (const input of list) {
      if (!store.getOrCreate(input).created) throw new Error('expected a create');
    }
  }, list.length);
}

/** Records as a peer would send them: plain objects (as decoded). */
function remoteRecords(count: number): RoomRecord[] {
  const records: RoomRecord[] = [];
  forEachRemoteRecord(count, 6, (r) => records.push(r));
  return records;
}

/** Merge of remote records for unknown rooms (inserts); a fresh store per batch. */
function benchMergeInsert(): number {
  const records = remoteRecords(20_000);
  return measureOpsPerSec(() => {
    const store = newStore();
    for (const r of records) {
      if (store.merge(r).kind !== 'inserted') throw new Error('expected an insert');
    }
  }, records.length);
}

/**
 * Merge of new rooms into a store that holds 100k and grows to 200k, records decoded from
 * room-batches as a node receives them: what a node pays per room during a fill. The case
 * above, a fresh store of 20k per batch, stays in the CPU caches and its young rooms die
 * young; here each room lands among 100k+ others and stays. Run both ways: the records
 * copied into the store, or adopted as Replica.mergeRemote has it (docs/benchmarks.md).
 */
function benchMergeGrowing(adopt: boolean): number {
  const records: RoomRecord[] = [];
  forEachDecodedRecord(200_000, 6, (r) => records.push(r));
  const store = newStore();
  for (let i = 0; i < 100_000; i++) store.merge(records[i]!, adopt);
  collectGarbage();
  const start = performance.now();
  for (let i = 100_000; i < records.length; i++) {
    if (store.merge(records[i]!, adopt).kind !== 'inserted') throw new Error('expected an insert');
  }
  return (100_000 / (performance.now() - start)) * 1_000;
}

/** Merge of remote stats changes to known rooms (each one newer than the last). */
function benchMergeUpdate(): number {
  const records = remoteRecords(100_000);
  const store = newStore();
  for (const r of records) store.merge({ ...r });
  let last = 0;
  let i = 0;
  const batch = 10_000;
  return measureOpsPerSec(() => {
    for (let n = 0; n < batch; n++) {
      const r = records[i]!;
      last = Math.max(packHlc(Date.now(), 0), last + 1);
      r.statsAt = last;
      r.numParticipants = (r.numParticipants + 1) & 15;
      if (store.merge(r).kind !== 'updated') throw new Error('expected an update');
      i = i + 1 === records.length ? 0 : i + 1;
    }
  }, batch);
}

/** Merge of duplicates (anti-entropy resending what we hold): no change, no hashing. */
function benchMergeUnchanged(): number {
  const records = remoteRecords(100_000);
  const store = newStore();
  for (const r of records) store.merge(r);
  let i = 0;
  const batch = 10_000;
  return measureOpsPerSec(() => {
    for (let n = 0; n < batch; n++) {
      if (store.merge(records[i]!).kind !== 'unchanged') throw new Error('expected unchanged');
      i = i + 1 === records.length ? 0 : i + 1;
    }
  }, batch);
}

function benchDigests(store: RoomStore): { digestsPerSec: number; recordsPerSec: number } {
  const digestsPerSec = measureOpsPerSec(
    () => {
      store.bucketDigests();
      store.digest();
    },
    1,
    { roundMs: 200, rounds: 3 },
  );
  let seen = 0;
  const recordsPerSec = measureOpsPerSec(
    () => {
      for (let b = 0; b < store.bucketCount; b++) for (const _ of store.recordsInBucket(b)) seen++;
    },
    store.counts().incarnations,
    { roundMs: 200, rounds: 3 },
  );
  if (seen === 0) throw new Error('no records iterated');
  return { digestsPerSec, recordsPerSec };
}

/** Records of `count` new rooms as a peer would send them, one plain object at a time. */
function forEachRemoteRecord(count: number, digits: number, fn: (r: RoomRecord) => void): void {
  const origin = newStore('node-b');
  for (let i = 0; i < count; i++) {
    const room = origin.getOrCreate({ name: roomName(i, digits), homeRegion: 'eu-west' }).room;
    fn({ ...room }); // a plain object, as the decoder hands over
    if (origin.counts().names === 4_096) origin.clear();
  }
}

/** Records per room-batch in the decoded fill: the replicator's flush size (1,000). */
const DECODED_BATCH_RECORDS = 1_000;

/**
 * Records of `count` new rooms as a receiving node gets them: encoded into room-batch
 * messages and decoded again by the real codec (whose records a store may keep as they are:
 * RoomStore.merge's `adopt`).
 */
function forEachDecodedRecord(count: number, digits: number, fn: (r: RoomRecord) => void): void {
  let batch: RoomRecord[] = [];
  let seq = 0;
  const flush = (): void => {
    const bytes = encodeMessage({
      type: 'room-batch',
      origin: 'node-b',
      seq: ++seq,
      sentAt: 1,
      records: batch,
    });
    batch = [];
    const decoded = decodeMessage(bytes);
    if (!decoded.ok || decoded.message.type !== 'room-batch') throw new Error('decode failed');
    for (const record of decoded.message.records) fn(record);
  };
  forEachRemoteRecord(count, digits, (record) => {
    batch.push(record);
    if (batch.length === DECODED_BATCH_RECORDS) flush();
  });
  if (batch.length > 0) flush();
}

type FillSource = 'getOrCreate' | 'merge' | 'decoded';

/** Heap bytes per room: heapUsed after - before a fill of `count` rooms, over count. */
function heapPerRoom(count: number, source: FillSource): { bytes: number; store: RoomStore } {
  const digits = count >= 1_000_000 ? 7 : 6;
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  const store = newStore();
  if (source === 'merge') {
    forEachRemoteRecord(count, digits, (record) => store.merge(record));
  } else if (source === 'decoded') {
    // Adopted, as a node merges what it decodes (Replica.mergeRemote).
    forEachDecodedRecord(count, digits, (record) => store.merge(record, true));
  } else {
    for (let i = 0; i < count; i++) {
      store.getOrCreate({ name: roomName(i, digits), homeRegion: 'eu-west' });
    }
  }
  collectGarbage();
  const after = process.memoryUsage().heapUsed;
  if (store.counts().visible !== count) throw new Error('fill failed');
  return { bytes: (after - before) / count, store };
}

/**
 * Runs a throughput case and notes how much CPU the process got meanwhile: on a shared
 * 2-core machine other jobs can take most of it, and ops/s scale with that share.
 */
function withCpuShare(measure: () => number): { value: number; note: string } {
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const value = measure();
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const share = (cpu.user + cpu.system) / 1_000 / wallMs;
  return { value, note: `process got ${Math.round(share * 100)}% of a core` };
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const push = (r: Omit<BenchResult, 'suite'>): void => {
    results.push({ suite: SUITE, ...r });
  };

  const getOrCreate = withCpuShare(benchGetOrCreateExisting);
  push({
    name: 'getOrCreate, existing room (100k rooms)',
    unit: 'ops/s',
    ...getOrCreate,
    ...atLeast(getOrCreate.value, 1_000_000),
  });
  push({ name: 'get, existing room (100k rooms)', unit: 'ops/s', ...withCpuShare(benchGet) });
  const create = withCpuShare(benchCreate);
  push({
    name: 'getOrCreate, new room (fresh store of 20k)',
    unit: 'ops/s',
    ...create,
    ...atLeast(create.value, 200_000),
  });
  push({
    name: 'merge, remote insert (new rooms, a fresh store of 20k)',
    unit: 'ops/s',
    ...withCpuShare(benchMergeInsert),
  });
  const growingCopied = withCpuShare(() => benchMergeGrowing(false));
  push({
    name: 'merge, remote insert into a store growing from 100k to 200k rooms, copied',
    unit: 'ops/s',
    ...growingCopied,
  });
  const growingAdopted = withCpuShare(() => benchMergeGrowing(true));
  push({
    name: 'merge, same, the decoded records adopted (as a node merges them)',
    unit: 'ops/s',
    ...growingAdopted,
  });
  push({
    name: 'merge into a growing store: adopted / copied',
    value: growingAdopted.value / growingCopied.value,
    unit: 'x',
    note: 'same run, side by side; adopting skips the copy of the record, its name and sid',
  });
  push({
    name: 'merge, remote stats update (100k rooms)',
    unit: 'ops/s',
    ...withCpuShare(benchMergeUpdate),
  });
  push({
    name: 'merge, duplicate (100k rooms)',
    unit: 'ops/s',
    ...withCpuShare(benchMergeUnchanged),
  });

  const small = heapPerRoom(100_000, 'getOrCreate');
  push({
    name: 'heap per room, 100k rooms (getOrCreate)',
    value: small.bytes,
    unit: 'B',
    ...atMost(small.bytes, 400),
  });
  const digests = benchDigests(small.store);
  push({
    name: 'bucketDigests() + digest(), 4,096 buckets',
    value: digests.digestsPerSec,
    unit: 'ops/s',
  });
  push({
    name: 'recordsInBucket over all buckets (100k rooms)',
    value: digests.recordsPerSec,
    unit: 'records/s',
  });
  const merged = heapPerRoom(100_000, 'merge');
  push({
    name: 'heap per room, 100k rooms (merged from a peer)',
    value: merged.bytes,
    unit: 'B',
    ...atMost(merged.bytes, 400),
  });
  const decoded = heapPerRoom(100_000, 'decoded');
  push({
    name: 'heap per room, 100k rooms (decoded from room-batches)',
    value: decoded.bytes,
    unit: 'B',
    ...atMost(decoded.bytes, 400),
  });
  const large = heapPerRoom(1_000_000, 'getOrCreate');
  push({
    name: 'heap per room, 1M rooms (getOrCreate)',
    value: large.bytes,
    unit: 'B',
    ...atMost(large.bytes, 400),
  });
  const sweepsMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    large.store.gc();
    sweepsMs.push(performance.now() - start);
  }
  push({
    name: 'gc() sweep of 1M rooms (no tombstones due, median of 3)',
    value: sweepsMs.sort((a, b) => a - b)[1]!,
    unit: 'ms',
  });
  return results;
}
