/**
 * Packed hybrid logical clock values (Kulkarni et al. 2014), shared by every package.
 *
 * A stamp is one JavaScript number: `(wallMs - HLC_EPOCH_MS) * 2^HLC_LOGICAL_BITS + logical`.
 * With a 2020-01-01 epoch and 12 logical bits the value stays below 2^53 until about 2089,
 * and a node can issue 4,096 stamps per millisecond before its clock runs ahead of wall time
 * by a millisecond (the clock then borrows the next millisecond, as HLC allows).
 * Ties between equal stamps are broken by the writer's node id, so every comparison in the
 * system is over `(stamp, nodeId)`.
 */
export const HLC_EPOCH_MS = 1_577_836_800_000; // 2020-01-01T00:00:00Z
export const HLC_LOGICAL_BITS = 12;
export const HLC_LOGICAL_MAX = 2 ** HLC_LOGICAL_BITS - 1;
const LOGICAL_SCALE = 2 ** HLC_LOGICAL_BITS;

export function packHlc(wallMs: number, logical: number): number {
  return (wallMs - HLC_EPOCH_MS) * LOGICAL_SCALE + logical;
}

/** Wall-clock milliseconds (unix epoch) of a packed stamp. */
export function hlcWallMs(stamp: number): number {
  return Math.floor(stamp / LOGICAL_SCALE) + HLC_EPOCH_MS;
}

export function hlcLogical(stamp: number): number {
  return stamp % LOGICAL_SCALE;
}

/** Total order over `(stamp, nodeId)`: negative, zero or positive. */
export function compareStamps(aAt: number, aBy: string, bAt: number, bBy: string): number {
  if (aAt !== bAt) return aAt < bAt ? -1 : 1;
  if (aBy === bBy) return 0;
  return aBy < bBy ? -1 : 1;
}
