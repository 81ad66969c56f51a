/**
 * What the store keeps shares no memory with what it was given: a decoded room name or sid
 * can be a slice of its whole gossip batch (msgpackr's native extraction,
 * protocol/src/detach-string.ts), and a stored slice would keep the batch alive as long as
 * the room lives. A merge copies what it keeps, unless it adopts a record from
 * decodeMessage, whose strings are detached already.
 *
 * Strings cannot be held by a WeakRef, so retention is measured by size: each record's
 * strings are cut from a parent of its own of PARENT_BYTES; kept as slices, the parents
 * would stay (RECORDS x PARENT_BYTES = 64 MiB), detached they go at the next full GC.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decodeMessage, encodeMessage, type RoomRecord } from '@roomring/protocol';
import { describe, expect, it } from 'vitest';
import { copy, expectCellsConsistent, newStore } from './helpers.js';

const RECORDS = 128;
const PARENT_BYTES = 256 * 1024;
/** A quarter of what one field's parents would hold (RECORDS x PARENT_BYTES = 32 MiB). */
const RETAINED_BYTES_MAX = 8 * 1024 * 1024;
const SID_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsedAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** The records of a room-batch message, decoded. */
function decodedRecords(bytes: Uint8Array): RoomRecord[] {
  const decoded = decodeMessage(bytes);
  if (!decoded.ok || decoded.message.type !== 'room-batch') throw new Error('decode failed');
  return decoded.message.records;
}

/** `records` sent in one room-batch from node-a, as the receiver decodes them. */
function decodedBatch(records: RoomRecord[]): RoomRecord[] {
  return decodedRecords(
    encodeMessage({ type: 'room-batch', origin: 'node-a', seq: 1, sentAt: 1, records }),
  );
}

/** `text` as a slice of a fresh parent string of PARENT_BYTES (as a decoder hands it out). */
function sliceOfParent(text: string, fill: string): string {
  const parent = fill.repeat(PARENT_BYTES / 2) + text + fill.repeat(PARENT_BYTES / 2);
  const start = PARENT_BYTES / 2;
  return parent.slice(start, start + text.length);
}

/** A record for a name the store holds nothing of, every string cut from a large parent
 *  (built one at a time, so the parents of only one record are alive at once). */
function slicedRecord(template: RoomRecord, i: number): RoomRecord {
  const sidChars = `${SID_ALPHABET[i % 57]}${SID_ALPHABET[Math.floor(i / 57) % 57]}`;
  return {
    ...template,
    name: sliceOfParent(`room-with-a-long-name-${i}`, 'n'),
    sid: sliceOfParent(`RM_ABCDEFGHJK${sidChars}`, 's'),
    creator: sliceOfParent(template.creator, 'c'),
    homeRegion: sliceOfParent('a-long-region-name', 'r'),
    settingsBy: sliceOfParent(template.settingsBy, 'b'),
    statsBy: sliceOfParent(template.statsBy, 'd'),
    metadata: sliceOfParent(`{"topic":"a metadata string ${i}"}`, 'm'),
  };
}

