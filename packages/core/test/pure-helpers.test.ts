import { packHlc } from '@roomring/protocol';
import { describe, expect, it } from 'vitest';
import { differingBuckets, digestsToBytes } from '../src/anti-entropy.js';
import { Backoff } from '../src/backoff.js';
import { ExpiryIndex, expiryOf } from '../src/lifecycle.js';

describe('Backoff', () => {
  it('doubles up to the cap with jitter, and resets on success', () => {
    const fixed = { nextUint32: () => 2 ** 32 - 1 }; // jitter at its top: the ceiling
    const b = new Backoff(100, 1_000);
    expect(b.ready(0)).toBe(true);
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 6; i++) {
      b.failed(now, fixed);
      let t = now;
      while (!b.ready(t)) t++;
      delays.push(t - now);
      now = t;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    b.succeeded();
    expect(b.ready(now)).toBe(true);
    const low = new Backoff(100, 1_000);
    low.failed(0, { nextUint32: () => 0 });
    expect(low.ready(50)).toBe(true);
  });
});

describe('ExpiryIndex', () => {
  it('returns due names once, honours moved and cleared deadlines, bounds each take', () => {
    const index = new ExpiryIndex();
    index.set('a', 100);
    index.set('b', 50);
    index.set('c', 200);
    index.set('a', 300); // moved later
    index.set('c', undefined); // cleared
    expect(index.takeDue(99, 10)).toEqual(['b']);
    expect(index.takeDue(250, 10)).toEqual([]);
    expect(index.takeDue(300, 10)).toEqual(['a']);
    for (let i = 0; i < 10; i++) index.set(`n${i}`, i);
    expect(index.takeDue(100, 4)).toHaveLength(4);
    expect(index.size()).toBe(6);
  });
});

describe('expiryOf (LiveKit empty/departure timeouts)', () => {
  const created = packHlc(1_800_000_000_000, 0);
  const room = {
    createdAt: created,
    statsAt: created,
    numParticipants: 0,
    everOccupied: false,
    emptyTimeoutS: 300,
    departureTimeoutS: 20,
    deletedAt: 0,
  };
  it('keeps unreported rooms unless a TTL is set', () => {
    expect(expiryOf(room as never, 0)).toBeUndefined();
    expect(expiryOf(room as never, 60_000)).toBe(1_800_000_060_000);
  });
  it('closes unreported rooms after their empty timeout when asked, as LiveKit', () => {
    expect(expiryOf(room as never, 0, true)).toBe(1_800_000_300_000);
    expect(expiryOf({ ...room, emptyTimeoutS: 2 } as never, 60_000, true)).toBe(1_800_000_002_000);
    // A reported room follows its reports whatever the setting.
    const reported = { ...room, statsAt: packHlc(1_800_000_005_000, 0), numParticipants: 1 };
    expect(expiryOf(reported as never, 0, true)).toBeUndefined();
  });
  it('empty timeout from creation, departure timeout from the last report', () => {
    const reported = { ...room, statsAt: packHlc(1_800_000_005_000, 0) };
    expect(expiryOf(reported as never, 0)).toBe(1_800_000_300_000);
    const left = { ...reported, everOccupied: true };
    expect(expiryOf(left as never, 0)).toBe(1_800_000_025_000);
    expect(expiryOf({ ...left, numParticipants: 2 } as never, 0)).toBeUndefined();
    expect(expiryOf({ ...left, deletedAt: 5 } as never, 0)).toBeUndefined();
  });
});

describe('digest comparison', () => {
  it('finds exactly the buckets whose two words differ', () => {
    const mine = new Uint32Array([1, 2, 3, 4, 5, 6, 0xffffffff, 0]);
    const theirs = new Uint32Array([1, 2, 3, 9, 5, 6, 0xffffffff, 1]);
    expect(differingBuckets(mine, digestsToBytes(theirs))).toEqual([1, 3]);
    expect(differingBuckets(mine, digestsToBytes(mine))).toEqual([]);
  });
});
