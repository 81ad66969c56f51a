import { CELLS_PER_BUCKET } from '@roomring/protocol';
import { describe, expect, it } from 'vitest';
import { type Incarnation, newIncarnation } from '../src/incarnation.js';
import { cellOfHash, roomNameHash32 } from '../src/name-hash.js';
import { NameTable, nameOf } from '../src/name-table.js';
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

  it('lets an iteration delete and replace entries, overflowing names included', () => {
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

  it('entriesInCell lists the entries of names in that cell, overflowing names included', () => {
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
    // B shares A's slot, so it lives in the overflow map, and is listed in its cell too.
    expect(table.entriesInCell(cellOfHash(roomNameHash32(B))).map(nameOf)).toContain(B);
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
    expect(store.namesInBucket(store.bucketOf(A))).toBe(2); // one in a slot, one in overflow
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
