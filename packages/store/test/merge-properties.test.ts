/**
 * Property tests of the merge rule (DESIGN.md section 4): convergence of replicated histories
 * under reordering, duplication and loss, the CRDT laws over record sets, and digests.
 * Seeds are fixed so a failure replays; fast-check prints the counterexample path.
 */
import type { RoomRecord } from '@roomring/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRoomStore, type RoomStore } from '../src/index.js';
import {
  bucketKey,
  copy,
  dump,
  expectCellsConsistent,
  ManualClock,
  SeededRandom,
  stateKey,
  syncPair,
  T0,
} from './helpers.js';
import { Cluster, NAMES, opArbitrary, referenceJoin, referenceVisible } from './replica-sim.js';

const skews = fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 3, maxLength: 4 });
const history = fc.array(opArbitrary, { minLength: 5, maxLength: 60, size: 'max' });

/** A fresh store that accepts every record of the histories (clock past all of them). */
function freshStore(): RoomStore {
  return createRoomStore({
    nodeId: 'observer',
    clock: new ManualClock(T0 + 60_000),
    random: new SeededRandom(99),
    bucketCount: 16,
  });
}

function load(records: readonly RoomRecord[]): RoomStore {
  const store = freshStore();
  for (const r of records) {
    const outcome = store.merge(copy(r));
    if (outcome.kind === 'rejected') throw new Error(`unexpected rejection ${outcome.rejection}`);
  }
  return store;
}

/** Digest equality must coincide with state equality, for the whole store and per bucket. */
function expectDigestsMatchStates(a: RoomStore, b: RoomStore): void {
  expect(a.digest() === b.digest()).toBe(stateKey(a) === stateKey(b));
  const da = a.bucketDigests();
  const db = b.bucketDigests();
  for (let bucket = 0; bucket < a.bucketCount; bucket++) {
    const sameDigest =
      da[2 * bucket] === db[2 * bucket] && da[2 * bucket + 1] === db[2 * bucket + 1];
    expect(sameDigest).toBe(bucketKey(a, bucket) === bucketKey(b, bucket));
  }
}

describe('replicated histories converge', () => {
  it('after delivery in any order with duplicates and drops, then anti-entropy', () => {
    fc.assert(
      fc.property(skews, history, fc.nat(), fc.boolean(), (skewsMs, ops, seed, drop) => {
        const cluster = new Cluster(skewsMs);
        for (const op of ops) cluster.apply(op);
        cluster.finishDelivery(seed, drop);

        const stores = cluster.replicas.map((r) => r.store);
        for (let i = 1; i < stores.length; i++) expectDigestsMatchStates(stores[0]!, stores[i]!);
        for (const store of stores) expectCellsConsistent(store);

        cluster.antiEntropy(1);
        expect(cluster.antiEntropy(1)).toBe(0); // one round of all pairs is enough

        const reference = referenceJoin(cluster.emitted);
        for (const store of stores) {
          expect(dump(store)).toEqual(reference);
          expect(store.digest()).toBe(stores[0]!.digest());
          expect(store.bucketDigests()).toEqual(stores[0]!.bucketDigests());
          expect(Object.values(store.rejections()).every((n) => n === 0)).toBe(true);
        }
        for (const name of NAMES) {
          const expected = referenceVisible(reference, name);
          for (const store of stores) {
            const visible = store.get(name);
            expect(visible === undefined ? undefined : copy(visible)).toEqual(expected);
          }
        }
        const counts = stores[0]!.counts();
        expect(counts.incarnations).toBe(reference.length);
        expect(counts.live).toBe(reference.filter((r) => r.deletedAt === 0).length);
        expect(counts.visible).toBe(NAMES.filter((n) => referenceVisible(reference, n)).length);
      }),
      { seed: 20_261_129, numRuns: 400 },
    );
  });
});

/** Records from a random history: realistic versions of the same incarnations. */
const universe = fc.tuple(skews, history).map(([skewsMs, ops]) => {
  const cluster = new Cluster(skewsMs);
  for (const op of ops) cluster.apply(op);
  return cluster.emitted;
});

