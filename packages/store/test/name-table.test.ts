import { CELLS_PER_BUCKET } from '@roomring/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Incarnation, newIncarnation } from '../src/incarnation.js';
import { cellOfHash, roomNameHash32 } from '../src/name-hash.js';
import { NameTable, nameOf, PROBE_MAX } from '../src/name-table.js';
import { newStore } from './helpers.js';

/** Two names whose 32-bit hashes are equal (found by search; checked below). */
const A = 'room-112789';
const B = 'room-349192';

const room = (name: string, sid = 'RM_222222222222'): Incarnation =>
  newIncarnation(name, sid, 1, 'node-a', 'eu');

describe('NameTable', () => {
  it('the fixture names collide', () => {
    expect(roomNameHash32(A)).toBe(roomNameHash32(B));
    expect(A).not.toBe(B);
  });

  it('keeps names apart whose hashes are equal', () => {
    const table = new NameTable();
    const hash = roomNameHash32(A);
    const a = room(A);
    const b = room(B);
    table.set(A, hash, a);
    expect(table.get(B, hash)).toBeUndefined();
    table.set(B, hash, b);
    expect(table.get(A, hash)).toBe(a);
    expect(table.get(B, hash)).toBe(b);
    expect([...table.names()].sort()).toEqual([A, B]);
    // Replaced under its own name, the other untouched.
    const a2 = [a, room(A, 'RM_333333333333')];
    table.set(A, hash, a2);
    expect(table.get(A, hash)).toBe(a2);
    expect(table.get(B, hash)).toBe(b);
    expect([...table.values()]).toHaveLength(2);
    table.delete(A, hash);
    expect(table.get(A, hash)).toBeUndefined();
    expect(table.get(B, hash)).toBe(b);
    table.delete(A, hash); // absent: no effect
    expect(table.get(B, hash)).toBe(b);
    // Back to one name per slot; a new colliding name shares it again.
    table.set(A, hash, a);
    expect(table.get(A, hash)).toBe(a);
    table.delete(B, hash);
    table.delete(A, hash);
    expect([...table.values()]).toEqual([]);
  });

  it('a lookup of another name with the same hash is a miss, not the stored entry', () => {
    const table = new NameTable();
    const hash = roomNameHash32(A);
    table.set(A, hash, room(A));
    expect(table.get(B, hash)).toBeUndefined();
    table.delete(B, hash);
    expect((table.get(A, hash) as Incarnation | undefined)?.name).toBe(A);
  });

  it('lets an iteration delete and replace entries, colliding names included', () => {
    const table = new NameTable();
    const names = [A, B, 'alpha', 'beta', 'gamma'];
    for (const name of names) table.set(name, roomNameHash32(name), room(name));
    const seen: string[] = [];
    for (const entry of table.values()) {
      const name = (entry as Incarnation).name;
      seen.push(name);
      if (name === A || name === 'alpha') table.delete(name, roomNameHash32(name));
      else table.set(name, roomNameHash32(name), [entry as Incarnation]);
    }
    expect(seen.sort()).toEqual([...names].sort());
    expect([...table.names()].sort()).toEqual(['beta', 'gamma', B].sort());
    expect(Array.isArray(table.get(B, roomNameHash32(B)))).toBe(true);
  });

  it('entriesInCell lists the entries of names in that cell, colliding names included', () => {
    const table = new NameTable();
    const names = [A, B, ...Array.from({ length: 200 }, (_, i) => `n-${i}`)];
    for (const name of names) table.set(name, roomNameHash32(name), room(name));
    const byCell = new Map<number, string[]>();
    for (const name of names) {
      const cell = cellOfHash(roomNameHash32(name));
      byCell.set(cell, [...(byCell.get(cell) ?? []), name]);
    }
    expect(byCell.size).toBe(CELLS_PER_BUCKET); // 202 names cover every cell
    for (let cell = 0; cell < CELLS_PER_BUCKET; cell++) {
      const listed = table.entriesInCell(cell).map((entry) => (entry as Incarnation).name);
      expect(listed.sort()).toEqual((byCell.get(cell) ?? []).sort());
    }
    // B has A's tag, so it sits in a slot after A's, and is listed in its cell too.
    expect(table.entriesInCell(cellOfHash(roomNameHash32(B))).map(nameOf)).toContain(B);
  });
});

