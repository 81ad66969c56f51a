import { describe, expect, it } from 'vitest';
import { compareStamps, HLC_LOGICAL_MAX, hlcLogical, hlcWallMs, packHlc } from '../src/index.js';

describe('packed HLC', () => {
  it('round-trips wall time and logical counter', () => {
    const wall = Date.UTC(2026, 10, 29, 6, 30);
    const stamp = packHlc(wall, 17);
    expect(hlcWallMs(stamp)).toBe(wall);
    expect(hlcLogical(stamp)).toBe(17);
    expect(Number.isSafeInteger(packHlc(Date.UTC(2089, 0, 1), HLC_LOGICAL_MAX))).toBe(true);
  });
  it('orders by stamp, then node id', () => {
    expect(compareStamps(1, 'b', 2, 'a')).toBeLessThan(0);
    expect(compareStamps(2, 'a', 2, 'b')).toBeLessThan(0);
    expect(compareStamps(2, 'a', 2, 'a')).toBe(0);
  });
});
