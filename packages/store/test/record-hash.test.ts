/**
 * recordHash(): the per-record hash anti-entropy summaries compare (docs/protocol/sync.md).
 * It must be exactly what the bucket digests XOR together, or summaries would see every
 * record as different (or, worse, equal ones as equal when they are not).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordHash } from '../src/index.js';
import { copy, expectCellsConsistent, newStore } from './helpers.js';

const PINNED = {
  name: 'room-000123',
  sid: 'RM_23456789ABCD',
  createdAt: 775_736_524_800_000,
  creator: 'node-a',
  homeRegion: 'eu',
  settingsAt: 775_736_524_800_000,
  settingsBy: 'node-a',
  emptyTimeoutS: 300,
  departureTimeoutS: 20,
  maxParticipants: 0,
  metadata: '',
  pinnedNode: '',
  statsAt: 775_736_524_800_000,
  statsBy: 'node-a',
  numParticipants: 0,
  numPublishers: 0,
  activeRecording: false,
  everOccupied: false,
  deletedAt: 0,
  deletedBy: '',
};

type Op =
  | { k: 'create'; name: string }
  | { k: 'meta'; name: string; value: string }
  | { k: 'stats'; name: string; participants: number }
  | { k: 'delete'; name: string };

const arbName = fc.oneof(
  fc.constantFrom('a', 'b', '__proto__', 'constructor'),
  fc.string({ minLength: 1, maxLength: 12 }),
);
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('create' as const), name: arbName }),
  fc.record({ k: fc.constant('meta' as const), name: arbName, value: fc.string({ maxLength: 8 }) }),
  fc.record({
    k: fc.constant('stats' as const),
    name: arbName,
    participants: fc.nat({ max: 5 }),
  }),
  fc.record({ k: fc.constant('delete' as const), name: arbName }),
);

describe('recordHash', () => {
  it('is the pinned record hash, as [high, low] unsigned words', () => {
    // The same vector as the digest pin in room-store-local.test.ts: digest words are
    // [low, high] = ['cc5d95f5', '6c64f725'] for a one-bucket store holding only this record.
    expect(recordHash(PINNED)).toEqual([0x6c64f725, 0xcc5d95f5]);
    const { store } = newStore({ bucketCount: 1 });
    store.merge(PINNED);
    const [hi, lo] = recordHash(store.get(PINNED.name)!);
    expect([lo, hi]).toEqual([...store.bucketDigests()]);
  });

  it('changes with any field, and only with the field values (not the object)', () => {
    const base = recordHash(PINNED);
    expect(recordHash({ ...PINNED })).toEqual(base);
    const changes: Partial<typeof PINNED>[] = [
      { name: 'room-000124' },
      { sid: 'RM_23456789ABCE' },
      { metadata: 'x' },
      { numParticipants: 1 },
      { everOccupied: true },
      { deletedAt: 775_736_524_800_001, deletedBy: 'node-b' },
    ];
    const hashes = changes.map((change) => recordHash({ ...PINNED, ...change }).join(':'));
    expect(new Set([base.join(':'), ...hashes]).size).toBe(changes.length + 1);
  });

  it('XORed over a bucket gives its digest, after any local history (property)', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { maxLength: 40 }), (ops) => {
        const { store, clock } = newStore({ bucketCount: 8 });
        for (const op of ops) {
          clock.advance(1);
          try {
            if (op.k === 'create') store.getOrCreate({ name: op.name, homeRegion: 'eu' });
            else if (op.k === 'meta') store.updateMetadata(op.name, op.value);
            else if (op.k === 'stats') {
              store.updateStats(op.name, {
                numParticipants: op.participants,
                numPublishers: 0,
                activeRecording: false,
              });
            } else store.delete(op.name);
          } catch {
            // invalid names (lone surrogates) are refused; the store is unchanged
          }
        }
        const digests = store.bucketDigests();
        for (let b = 0; b < store.bucketCount; b++) {
          let hi = 0;
          let lo = 0;
          for (const record of store.recordsInBucket(b)) {
            const [h, l] = recordHash(copy(record));
            hi = (hi ^ h) >>> 0;
            lo = (lo ^ l) >>> 0;
          }
          expect([lo, hi]).toEqual([digests[2 * b], digests[2 * b + 1]]);
        }
        expectCellsConsistent(store);
      }),
      { numRuns: 300, seed: 17 },
    );
  });
});