/** Arbitrary records over tiny domains: many equal stamps, also with different values. */
const arbitraryRecord: fc.Arbitrary<RoomRecord> = fc
  .record({
    name: fc.constantFrom('x', 'y'),
    sidIndex: fc.nat(2),
    settings: fc.tuple(fc.nat(2), fc.constantFrom('n1', 'n2'), fc.nat(1), fc.constantFrom('', 'm')),
    stats: fc.tuple(fc.nat(2), fc.constantFrom('n1', 'n2'), fc.nat(2), fc.boolean()),
    deleted: fc.option(fc.tuple(fc.integer({ min: 1, max: 2 }), fc.constantFrom('n1', 'n2')), {
      nil: undefined,
    }),
  })
  .map(({ name, sidIndex, settings, stats, deleted }) => {
    // Identity is a function of (name, sid): identity conflicts are a separate, rejected case.
    const createdAt = (T0 - 1_577_836_800_000) * 4096 + sidIndex;
    const creator = sidIndex === 2 ? 'n2' : 'n1';
    return {
      name,
      sid: `RM_${'ABC'[sidIndex]!.repeat(12)}`,
      createdAt,
      creator,
      homeRegion: 'eu',
      settingsAt: createdAt + settings[0],
      settingsBy: settings[1],
      emptyTimeoutS: 300,
      departureTimeoutS: 20 + settings[2],
      maxParticipants: 0,
      metadata: settings[3],
      pinnedNode: '',
      statsAt: createdAt + stats[0],
      statsBy: stats[1],
      numParticipants: stats[2],
      numPublishers: 0,
      activeRecording: stats[3],
      everOccupied: stats[2] > 0,
      deletedAt: deleted ? createdAt + deleted[0] : 0,
      deletedBy: deleted ? deleted[1] : '',
    };
  });

function lawsOverRecordSets(
  records: fc.Arbitrary<RoomRecord[]>,
  numRuns: number,
  seed: number,
): void {
  const subsets = records.chain((all) =>
    fc.tuple(
      fc.constant(all),
      fc.subarray(all),
      fc.subarray(all),
      fc.subarray(all),
      fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
    ),
  );
  fc.assert(
    fc.property(subsets, ([all, s, t, u, shuffled]) => {
      const join = (x: readonly RoomRecord[], y: readonly RoomRecord[]) => dump(load([...x, ...y]));
      // commutative
      expect(join(s, t)).toEqual(join(t, s));
      // associative
      expect(join(join(s, t), u)).toEqual(join(s, join(t, u)));
      // idempotent
      expect(join(s, s)).toEqual(dump(load(s)));
      expect(join(dump(load(s)), s)).toEqual(dump(load(s)));
      // any delivery order of the same records gives the same state and digest
      const inOrder = load(all);
      const reordered = load(shuffled);
      expect(stateKey(reordered)).toBe(stateKey(inOrder));
      expect(reordered.digest()).toBe(inOrder.digest());
      expectDigestsMatchStates(load(s), load(t));
    }),
    { seed, numRuns },
  );
}

describe('merge is commutative, associative and idempotent over record sets', () => {
  it('on records of random histories', () => {
    lawsOverRecordSets(universe, 200, 4_242);
  });
  it('on arbitrary records with colliding stamps', () => {
    lawsOverRecordSets(fc.array(arbitraryRecord, { maxLength: 12, size: 'max' }), 300, 7_777);
  });
});

