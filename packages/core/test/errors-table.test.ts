/**
 * The node's error classes against the one error table (@roomring/api-errors), and
 * `fromStoreError`: each store error a local write can throw, from a real store, becomes the
 * RegistryError the table answers right (bad input names the request argument; the
 * incarnation limit is resource_exhausted with the time its tombstone is collected).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CreateRoomInput,
  createRoomStore,
  InvalidBucketError,
  InvalidClockReadingError,
  type RoomStore,
  RoomStoreError,
} from '@roomring/store';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import {
  DeadlineExceededError,
  ERROR_TABLE,
  fromStoreError,
  InvalidArgumentError,
  LimitExceededError,
  NODE_ARGUMENT_OF_STORE_FIELD,
  NodeNotReadyError,
  OverloadedError,
  RegistryError,
  RoomNotFoundError,
  UnavailableError,
} from '../src/errors.js';

/** One instance of every RegistryError class. */
const SAMPLES: readonly RegistryError[] = [
  new InvalidArgumentError('name', 'too long'),
  new RoomNotFoundError('r'),
  new UnavailableError('no partner acknowledged', 1_500),
  new NodeNotReadyError('stopping'),
  new OverloadedError('pending writes', 200),
  new LimitExceededError('incarnationsPerNameMax', 'spent', 3_000),
  new DeadlineExceededError(),
];

describe('the error classes and the table', () => {
  it('has a sample of every exported RegistryError class', () => {
    const classes = Object.entries(errors)
      .filter(
        ([, value]) => typeof value === 'function' && value.prototype instanceof RegistryError,
      )
      .map(([name]) => name);
    expect(classes.sort()).toEqual(SAMPLES.map((e) => e.name).sort());
  });

  it('lists each class in the row of its code, and each listed class exists', () => {
    for (const error of SAMPLES) {
      const names = ERROR_TABLE[error.code].errors.map((e) => e.name);
      expect(names, error.name).toContain(error.name);
    }
    const listed = Object.values(ERROR_TABLE).flatMap((row) => row.errors.map((e) => e.name));
    expect(listed.sort()).toEqual(SAMPLES.map((e) => e.name).sort());
  });

  it('gives retryAfterMs and argument exactly where the row answers with them', () => {
    for (const error of SAMPLES) {
      const row = ERROR_TABLE[error.code];
      expect(error.retryAfterMs !== undefined, error.name).toBe(row.retryAfter);
      expect(error.argument !== undefined, error.name).toBe(row.meta.includes('argument'));
    }
    expect(new NodeNotReadyError('resyncing', 5_000).retryAfterMs).toBe(5_000);
    expect(new InvalidArgumentError('metadata', 'too large')).toMatchObject({
      field: 'metadata',
      argument: 'metadata',
      message: 'metadata: too large',
    });
  });

  it('packages/node/README.md shows each class with its code', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'node', 'README.md'), 'utf8');
    for (const error of SAMPLES) {
      const line = readme.split('\n').find((l) => l.startsWith(`| \`${error.name}\``));
      expect(line, error.name).toBeDefined();
      expect(line).toContain(`| \`${error.code}\``);
    }
  });
});

const T0 = Date.UTC(2026, 0, 1);

function newStore(init: { incarnationsPerNameMax?: number; tombstoneTtlMs?: number } = {}) {
  const clock = { timeMs: T0, nowMs: () => clock.timeMs };
  let seed = 1;
  const store = createRoomStore({
    nodeId: 'n1',
    clock,
    random: { nextUint32: () => (seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) },
    bucketCount: 16,
    ...init,
  });
  return { store, clock };
}

/** The store error `write` throws (the test fails if it throws none, or another kind). */
function storeErrorOf(write: () => unknown): RoomStoreError {
  try {
    write();
  } catch (error) {
    expect(error).toBeInstanceOf(RoomStoreError);
    return error as RoomStoreError;
  }
  throw new Error('expected the store to refuse the write');
}