describe('NameTable slots', () => {
  /** The pool's first 45 names share one hash (more than PROBE_MAX of them: some overflow). */
  const pool = Array.from({ length: 80 }, (_, i) => `pool-${i}`);
  const SHARED = roomNameHash32('pool-shared');
  const hashOf = (i: number): number => (i < 45 ? SHARED : roomNameHash32(pool[i]!));
  const visit = (table: NameTable): string[] => [...table.values()].map(nameOf);

  it('answers as a Map does through random sets, deletes and lookups', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), i: fc.nat(79), sid: fc.nat(9) }),
      fc.record({ kind: fc.constant('delete' as const), i: fc.nat(79) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new NameTable();
        const model = new Map<string, Incarnation>();
        for (const step of ops) {
          const name = pool[step.i]!;
          if (step.kind === 'set') {
            const entry = room(name, `RM_${String(step.sid).repeat(12)}`);
            table.set(name, hashOf(step.i), entry);
            model.set(name, entry);
          } else {
            table.delete(name, hashOf(step.i));
            model.delete(name);
          }
          expect(table.size).toBe(model.size);
        }
        for (const [i, name] of pool.entries())
          expect(table.get(name, hashOf(i))).toBe(model.get(name));
        const visited = visit(table);
        expect(visited.length).toBe(model.size);
        expect(new Set(visited)).toEqual(new Set(model.keys()));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps names with one hash apart past PROBE_MAX of them', () => {
    const table = new NameTable();
    const names = Array.from({ length: 3 * PROBE_MAX }, (_, i) => `same-${i}`);
    for (const name of names) table.set(name, SHARED, room(name));
    expect(table.size).toBe(names.length);
    for (const name of names) expect(nameOf(table.get(name, SHARED)!)).toBe(name);
    expect(visit(table).sort()).toEqual([...names].sort());
    for (const name of names.slice(0, PROBE_MAX + 5)) table.delete(name, SHARED);
    expect(table.size).toBe(names.length - PROBE_MAX - 5);
    for (const name of names.slice(0, PROBE_MAX + 5))
      expect(table.get(name, SHARED)).toBeUndefined();
    for (const name of names.slice(PROBE_MAX + 5))
      expect(nameOf(table.get(name, SHARED)!)).toBe(name);
  });

  it('grows to hold 20k names, and takes them again after all were deleted', () => {
    const table = new NameTable();
    const names = Array.from({ length: 20_000 }, (_, i) => `grow-${i}`);
    for (const name of names) table.set(name, roomNameHash32(name), room(name));
    expect(table.size).toBe(20_000);
    expect(table.slotCount).toBe(32_768); // rebuilt at 12,289 names to twice that, rounded up
    for (const name of names) expect(nameOf(table.get(name, roomNameHash32(name))!)).toBe(name);
    for (const name of names) table.delete(name, roomNameHash32(name));
    expect(table.size).toBe(0);
    expect(visit(table)).toEqual([]);
    table.set('again', roomNameHash32('again'), room('again'));
    expect(table.slotCount).toBe(32_768); // tombstones, until an insert needs a rebuild
    for (const name of names) table.set(name, roomNameHash32(name), room(name));
    expect(table.size).toBe(20_001);
    expect(table.slotCount).toBe(32_768);
  });

  it('reuses the slots of deleted names: churn at a steady size keeps its slots', () => {
    const table = new NameTable();
    for (let i = 0; i < 100; i++)
      table.set(`churn-${i}`, roomNameHash32(`churn-${i}`), room(`churn-${i}`));
    const slots = table.slotCount;
    for (let i = 100; i < 20_100; i++) {
      const gone = `churn-${i - 100}`;
      table.delete(gone, roomNameHash32(gone));
      table.set(`churn-${i}`, roomNameHash32(`churn-${i}`), room(`churn-${i}`));
    }
    expect(table.size).toBe(100);
    expect(table.slotCount).toBe(slots);
    expect(visit(table).sort()).toEqual(
      Array.from({ length: 100 }, (_, i) => `churn-${20_000 + i}`).sort(),
    );
  });

  it('an iteration outliving a rebuild visits each remaining name once, no deleted one', () => {
    const table = new NameTable();
    const names = Array.from({ length: 50 }, (_, i) => `old-${i}`);
    for (const name of names) table.set(name, roomNameHash32(name), room(name));
    const slots = table.slotCount;
    const seen: string[] = [];
    let deleted: string[] = [];
    for (const entry of table.values()) {
      const name = nameOf(entry);
      seen.push(name);
      if (seen.length === 1) {
        // A thousand new names force rebuilds; then ten names not visited yet go.
        for (let i = 0; i < 1_000; i++) {
          table.set(`new-${i}`, roomNameHash32(`new-${i}`), room(`new-${i}`));
        }
        deleted = names.filter((n) => n !== name).slice(0, 10);
        for (const gone of deleted) table.delete(gone, roomNameHash32(gone));
        expect(table.slotCount).toBeGreaterThan(slots);
      }
    }
    const old = seen.filter((name) => name.startsWith('old-'));
    expect(old.sort()).toEqual(names.filter((n) => !deleted.includes(n)).sort());
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe('store with names whose hashes are equal', () => {
  it('creates, reads, deletes and collects them apart', () => {
    const { store, clock } = newStore({ tombstoneTtlMs: 1_000 });
    const a = store.getOrCreate({ name: A, homeRegion: 'eu' }).room;
    const b = store.getOrCreate({ name: B, homeRegion: 'eu' }).room;
    expect(store.get(A)).toBe(a);
    expect(store.get(B)).toBe(b);
    expect(store.bucketOf(A)).toBe(store.bucketOf(B));
    expect([...store.names()].sort()).toEqual([A, B]);
    expect([...store.recordsInBucket(store.bucketOf(A))]).toHaveLength(2);
    expect(store.namesInBucket(store.bucketOf(A))).toBe(2); // two slots with the same tag
    expect([...store.visibleRooms()].map((r) => r.name).sort()).toEqual([A, B]);
    expect([...store.records()]).toHaveLength(2);
    expect(store.delete(A).map((r) => r.name)).toEqual([A]);
    expect(store.get(A)).toBeUndefined();
    expect(store.get(B)).toBe(b);
    clock.advance(2_000);
    expect(store.gc()).toBe(1);
    expect(store.incarnations(A)).toEqual([]);
    expect(store.get(B)).toBe(b);
    expect(store.namesInBucket(store.bucketOf(A))).toBe(1);
    expect(store.counts()).toMatchObject({ names: 1, visible: 1, incarnations: 1 });
    expect(store.forget(B, b.sid)).toBe(b);
    expect(store.counts()).toMatchObject({ names: 0, visible: 0, incarnations: 0 });
  });

  it('merges them in either order to the same store', () => {
    const { store: origin } = newStore({ nodeId: 'node-b' });
    const a = { ...origin.getOrCreate({ name: A, homeRegion: 'eu' }).room };
    const b = { ...origin.getOrCreate({ name: B, homeRegion: 'eu' }).room };
    const { store: one } = newStore();
    const { store: two } = newStore();
    expect(one.merge(a).kind).toBe('inserted');
    expect(one.merge(b).kind).toBe('inserted');
    expect(two.merge(b).kind).toBe('inserted');
    expect(two.merge(a).kind).toBe('inserted');
    expect(one.merge(a).kind).toBe('unchanged');
    expect(one.digest()).toBe(two.digest());
    expect(one.digest()).toBe(origin.digest());
    expect(one.get(A)?.sid).toBe(a.sid);
    expect(two.get(B)?.sid).toBe(b.sid);
  });
});
