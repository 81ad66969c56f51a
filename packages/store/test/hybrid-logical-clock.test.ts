import { compareStamps, HLC_LOGICAL_MAX, hlcLogical, hlcWallMs, packHlc } from '@roomring/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createHybridLogicalClock,
  InvalidClockReadingError,
  InvalidStoreInitError,
} from '../src/index.js';
import { ManualClock, T0 } from './helpers.js';

function newClock(maxClockOffsetMs?: number) {
  const clock = new ManualClock();
  const hlc = createHybridLogicalClock({ nodeId: 'n1', clock, maxClockOffsetMs });
  return { clock, hlc };
}

describe('hybrid logical clock', () => {
  it('stamps from wall time with logical 0 when the clock moves', () => {
    const { clock, hlc } = newClock();
    expect(hlc.now()).toBe(packHlc(T0, 0));
    clock.advance(5);
    expect(hlc.now()).toBe(packHlc(T0 + 5, 0));
    expect(hlc.last()).toBe(packHlc(T0 + 5, 0));
  });

  it('counts logically within one millisecond and when the clock goes backwards', () => {
    const { clock, hlc } = newClock();
    const a = hlc.now();
    const b = hlc.now();
    expect(b).toBe(a + 1);
    expect(hlcWallMs(b)).toBe(T0);
    expect(hlcLogical(b)).toBe(1);
    clock.advance(-1_000); // NTP step back
    const c = hlc.now();
    expect(c).toBe(b + 1);
  });

  it('borrows the next millisecond when the logical counter overflows', () => {
    const { hlc } = newClock();
    let last = 0;
    for (let i = 0; i <= HLC_LOGICAL_MAX; i++) last = hlc.now();
    expect(hlcWallMs(last)).toBe(T0);
    expect(hlcLogical(last)).toBe(HLC_LOGICAL_MAX);
    const next = hlc.now();
    expect(next).toBe(packHlc(T0 + 1, 0));
    expect(next).toBeGreaterThan(last);
  });

  it('adopts a remote stamp within the bound: later stamps are greater', () => {
    const { hlc } = newClock(500);
    const remote = packHlc(T0 + 500, 7); // exactly at the bound: accepted
    expect(hlc.observe(remote)).toBe(true);
    expect(hlc.now()).toBe(remote + 1);
    expect(hlc.rejectedCount()).toBe(0);
  });

  it('refuses and counts a stamp more than maxClockOffsetMs ahead of wall time', () => {
    const { hlc } = newClock(500);
    const before = hlc.now();
    expect(hlc.observe(packHlc(T0 + 501, 0))).toBe(false);
    expect(hlc.observe(packHlc(T0 + 3_600_000, 0))).toBe(false);
    expect(hlc.observe(-1)).toBe(false);
    expect(hlc.observe(1.5)).toBe(false);
    expect(hlc.rejectedCount()).toBe(4);
    expect(hlc.last()).toBe(before);
    expect(hlc.now()).toBe(before + 1);
  });

  it('accepts stamps from the past without moving backwards', () => {
    const { hlc } = newClock();
    const mine = hlc.now();
    expect(hlc.observe(packHlc(T0 - 60_000, 3))).toBe(true);
    expect(hlc.last()).toBe(mine);
  });

  it('throws a typed error for a clock reading outside the packable range', () => {
    const clock = new ManualClock(0);
    const hlc = createHybridLogicalClock({ nodeId: 'n1', clock });
    expect(() => hlc.now()).toThrow(InvalidClockReadingError);
    clock.timeMs = Number.NaN;
    expect(() => hlc.now()).toThrowError(
      expect.objectContaining({ name: 'InvalidClockReadingError' }),
    );
  });

  it('validates its init', () => {
    const clock = new ManualClock();
    expect(() => createHybridLogicalClock({ nodeId: '', clock })).toThrow(InvalidStoreInitError);
    expect(() => createHybridLogicalClock({ nodeId: 'n', clock, maxClockOffsetMs: -1 })).toThrow(
      InvalidStoreInitError,
    );
  });

  it('property: now() exceeds every stamp issued or accepted, under any clock movement', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('now' as const) }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: -50, max: 50 }) }),
      fc.record({
        kind: fc.constant('observe' as const),
        aheadMs: fc.integer({ min: -1_000, max: 1_000 }),
        logical: fc.integer({ min: 0, max: HLC_LOGICAL_MAX }),
      }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200, size: 'max' }), (steps) => {
        const { clock, hlc } = newClock(500);
        let highest = 0;
        let rejected = 0;
        for (const s of steps) {
          if (s.kind === 'tick') clock.advance(s.ms);
          else if (s.kind === 'now') {
            const stamp = hlc.now();
            expect(stamp).toBeGreaterThan(highest);
            expect(hlcWallMs(stamp)).toBeGreaterThanOrEqual(clock.timeMs);
            highest = stamp;
          } else {
            const remote = packHlc(clock.timeMs + s.aheadMs, s.logical);
            const accepted = hlc.observe(remote);
            expect(accepted).toBe(s.aheadMs <= 500);
            if (accepted) highest = Math.max(highest, remote);
            else rejected++;
          }
        }
        expect(hlc.rejectedCount()).toBe(rejected);
        expect(compareStamps(hlc.now(), 'n1', highest, 'n1')).toBeGreaterThan(0);
      }),
      { seed: 0x5eed, numRuns: 300 },
    );
  });
});
