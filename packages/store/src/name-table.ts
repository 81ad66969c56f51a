/**
 * One digest bucket's rooms, by name: an open-addressing hash table (linear probing) keyed by
 * the name's 32-bit hash (roomNameHash32, which the caller has already computed to choose the
 * bucket).
 *
 * Every record a node receives is looked up here (a new room's lookup misses, then its insert),
 * in a heap of hundreds of MB where most reads miss the CPU caches. A slot's tag (the hash
 * with its lowest bit set) lies in a typed array, so a probe compares integers where they lie
 * and touches an entry only when its tag matches; growing moves tags and entries without
 * hashing anything again. JavaScript Maps did worse in both: keyed by name strings a lookup
 * compared names along its hash chain (each string a cache miss); keyed by the hash as a small
 * integer, each table's growth re-hashed its keys into a newly allocated table, and as every
 * bucket grows at the same pace, all 4,096 tables of a store grew within the same 100k rooms.
 * Measured alone (4,096 tables, a miss then an insert, 100k names at a time into 300k-900k
 * names, a throwaway script, 2026-12-07): 0.3-0.6 us per insert here against 0.4-0.9 us with
 * integer-keyed Maps, which took 2.6 and 10 us per insert in the 100k during which they all
 * grew. In the store suite, two runs side by side: lookups of existing rooms 1.2-1.5x,
 * duplicate merges 1.0-1.6x, 17-18 B less heap per room (a slot is a 4-byte tag and an 8-byte
 * pointer, 3/8 to 3/4 of them in use while a table grows). Filling 5 node processes, CPU per
 * record did not change measurably.
 *
 * The bucket's mask takes the hash's low bits, the cells its top ones (cellOfHash); a name's
 * home slot is the top bits too, so a table keeps its names roughly in cell order. Deleting
 * leaves a tombstone tag (entries never move but when the table is rebuilt), so an iteration
 * can walk the slots while the table changes.
 *
 * Names are untrusted and the hash is part of the protocol and unseeded, so anyone can pick
 * names with equal hashes. A name that would land more than PROBE_MAX slots from its home goes
 * to `overflow`, a Map by name, so such names cost what a Map costs, and a probe never reads
 * more than PROBE_MAX slots. An entry never moves from the overflow map to the slots.
 */
import type { Entry } from './incarnation.js';
import { cellOfHash, roomNameHash32 } from './name-hash.js';

/** The name of an entry's incarnations (all of an entry's incarnations share it). */
export function nameOf(entry: Entry): string {
  return Array.isArray(entry) ? entry[0]!.name : entry.name;
}

/** A slot never used since the table was built: a probe stops here. Names' tags are odd. */
const EMPTY = 0;
/** A slot whose name was deleted: a probe goes on past it, an insert may take it. */
const DELETED = 2;
/** Slots of a new table. */
const INITIAL_SLOTS = 8;
/** Slots a probe reads at most; a name that would land further goes to the overflow map. */
export const PROBE_MAX = 32;

/** probe's answer when a name is not in the slots and has no free slot within PROBE_MAX. */
const NO_SLOT = -1;

/** The free slot a negative answer of probe (other than NO_SLOT) names. */
function freeSlotOf(answer: number): number {
  return NO_SLOT - 1 - answer;
}

/** The tag of a name's hash: odd, so never EMPTY or DELETED; the top bits are the hash's. */
function tagOf(hash: number): number {
  return hash | 1;
}

/** Slots for `names` names right after a rebuild: at most half full. */
function slotsFor(names: number): number {
  let slots = INITIAL_SLOTS;
  while (slots < 2 * names) slots *= 2;
  return slots;
}