describe('digests', () => {
  type Mutation = (r: RoomRecord) => void;
  const mutations: Record<string, Mutation> = {
    name: (r) => {
      r.name = `${r.name}!`;
    },
    sid: (r) => {
      r.sid = r.sid.endsWith('z') ? `${r.sid.slice(0, -1)}y` : `${r.sid.slice(0, -1)}z`;
    },
    createdAt: (r) => {
      r.createdAt -= 1;
    },
    creator: (r) => {
      r.creator = `${r.creator}x`;
    },
    homeRegion: (r) => {
      r.homeRegion = `${r.homeRegion}x`;
    },
    settingsAt: (r) => {
      r.settingsAt += 1;
    },
    settingsBy: (r) => {
      r.settingsBy = `${r.settingsBy}x`;
    },
    emptyTimeoutS: (r) => {
      r.emptyTimeoutS += 1;
    },
    departureTimeoutS: (r) => {
      r.departureTimeoutS += 1;
    },
    maxParticipants: (r) => {
      r.maxParticipants += 1;
    },
    metadata: (r) => {
      r.metadata += '.';
    },
    pinnedNode: (r) => {
      r.pinnedNode += 'p';
    },
    statsAt: (r) => {
      r.statsAt += 1;
    },
    statsBy: (r) => {
      r.statsBy = `${r.statsBy}x`;
    },
    numParticipants: (r) => {
      r.numParticipants += 1;
    },
    numPublishers: (r) => {
      r.numPublishers += 1;
    },
    activeRecording: (r) => {
      r.activeRecording = !r.activeRecording;
    },
    everOccupied: (r) => {
      r.everOccupied = !r.everOccupied;
    },
    deletedAt: (r) => {
      if (r.deletedAt === 0) {
        r.deletedAt = r.createdAt + 1;
        r.deletedBy = 'x';
      } else r.deletedAt += 1;
    },
    deletedBy: (r) => {
      if (r.deletedAt === 0) {
        r.deletedAt = r.createdAt + 1;
        r.deletedBy = 'x';
      } else r.deletedBy += 'x';
    },
  };

  it('every field of every record is in the digest: one change changes it', () => {
    const states = universe
      .map((emitted) => dump(load(emitted)))
      .filter((records) => records.length > 0);
    fc.assert(
      fc.property(
        states,
        fc.nat(),
        fc.constantFrom(...Object.keys(mutations)),
        (records, pick, field) => {
          const index = pick % records.length;
          const changed = records.map(copy);
          mutations[field]!(changed[index]!);
          const original = load(records);
          const mutated = freshStore();
          for (const r of changed) mutated.merge(r);
          expect(stateKey(mutated)).not.toBe(stateKey(original));
          expect(mutated.digest()).not.toBe(original.digest());
          expectDigestsMatchStates(original, mutated);
        },
      ),
      { seed: 31_337, numRuns: 300 },
    );
  });

  it('anti-entropy alone (no gossip at all) brings an empty replica to the same state', () => {
    fc.assert(
      fc.property(universe, (emitted) => {
        const full = load(emitted);
        const empty = freshStore();
        syncPair(full, empty);
        expect(stateKey(empty)).toBe(stateKey(full));
        expect(empty.digest()).toBe(full.digest());
        expect(syncPair(full, empty)).toBe(0);
      }),
      { seed: 1_234, numRuns: 100 },
    );
  });
});

