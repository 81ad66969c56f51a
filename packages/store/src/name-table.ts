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
 * Names whose hashes are equal (about 116 pairs among 1M names; any number if someone picks
 * them on purpose, since the hash is part of the protocol and unseeded) share one slot: a
 * Map of them by name, so they cost what they cost before. A looked-up name is compared with
 * the one name a slot holds otherwise.
 */
import type { Entry } from './incarnation.js';

/** The names of one slot whose hashes are equal, by name. */
class SharedSlot {
  readonly byName = new Map<string, Entry>();
}

type Slot = Entry | SharedSlot;

/** The name of an entry's incarnations (all of an entry's incarnations share it). */
export function nameOf(entry: Entry): string {
  return Array.isArray(entry) ? entry[0]!.name : entry.name;
}

/** The slot key of a name's 32-bit hash: 31 bits, a small integer wherever V8 runs. */
function keyOf(hash: number): number {
  return hash >>> 1;
}

export class NameTable {
  private readonly slots = new Map<number, Slot>();

  /** The entry of `name` (`hash`: roomNameHash32(name)). */
  get(name: string, hash: number): Entry | undefined {
    const slot = this.slots.get(keyOf(hash));
    if (slot === undefined) return undefined;
    if (slot instanceof SharedSlot) return slot.byName.get(name);
    return nameOf(slot) === name ? slot : undefined;
  }

  /** Sets the entry of `name` (`hash`: roomNameHash32(name)); `entry`'s name must be it. */
  set(name: string, hash: number, entry: Entry): void {
    const key = keyOf(hash);
    const slot = this.slots.get(key);
    if (slot === undefined) {
      this.slots.set(key, entry);
    } else if (slot instanceof SharedSlot) {
      slot.byName.set(name, entry);
    } else if (nameOf(slot) === name) {
      this.slots.set(key, entry);
    } else {
      const both = new SharedSlot();
      both.byName.set(nameOf(slot), slot);
      both.byName.set(name, entry);
      this.slots.set(key, both);
    }
  }

  /** Removes the entry of `name` (`hash`: roomNameHash32(name)), if any. */
  delete(name: string, hash: number): void {
    const key = keyOf(hash);
    const slot = this.slots.get(key);
    if (slot === undefined) return;
    if (!(slot instanceof SharedSlot)) {
      if (nameOf(slot) === name) this.slots.delete(key);
      return;
    }
    slot.byName.delete(name);
    if (slot.byName.size > 1) return;
    // One name left: it gets the slot to itself again. (An iteration under way over the
    // shared slot still sees it: its Map is left as it is.)
    const rest = slot.byName.values().next();
    if (rest.done) this.slots.delete(key);
    else this.slots.set(key, rest.value);
  }

  /**
   * Every entry. Entries may be deleted, or set again under their name, during the
   * iteration (as with a Map); an entry added meanwhile may or may not be visited.
   */
  *values(): IterableIterator<Entry> {
    for (const slot of this.slots.values()) {
      if (slot instanceof SharedSlot) yield* slot.byName.values();
      else yield slot;
    }
  }

  /** Every name. */
  *names(): IterableIterator<string> {
    for (const entry of this.values()) yield nameOf(entry);
  }
}
