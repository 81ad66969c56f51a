import { DecodeError } from '@roomring/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSnapshotError } from '../src/index.js';
import { ManualClock, newStore, stateKey, T0 } from './helpers.js';
import { Cluster, opArbitrary } from './replica-sim.js';

describe('snapshots', () => {
  it('round-trip the whole state (tombstones included) into an empty store', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { maxLength: 40, size: 'max' }), (ops) => {
        const cluster = new Cluster([0, 1, -1]);
        for (const op of ops) cluster.apply(op);
        const source = cluster.replicas[0]!.store;
        const bytes = source.encodeSnapshot();
        const { store: target } = newStore({
          nodeId: 'node-r',
          bucketCount: 16,
          clock: new ManualClock(T0 + 1_000),
        });
        const result = target.loadSnapshot(bytes);
        expect(result).toMatchObject({
          loaded: true,
          nodeId: 'node-0',
          rejected: 0,
          unchanged: 0,
          updated: 0,
        });
        expect(result.records).toBe(source.counts().incarnations);
        expect(result.inserted).toBe(result.records);
        expect(stateKey(target)).toBe(stateKey(source));
        expect(target.digest()).toBe(source.digest());
        expect(target.counts()).toEqual(source.counts());
        // loading again is idempotent
        expect(target.loadSnapshot(bytes).unchanged).toBe(result.records);
        expect(target.digest()).toBe(source.digest());
      }),
      { seed: 4_711, numRuns: 100 },
    );
  });

  it('refuses a snapshot older than the GC horizon: the node must resync instead', () => {
    const { store: source } = newStore({ tombstoneTtlMs: 1_000 });
    source.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const bytes = source.encodeSnapshot();
    const clock = new ManualClock(T0 + 1_001);
    const { store: target } = newStore({ tombstoneTtlMs: 1_000, clock });
    const result = target.loadSnapshot(bytes);
    expect(result).toMatchObject({ loaded: false, records: 1, inserted: 0 });
    expect(target.counts().incarnations).toBe(0);
    clock.timeMs = T0 + 999;
    expect(target.loadSnapshot(bytes)).toMatchObject({ loaded: true, inserted: 1 });
  });

  it('drops tombstones that passed the horizon since the snapshot was taken', () => {
    const { store: source, clock } = newStore({ tombstoneTtlMs: 1_000 });
    source.getOrCreate({ name: 'gone', homeRegion: 'eu' });
    source.delete('gone');
    clock.advance(600);
    source.getOrCreate({ name: 'kept', homeRegion: 'eu' });
    const bytes = source.encodeSnapshot();
    const { store: target } = newStore({
      tombstoneTtlMs: 1_000,
      clock: new ManualClock(T0 + 1_200),
    });
    expect(target.loadSnapshot(bytes)).toMatchObject({ loaded: true, inserted: 1, rejected: 1 });
    expect([...target.names()]).toEqual(['kept']);
  });

  it('throws InvalidSnapshotError with the decode error as cause for bad bytes', () => {
    const { store } = newStore();
    store.getOrCreate({ name: 'r', homeRegion: 'eu' });
    const bytes = store.encodeSnapshot();
    for (const bad of [
      new Uint8Array(0),
      bytes.subarray(0, bytes.length - 1),
      Uint8Array.of(1, 2, 3),
    ]) {
      let error: unknown;
      try {
        store.loadSnapshot(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidSnapshotError);
      expect((error as InvalidSnapshotError).name).toBe('InvalidSnapshotError');
      expect((error as InvalidSnapshotError).cause).toBeInstanceOf(DecodeError);
    }
    expect(store.counts().incarnations).toBe(1);
  });
});