export class NameTable {
  private tags = new Int32Array(INITIAL_SLOTS);
  private slots: (Entry | undefined)[] = new Array<Entry | undefined>(INITIAL_SLOTS).fill(
    undefined,
  );
  /** 32 - log2(slot count): a tag's home slot is `tag >>> shift`. */
  private shift = 32 - Math.log2(INITIAL_SLOTS);
  /** Names in the slots. */
  private live = 0;
  /** Slots not EMPTY (names and tombstones): the table is rebuilt past 3/4 of them. */
  private used = 0;
  /** Rebuilds so far: an iteration that sees it change reads the new slots by name. */
  private rebuilds = 0;
  /** Names that would have landed more than PROBE_MAX slots from home, by name. */
  private overflow: Map<string, Entry> | undefined;

  /** Names held. */
  get size(): number {
    return this.live + (this.overflow?.size ?? 0);
  }

  /** Slots allocated (names, tombstones and empty ones), for tests. */
  get slotCount(): number {
    return this.tags.length;
  }

  /** The entry of `name` (`hash`: roomNameHash32(name)). */
  get(name: string, hash: number): Entry | undefined {
    const at = this.probe(name, tagOf(hash));
    if (at >= 0) return this.slots[at];
    return this.overflow?.get(name);
  }

  /** Sets the entry of `name` (`hash`: roomNameHash32(name)); `entry`'s name must be it. */
  set(name: string, hash: number, entry: Entry): void {
    const tag = tagOf(hash);
    const at = this.probe(name, tag);
    if (at >= 0) {
      this.slots[at] = entry;
    } else if (this.overflow?.has(name)) {
      this.overflow.set(name, entry);
    } else if (at === NO_SLOT) {
      this.overflow ??= new Map();
      this.overflow.set(name, entry);
    } else {
      const free = freeSlotOf(at);
      if (this.tags[free] === EMPTY) this.used++;
      this.tags[free] = tag;
      this.slots[free] = entry;
      this.live++;
      if (4 * this.used > 3 * this.tags.length) this.rebuild();
    }
  }

  /** Removes the entry of `name` (`hash`: roomNameHash32(name)), if any. */
  delete(name: string, hash: number): void {
    const at = this.probe(name, tagOf(hash));
    if (at >= 0) {
      this.tags[at] = DELETED;
      this.slots[at] = undefined;
      this.live--;
    } else {
      this.overflow?.delete(name);
    }
  }

  /**
   * Every entry. Entries may be deleted, or set again under their name, during the iteration
   * (as with a Map: a deleted entry not yet reached is not visited, a replaced one is visited
   * as it is then); an entry added meanwhile may or may not be visited, and one a rebuild
   * moved to the overflow map may be visited twice.
   */
  values(): IterableIterator<Entry> {
    return new Entries(this, this.tags, this.slots, this.rebuilds);
  }

  /**
   * For Entries: `entry`, read from a slot holding `tag` of the slots as they were after
   * `rebuilds` rebuilds, as the table holds it now. Once rebuilt, the old slots no longer
   * change, so the name is read in the new ones (undefined: deleted since, or moved to the
   * overflow map, whose own iteration comes after the slots').
   */
  current(entry: Entry, tag: number, rebuilds: number): Entry | undefined {
    if (this.rebuilds === rebuilds) return entry;
    const at = this.probe(nameOf(entry), tag);
    return at >= 0 ? this.slots[at] : undefined;
  }

  /** For Entries: the overflow map's entries, as they are when the slots have been walked. */
  overflowValues(): Iterator<Entry> | undefined {
    return this.overflow?.values();
  }

  /**
   * The entries of names in `cell` (cellOfHash of their hash). Reads the tags, which hold the
   * hash's top bits, so an entry of another cell is not touched; an overflow name's hash is
   * computed again.
   */
  entriesInCell(cell: number): Entry[] {
    const out: Entry[] = [];
    const tags = this.tags;
    for (let at = 0; at < tags.length; at++) {
      const tag = tags[at]!;
      if ((tag & 1) !== 0 && cellOfHash(tag) === cell) out.push(this.slots[at]!);
    }
    this.overflow?.forEach((entry, name) => {
      if (cellOfHash(roomNameHash32(name)) === cell) out.push(entry);
    });
    return out;
  }

