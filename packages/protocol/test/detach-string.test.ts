/**
 * Strings a node keeps for as long as a room lives must share memory with nothing else:
 * detachString, and the records decodeMessage returns (a store may keep them as they are,
 * RoomStore.merge's `adopt`).
 *
 * Strings cannot be held by a WeakRef, so retention is measured by size after a full GC.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { detachString } from '../src/detach-string.js';
import { decodeMessage, encodeMessage, packHlc, type RoomRecord } from '../src/index.js';
import { exampleRecord } from './arbitraries.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapUsedAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const PARENT_BYTES = 256 * 1024;

/** `text` as a slice of a fresh parent string of PARENT_BYTES (as a decoder hands it out). */
function sliceOfParent(text: string, fill: string): string {
  const parent = fill.repeat(PARENT_BYTES / 2) + text + fill.repeat(PARENT_BYTES / 2);
  const start = PARENT_BYTES / 2;
  return parent.slice(start, start + text.length);
}

describe('detachString', () => {
  it('returns the same content, short strings unchanged', () => {
    for (const value of [
      '',
      'a',
      'twelve-chars',
      'RM_abcdefghijkl',
      'x'.repeat(64),
      'y'.repeat(65),
    ]) {
      expect(detachString(value)).toBe(value);
    }
    const long = `${'é€😀'.repeat(3_000)}tail`;
    expect(detachString(long.slice(3, 9_000))).toBe(long.slice(3, 9_000));
  });

  it('keeps nothing of the string a slice was cut from', () => {
    const before = heapUsedAfterGc();
    const kept = Array.from({ length: 128 }, (_, i) =>
      detachString(sliceOfParent(`a-name-of-some-length-${i}`, 'p')),
    );
    // 128 parents of 256 KiB would be 32 MiB.
    expect(heapUsedAfterGc() - before).toBeLessThan(8 * 1024 * 1024);
    expect(kept[7]).toBe('a-name-of-some-length-7');
  });
});

describe('decoded records', () => {
  const stamp = packHlc(Date.UTC(2026, 0, 1), 1);
  const record = (batch: number, i: number, metadata: string): RoomRecord =>
    exampleRecord({
      name: `a-room-name-of-some-length-${batch}-${i}`,
      sid: `RM_ABCDEFGHJK${'abcdefghijkmnopqrstuvwxyz'[i]}${'23456789'[batch % 8]}`,
      createdAt: stamp,
      creator: 'node-a',
      homeRegion: 'eu',
      settingsAt: stamp,
      settingsBy: 'node-a',
      metadata,
    });
  /** Batches of 20 records with ~200 B of ASCII metadata each; the first record's metadata
   *  is not ASCII, so the whole batch goes the general way (msgpackr), which hands out a
   *  string of 13 or more characters as a slice of a run of up to ~6 KB of the message. */
  const BATCHES = 800;
  const batches = Array.from({ length: BATCHES }, (_, b) =>
    encodeMessage({
      type: 'room-batch',
      origin: 'node-a',
      seq: b + 1,
      sentAt: stamp,
      records: Array.from({ length: 20 }, (_, i) =>
        record(b, i, i === 0 ? 'é' : `${'m'.repeat(200)}${i}`),
      ),
    }),
  );

  it('keep no part of the message they were decoded from (the general path)', () => {
    const before = heapUsedAfterGc();
    const kept: RoomRecord[] = [];
    for (const bytes of batches) {
      const decoded = decodeMessage(bytes);
      if (!decoded.ok || decoded.message.type !== 'room-batch') throw new Error('not decoded');
      kept.push(decoded.message.records[5]!);
    }
    // One record of ~0.4 KB per batch is kept. As slices, its name, sid and metadata held
    // ~6 KB of each batch: measured 5.1 MB against 0.5 MB.
    expect(heapUsedAfterGc() - before).toBeLessThan(2 * 1024 * 1024);
    expect(kept[9]).toEqual(record(9, 5, `${'m'.repeat(200)}5`));
  });
});