describe('first writer wins; a re-create after a delete wins', () => {
  it('concurrent creates of one name converge on the smallest (createdAt, creator, sid)', () => {
    const args = fc.tuple(
      fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 2, maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
    );
    fc.assert(
      fc.property(args, ([skewsMs, advances]) => {
        const cluster = new Cluster(skewsMs);
        const created: RoomRecord[] = [];
        cluster.replicas.forEach((replica, i) => {
          replica.clock.advance(advances[i]!);
          created.push(copy(replica.store.getOrCreate({ name: 'room', homeRegion: 'eu' }).room));
        });
        const winner = referenceVisible(created, 'room')!;
        cluster.antiEntropy(1);
        for (const { store } of cluster.replicas) {
          expect(store.get('room')?.sid).toBe(winner.sid);
          expect(
            store
              .losers('room')
              .map((r) => r.sid)
              .sort(),
          ).toEqual(
            created
              .filter((r) => r.sid !== winner.sid)
              .map((r) => r.sid)
              .sort(),
          );
        }
        // a delete at a node that knows only the winner ends the losers too (its tombstone is
        // the name's delete horizon): nothing surfaces, on any node, in any order
        const knowsOne = createRoomStore({
          nodeId: 'deleter',
          clock: new ManualClock(T0 + 20),
          random: new SeededRandom(3),
          bucketCount: 16,
        });
        knowsOne.merge(copy(winner));
        const deleted = knowsOne.delete('room').map(copy);
        expect(deleted.map((r) => r.sid)).toEqual([winner.sid]);
        for (const { store } of cluster.replicas) {
          for (const record of deleted) store.merge(copy(record));
          expect(store.get('room')).toBeUndefined();
          expect(store.losers('room')).toEqual([]);
          expect(store.digest()).toBe(cluster.replicas[0]!.store.digest());
        }
      }),
      { seed: 555, numRuns: 300 },
    );
  });

  it('a create after seeing a delete is the visible room everywhere', () => {
    const args = fc.tuple(skews, fc.nat(3), fc.nat(3), fc.nat(3), fc.integer({ min: 0, max: 3 }));
    fc.assert(
      fc.property(args, ([skewsMs, creatorIndex, deleterIndex, recreatorIndex, gapMs]) => {
        const cluster = new Cluster(skewsMs);
        const n = cluster.replicas.length;
        const at = (i: number) => cluster.replicas[i % n]!.store;
        const first = copy(at(creatorIndex).getOrCreate({ name: 'room', homeRegion: 'eu' }).room);
        cluster.antiEntropy(1);
        cluster.apply({ k: 'tick', ms: gapMs });
        at(deleterIndex).delete('room');
        cluster.antiEntropy(1);
        const second = at(recreatorIndex).getOrCreate({ name: 'room', homeRegion: 'eu' });
        expect(second.created).toBe(true);
        cluster.antiEntropy(1);
        for (const { store } of cluster.replicas) {
          expect(store.get('room')?.sid).toBe(second.room.sid);
          expect(store.incarnations('room').map((r) => r.sid)).toEqual([
            first.sid,
            second.room.sid,
          ]);
        }
      }),
      { seed: 8_080, numRuns: 200 },
    );
  });
});

describe('the incarnation cap keeps merge commutative', () => {
  it('any arrival order of one name incarnations gives the same store', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.boolean()), {
          minLength: 1,
          maxLength: 14,
        }),
        fc.nat(),
        (kept, steps, seed) => {
          // Up to four writers, each creating (and maybe deleting) the name in turn; records
          // of one sid may arrive as the create and later as its tombstone.
          const clock = new ManualClock(T0);
          const writers = [0, 1, 2, 3].map((i) =>
            createRoomStore({ nodeId: `w${i}`, clock, random: new SeededRandom(seed + i) }),
          );
          const records: RoomRecord[] = [];
          for (const [writer, remove] of steps) {
            clock.advance(1);
            const store = writers[writer]!;
            const { room, created } = store.getOrCreate({ name: 'n', homeRegion: 'eu' });
            if (created) records.push(copy(room));
            if (remove) records.push(...store.delete('n').map(copy));
          }
          const limits = { incarnationsPerNameMax: kept, incarnationsKeptPerName: kept };
          const merged = (order: readonly RoomRecord[]): RoomStore => {
            const store = createRoomStore({
              nodeId: 'observer',
              clock: new ManualClock(T0 + 60_000),
              random: new SeededRandom(1),
              bucketCount: 16,
              ...limits,
            });
            for (const r of order) store.merge(copy(r));
            return store;
          };
          const shuffled = [...records];
          const random = new SeededRandom(seed);
          for (let i = shuffled.length - 1; i > 0; i--) {
            const j = random.nextUint32() % (i + 1);
            [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
          }
          const a = merged(records);
          const b = merged(shuffled);
          const c = merged([...records].reverse());
          expect(dump(b)).toEqual(dump(a));
          expect(dump(c)).toEqual(dump(a));
          expect(b.digest()).toBe(a.digest());
          expect(a.incarnations('n').length).toBeLessThanOrEqual(kept);
          expect(b.get('n')?.sid).toBe(a.get('n')?.sid);
        },
      ),
      { seed: 1010, numRuns: 300 },
    );
  });
});