  /** Every name. */
  *names(): IterableIterator<string> {
    for (const entry of this.values()) yield nameOf(entry);
  }

  /**
   * Looks `name` (whose tag is `tag`) up: its slot (>= 0) when the slots hold it, else where it
   * would go (freeSlotOf: the first tombstone or empty slot within PROBE_MAX of its home), else
   * NO_SLOT.
   */
  private probe(name: string, tag: number): number {
    const tags = this.tags;
    const mask = tags.length - 1;
    let at = tag >>> this.shift;
    let free = -1;
    for (let probe = 0; probe < PROBE_MAX; probe++) {
      const t = tags[at]!;
      if (t === tag && nameOf(this.slots[at]!) === name) return at;
      if (t === EMPTY) return NO_SLOT - 1 - (free < 0 ? at : free);
      if (t === DELETED && free < 0) free = at;
      at = (at + 1) & mask;
    }
    return free < 0 ? NO_SLOT : NO_SLOT - 1 - free;
  }

  /** Moves every name into new slots, at most half full, without tombstones. */
  private rebuild(): void {
    const oldTags = this.tags;
    const oldSlots = this.slots;
    const count = slotsFor(this.live);
    const tags = new Int32Array(count);
    const slots = new Array<Entry | undefined>(count).fill(undefined);
    const shift = 32 - Math.log2(count);
    const mask = count - 1;
    let live = 0;
    for (let from = 0; from < oldTags.length; from++) {
      const tag = oldTags[from]!;
      if ((tag & 1) === 0) continue;
      const entry = oldSlots[from]!;
      let at = tag >>> shift;
      let probe = 0;
      while (probe < PROBE_MAX && tags[at] !== EMPTY) {
        at = (at + 1) & mask;
        probe++;
      }
      if (probe < PROBE_MAX) {
        tags[at] = tag;
        slots[at] = entry;
        live++;
      } else {
        this.overflow ??= new Map();
        this.overflow.set(nameOf(entry), entry);
      }
    }
    this.tags = tags;
    this.slots = slots;
    this.shift = shift;
    this.live = live;
    this.used = live;
    this.rebuilds++;
  }
}

/**
 * NameTable.values: the slots, then the overflow map. A class rather than a generator, with
 * one result object for every step: a GC sweep of 1M rooms walks every entry, and with a
 * generator resumed per entry the sweep and recordsInBucket took twice as long (store suite,
 * 96 -> 187 ms and 10.8 -> 4.9M records/s).
 */
class Entries implements IterableIterator<Entry> {
  private at = 0;
  private overflow: Iterator<Entry> | undefined;
  private overflowStarted = false;
  private readonly result = { done: false, value: undefined as unknown as Entry };

  constructor(
    private readonly table: NameTable,
    private readonly tags: Int32Array,
    private readonly slots: readonly (Entry | undefined)[],
    private readonly rebuilds: number,
  ) {}

  [Symbol.iterator](): IterableIterator<Entry> {
    return this;
  }

  next(): IteratorResult<Entry> {
    const tags = this.tags;
    while (this.at < tags.length) {
      const at = this.at++;
      const tag = tags[at]!;
      if ((tag & 1) === 0) continue;
      const entry = this.table.current(this.slots[at]!, tag, this.rebuilds);
      if (entry !== undefined) return this.step(entry);
    }
    if (!this.overflowStarted) {
      this.overflowStarted = true;
      this.overflow = this.table.overflowValues();
    }
    const next = this.overflow?.next();
    if (next === undefined || next.done === true) {
      this.result.done = true;
      return this.result;
    }
    return this.step(next.value);
  }

  private step(entry: Entry): IteratorResult<Entry> {
    this.result.value = entry;
    return this.result;
  }
}
