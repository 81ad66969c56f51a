/**
 * One digest bucket's rooms, by name.
 *
 * Keyed by the name's 32-bit hash (roomNameHash32, which the caller has already computed to
 * choose the bucket) as a small integer, not by the name string. A JavaScript Map keyed by
 * strings compares a looked-up name with each key in its hash chain, and re-reads every key's
 * hash when it grows: each a read of a string somewhere else in a heap of hundreds of MB,
 * most of them cache misses, on the path of every record a node receives (a new room's
 * lookup misses, then its insert). An integer key is compared and re-hashed where it lies.
 * Measured alone (4,096 tables, inserts into 300k-500k rooms): ~1.0-1.6 us per insert with
 * integer keys against ~1.7-2.3 us with string keys.
 *
 * A name whose hash's slot already holds another name (about 116 pairs among 1M names; any
 * number if someone picks them on purpose, since the hash is part of the protocol and
 * unseeded) goes to `overflow`, a Map by name, so such names cost what every name cost before.
 * An entry never moves between the two, so an iteration sees each entry once.
 */
import type { Entry } from './incarnation.js';
import { cellOfHash, roomNameHash32 } from './name-hash.js';

/** The name of an entry's incarnations (all of an entry's incarnations share it). */
export function nameOf(entry: Entry): string {
  return Array.isArray(entry) ? entry[0]!.name : entry.name;
}

/** The slot key of a name's 32-bit hash: 31 bits, a small integer wherever V8 runs. */
function keyOf(hash: number): number {
  return hash >>> 1;
}

export class NameTable {
  private readonly slots = new Map<number, Entry>();
  /** Names whose slot another name held when they came, by name. */
  private overflow: Map<string, Entry> | undefined;

  /** Names held. */
  get size(): number {
    return this.slots.size + (this.overflow?.size ?? 0);
  }

  /** The entry of `name` (`hash`: roomNameHash32(name)). */
  get(name: string, hash: number): Entry | undefined {
    const slot = this.slots.get(keyOf(hash));
    if (slot !== undefined && nameOf(slot) === name) return slot;
    return this.overflow?.get(name);
  }

  /** Sets the entry of `name` (`hash`: roomNameHash32(name)); `entry`'s name must be it. */
  set(name: string, hash: number, entry: Entry): void {
    const key = keyOf(hash);
    const slot = this.slots.get(key);
    if (slot !== undefined && nameOf(slot) === name) {
      this.slots.set(key, entry);
    } else if (this.overflow?.has(name)) {
      this.overflow.set(name, entry);
    } else if (slot === undefined) {
      this.slots.set(key, entry);
    } else {
      this.overflow ??= new Map();
      this.overflow.set(name, entry);
    }
  }

  /** Removes the entry of `name` (`hash`: roomNameHash32(name)), if any. */
  delete(name: string, hash: number): void {
    const key = keyOf(hash);
    const slot = this.slots.get(key);
    if (slot !== undefined && nameOf(slot) === name) this.slots.delete(key);
    else this.overflow?.delete(name);
  }

  /**
   * Every entry. Entries may be deleted, or set again under their name, during the
   * iteration (as with a Map); an entry added meanwhile may or may not be visited.
   * Without overflow (nearly always), the slots' own iterator: no generator per entry (a
   * 1M-room GC sweep walks every entry).
   */
  values(): IterableIterator<Entry> {
    if (this.overflow === undefined || this.overflow.size === 0) return this.slots.values();
    return this.allValues(this.overflow);
  }

  private *allValues(overflow: Map<string, Entry>): IterableIterator<Entry> {
    yield* this.slots.values();
    yield* overflow.values();
  }

  /**
   * The entries of names in `cell` (cellOfHash of their hash). Reads the slot keys, which
   * hold the hash's top 31 bits, so an entry of another cell is not touched; an overflow
   * name's hash is computed again.
   */
  entriesInCell(cell: number): Entry[] {
    const out: Entry[] = [];
    this.slots.forEach((entry, key) => {
      if (cellOfHash(key << 1) === cell) out.push(entry);
    });
    this.overflow?.forEach((entry, name) => {
      if (cellOfHash(roomNameHash32(name)) === cell) out.push(entry);
    });
    return out;
  }

  /** Every name. */
  *names(): IterableIterator<string> {
    for (const entry of this.values()) yield nameOf(entry);
  }
}