describe('what the store keeps', () => {
  it('merged records keep no part of the strings they were decoded from', () => {
    const { store } = newStore({ nodeId: 'node-b' });
    const { store: origin } = newStore({ nodeId: 'node-a-with-a-long-node-id' });
    const template = copy(origin.getOrCreate({ name: 'template', homeRegion: 'eu' }).room);
    const before = heapUsedAfterGc();
    for (let i = 0; i < RECORDS; i++) {
      expect(store.merge(slicedRecord(template, i)).kind).toBe('inserted');
    }
    expect(heapUsedAfterGc() - before).toBeLessThan(RETAINED_BYTES_MAX);
    expect(store.counts().visible).toBe(RECORDS);
    expect(store.get('room-with-a-long-name-5')?.metadata).toBe('{"topic":"a metadata string 5"}');
  });

  it('a settings update keeps no part of its decoded metadata', () => {
    const { store: origin } = newStore({ nodeId: 'node-a' });
    const { store } = newStore({ nodeId: 'node-b' });
    const rooms = Array.from(
      { length: RECORDS },
      (_, i) => origin.getOrCreate({ name: `r${i}`, homeRegion: 'eu' }).room,
    );
    for (const room of rooms) store.merge(copy(room));
    const before = heapUsedAfterGc();
    for (const room of rooms) {
      const updated = origin.updateMetadata(room.name, `metadata of ${room.name}`)!;
      const record = { ...copy(updated), metadata: sliceOfParent(updated.metadata, 'u') };
      expect(store.merge(record).kind).toBe('updated');
    }
    expect(heapUsedAfterGc() - before).toBeLessThan(RETAINED_BYTES_MAX);
  });

  it('local creates keep no part of the name they were given', () => {
    const { store } = newStore();
    const before = heapUsedAfterGc();
    for (let i = 0; i < RECORDS; i++) {
      store.getOrCreate({
        name: sliceOfParent(`a-requested-room-${i}`, 'q'),
        homeRegion: 'eu',
        metadata: sliceOfParent(`{"requested":${i}, "padding":"........"}`, 'w'),
      });
    }
    expect(heapUsedAfterGc() - before).toBeLessThan(RETAINED_BYTES_MAX);
    expect(store.get('a-requested-room-3')).toBeDefined();
  });

  /** 200 rooms created at node-a, as sent, and as node-b decodes them from one batch. */
  function sentBatch() {
    const { store: origin } = newStore({ nodeId: 'node-a' });
    const records = Array.from({ length: 200 }, (_, i) =>
      copy(origin.getOrCreate({ name: `tenant-${i % 7}/room-${i}`, homeRegion: 'eu' }).room),
    );
    return { origin, records, decoded: decodedBatch(records) };
  }

  it('records decoded from a gossip batch are stored equal to what was sent', () => {
    const { origin, records, decoded } = sentBatch();
    const { store } = newStore({ nodeId: 'node-b' });
    for (const record of decoded) store.merge(record);
    expect(records.map((r) => copy(store.get(r.name)!))).toEqual(records);
    expect(store.digest()).toBe(origin.digest());
  });

  it('adopted records from a batch are kept as they are, equal to what was sent', () => {
    const { origin, records, decoded } = sentBatch();
    const { store } = newStore({ nodeId: 'node-b' });
    for (const record of decoded) {
      expect(store.merge(record, true).kind).toBe('inserted');
      expect(store.get(record.name)).toBe(record);
    }
    expect(records.map((r) => copy(store.get(r.name)!))).toEqual(records);
    expect(store.digest()).toBe(origin.digest());
    expectCellsConsistent(store);
  });

  it('an adopted record for a held sid updates the stored one and is not kept', () => {
    const { store: origin } = newStore({ nodeId: 'node-a' });
    const { store } = newStore({ nodeId: 'node-b' });
    const room = origin.getOrCreate({ name: 'r', homeRegion: 'eu' }).room;
    store.merge(copy(room));
    const stored = store.get('r')!;
    const update = copy(origin.updateMetadata('r', 'new metadata')!);
    expect(store.merge(update, true).kind).toBe('updated');
    expect(store.get('r')).toBe(stored);
    expect(stored.metadata).toBe('new metadata');
    expect(store.digest()).toBe(origin.digest());
  });

  it('adopted records decoded the general way keep no part of their batch', () => {
    const { store: origin } = newStore({ nodeId: 'node-a-with-a-long-node-id' });
    const { store } = newStore({ nodeId: 'node-b' });
    // A first record whose metadata is not ASCII sends each batch the general way
    // (msgpackr), which cuts strings of 13 or more characters out of a run of up to ~6 KB.
    const batches = Array.from({ length: 800 }, (_, b) =>
      encodeMessage({
        type: 'room-batch',
        origin: 'node-a-with-a-long-node-id',
        seq: b + 1,
        sentAt: 1,
        records: Array.from({ length: 20 }, (_, i) =>
          copy(
            origin.getOrCreate({
              name: `a-room-name-of-some-length-${b}-${i}`,
              homeRegion: 'a-long-region-name',
              metadata: i === 0 ? 'é' : `${'m'.repeat(200)}${i}`,
            }).room,
          ),
        ),
      }),
    );
    const before = heapUsedAfterGc();
    // One record per batch is kept (~0.4 KB with its strings and table slot).
    for (const bytes of batches) store.merge(decodedRecords(bytes)[5]!, true);
    expect(heapUsedAfterGc() - before).toBeLessThan(2 * 1024 * 1024);
    expect(store.counts().visible).toBe(800);
    expect(store.get('a-room-name-of-some-length-9-5')?.metadata).toBe(`${'m'.repeat(200)}5`);
  });
});
