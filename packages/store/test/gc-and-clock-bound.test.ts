import { hlcWallMs, type RoomRecord } from '@roomring/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRoomStore } from '../src/index.js';
import { copy, dump, ManualClock, newStore, SeededRandom, stateKey, T0 } from './helpers.js';
import { Cluster, opArbitrary } from './replica-sim.js';

describe('GC horizon (property)', () => {
  it('gc drops exactly the tombstones older than the horizon; late ones are then refused', () => {
    const args = fc.tuple(
      fc.array(opArbitrary, { minLength: 10, maxLength: 60, size: 'max' }),
      fc.integer({ min: 1, max: 40 }), // tombstoneTtlMs
      fc.integer({ min: 0, max: 80 }), // wait before gc
    );
    fc.assert(
      fc.property(args, ([ops, ttlMs, waitMs]) => {
        const cluster = new Cluster([0, 2, -2]);
        for (const op of ops) {
          cluster.apply(op);
          if (op.k !== 'tick') cluster.apply({ k: 'tick', ms: 1 }); // spread stamps in time
        }
        const source = cluster.replicas[0]!.store;
        const before = dump(source);
        const stamps = before.flatMap((r) => [r.createdAt, r.settingsAt, r.statsAt, r.deletedAt]);
        const lastWall = hlcWallMs(Math.max(...stamps, 0));
        // Load while nothing is expired (the history spans < 500 ms: within the clock bound),
        // then let time pass.
        const clock = new ManualClock(T0 - 10);
        const store = createRoomStore({
          nodeId: 'gc',
          clock,
          random: new SeededRandom(5),
          bucketCount: 16,
          tombstoneTtlMs: ttlMs,
        });
        for (const r of before) expect(store.merge(copy(r)).kind).toBe('inserted');
        clock.timeMs = Math.max(lastWall, T0) + waitMs;
        const horizon = store.gcHorizon();
        // Incarnations behind a name's delete horizon carry its tombstone (closeBehindHorizon),
        // so tombstones are all there is to collect, once their last write of any kind is
        // older than the horizon.
        const expired = (r: RoomRecord) =>
          r.deletedAt !== 0 &&
          Math.max(r.createdAt, r.settingsAt, r.statsAt, r.deletedAt) < horizon;
        expect(store.gc()).toBe(before.filter(expired).length);
        const kept = before.filter((r) => !expired(r));
        expect(dump(store)).toEqual(kept);
        // the digest is that of a store that never held the dropped tombstones
        const clean = createRoomStore({
          nodeId: 'c',
          clock,
          random: new SeededRandom(6),
          bucketCount: 16,
          tombstoneTtlMs: ttlMs,
        });
        for (const r of kept) clean.merge(copy(r));
        expect(store.digest()).toBe(clean.digest());
        // the dropped tombstones cannot come back
        for (const r of before.filter(expired))
          expect(store.merge(copy(r)).rejection).toBe('gc-horizon');
        expect(stateKey(store)).toBe(stateKey(clean));
        expect(store.gc()).toBe(0);
      }),
      { seed: 90_210, numRuns: 200 },
    );
  });
});

describe('GC horizon (example)', () => {
  it('keeps a tombstone until its last write, not its delete, is older than the TTL', () => {
    // Swarm seed 1273: an update written at a node that had not heard of the delete reached
    // a node after the tombstone's delete was past the TTL but before the update was. Dropped
    // by its delete stamp, the tombstone was gone and the update brought the room back.
    const clock = new ManualClock(T0);
    const init = { clock, bucketCount: 16, tombstoneTtlMs: 1_000 };
    const { store: deleter } = newStore({ ...init, nodeId: 'deleter' });
    const { store: writer } = newStore({ ...init, nodeId: 'writer' });
    const created = writer.getOrCreate({ name: 'r', homeRegion: 'eu' }).room;
    deleter.merge(copy(created));
    clock.timeMs = T0 + 100;
    deleter.delete('r');
    clock.timeMs = T0 + 200;
    const update = copy(writer.updateMetadata('r', 'late')!);
    expect(deleter.merge(copy(update)).kind).not.toBe('rejected');
    expect(deleter.get('r')).toBeUndefined();

    // The delete is past the TTL, the update is not: the tombstone stays and ends any copy.
    clock.timeMs = T0 + 1_150;
    expect(deleter.gc()).toBe(0);
    deleter.merge(copy(update));
    expect(deleter.get('r')).toBeUndefined();
    expect(deleter.incarnations('r').map((r) => r.deletedAt > 0)).toEqual([true]);
    // A copy of the tombstone is still taken by a node that lacks it.
    const { store: fresh } = newStore({ ...init, nodeId: 'fresh' });
    expect(fresh.merge(copy(deleter.incarnations('r')[0]!)).kind).toBe('inserted');

    // Both past the TTL: collected, and a late copy of the tombstone is refused.
    clock.timeMs = T0 + 1_250;
    const tombstone = copy(deleter.incarnations('r')[0]!);
    expect(deleter.gc()).toBe(1);
    expect(deleter.merge(tombstone).rejection).toBe('gc-horizon');
  });
});

describe('clock bound (property)', () => {
  it('a record is refused exactly when a stamp is more than maxClockOffsetMs ahead', () => {
    const args = fc.tuple(
      fc.integer({ min: -2_000, max: 2_000 }), // sender clock offset
      fc.integer({ min: 0, max: 1_000 }), // maxClockOffsetMs
      fc.constantFrom('create', 'update', 'delete'),
    );
    fc.assert(
      fc.property(args, ([offsetMs, maxClockOffsetMs, what]) => {
        const senderClock = new ManualClock(T0);
        const sender = createRoomStore({
          nodeId: 's',
          clock: senderClock,
          random: new SeededRandom(1),
        });
        const created = copy(sender.getOrCreate({ name: 'r', homeRegion: 'eu' }).room);
        senderClock.advance(offsetMs + 1_000);
        const receiverClock = new ManualClock(T0 + 1_000);
        const receiver = createRoomStore({
          nodeId: 'r',
          clock: receiverClock,
          random: new SeededRandom(2),
          maxClockOffsetMs,
        });
        let record = created;
        if (what !== 'create') {
          expect(receiver.merge(created).kind).toBe('inserted');
          record = copy(
            what === 'update' ? sender.updateMetadata('r', 'm')! : sender.delete('r')[0]!,
          );
        }
        const aheadMs =
          hlcWallMs(Math.max(record.createdAt, record.settingsAt, record.deletedAt)) -
          receiverClock.timeMs;
        const before = stateKey(receiver);
        const outcome = receiver.merge(record);
        if (aheadMs > maxClockOffsetMs) {
          expect(outcome.rejection).toBe('clock-bound');
          expect(stateKey(receiver)).toBe(before);
          expect(receiver.rejections()['clock-bound']).toBe(1);
        } else {
          expect(outcome.kind).toBe(what === 'create' ? 'inserted' : 'updated');
        }
      }),
      { seed: 77, numRuns: 300 },
    );
  });
});