describe('fromStoreError', () => {
  /** A create of a new room ('r' exists: its create would validate nothing). */
  const create = (store: RoomStore, input: Partial<CreateRoomInput>) => () =>
    store.getOrCreate({ name: 'fresh', homeRegion: 'eu', ...input });

  const badInputs: [argument: string, write: (store: RoomStore) => () => unknown][] = [
    ['name', (s) => create(s, { name: '' })],
    ['name', (s) => create(s, { name: 'x'.repeat(257) })],
    ['region', (s) => create(s, { homeRegion: '' })],
    ['emptyTimeoutS', (s) => create(s, { emptyTimeoutS: -1 })],
    ['departureTimeoutS', (s) => create(s, { departureTimeoutS: 1.5 })],
    ['maxParticipants', (s) => create(s, { maxParticipants: 2 ** 32 })],
    ['metadata', (s) => create(s, { metadata: 'm'.repeat(65_537) })],
    ['pinnedNode', (s) => create(s, { pinnedNode: 'n'.repeat(129) })],
    ['metadata', (s) => () => s.updateMetadata('r', 'm'.repeat(65_537))],
    [
      'numParticipants',
      (s) => () =>
        s.updateStats('r', { numParticipants: -1, numPublishers: 0, activeRecording: false }),
    ],
    [
      'numPublishers',
      (s) => () =>
        s.updateStats('r', { numParticipants: 1, numPublishers: 0.5, activeRecording: false }),
    ],
    [
      'activeRecording',
      (s) => () =>
        s.updateStats('r', {
          numParticipants: 1,
          numPublishers: 0,
          activeRecording: 'yes' as never,
        }),
    ],
  ];

  it('names the request argument of every bad input; nothing is stored', () => {
    for (const [argument, write] of badInputs) {
      const { store } = newStore();
      store.getOrCreate({ name: 'r', homeRegion: 'eu' });
      const before = store.digest();
      const storeError = storeErrorOf(write(store));
      const error = fromStoreError(storeError);
      expect(error, argument).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'invalid_argument', argument, retryAfterMs: undefined });
      expect((error as InvalidArgumentError).message).toBe(`${argument}: ${storeError.message}`);
      expect(store.digest()).toBe(before);
    }
  });

  it('takes the caller’s names for the arguments', () => {
    const { store } = newStore();
    const storeError = storeErrorOf(create(store, { emptyTimeoutS: -1 }));
    const livekitNames = { ...NODE_ARGUMENT_OF_STORE_FIELD, emptyTimeoutS: 'empty_timeout' };
    const error = fromStoreError(storeError, livekitNames) as InvalidArgumentError;
    expect(error.argument).toBe('empty_timeout');
  });

  it('answers the incarnation limit with resource_exhausted until the oldest tombstone goes', () => {
    const ttlMs = 60_000;
    const { store, clock } = newStore({ incarnationsPerNameMax: 3, tombstoneTtlMs: ttlMs });
    for (let i = 0; i < 3; i++) {
      create(store, {})();
      store.delete('fresh');
      clock.timeMs += 1_000;
    }
    clock.timeMs = T0 + 5_000;
    const error = fromStoreError(storeErrorOf(create(store, {}))) as LimitExceededError;
    expect(error).toBeInstanceOf(LimitExceededError);
    expect(error).toMatchObject({ code: 'resource_exhausted', limit: 'incarnationsPerNameMax' });
    expect(error.message).toContain('incarnationsPerNameMax = 3');
    // Each delete re-stamps the name's older tombstones with its own stamp (the delete
    // horizon), so all three carry the last delete's, at T0 + 2 s: gc() may drop them once
    // that is older than now - tombstoneTtlMs, at T0 + 2 s + ttlMs + 1 ms.
    const collectableAt = T0 + 2_000 + ttlMs + 1;
    expect(error.retryAfterMs).toBe(collectableAt - clock.timeMs);
    clock.timeMs = collectableAt - 1;
    expect(store.gc()).toBe(0);
    expect(() => create(store, {})()).toThrow('incarnations');
    clock.timeMs = collectableAt;
    expect(store.gc()).toBe(3);
    expect(create(store, {})().created).toBe(true);
  });

  it('returns the node’s own faults unchanged (the server answers internal)', () => {
    for (const storeError of [
      new InvalidBucketError('bucket 99 is not in 0..15'),
      new InvalidClockReadingError('clock.nowMs() returned 0'),
    ]) {
      const error = fromStoreError(storeError);
      expect(error).toBe(storeError);
      expect(error).not.toBeInstanceOf(RegistryError);
    }
  });
});
