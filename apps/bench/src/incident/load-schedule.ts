/**
 * When calls start and which room each asks for: the open-loop schedule (a function of
 * elapsed time, so it never drifts), the repeating tick that drives it, and the seeded
 * randomness of the run (one stream per region, so a run's names replay).
 */
import type { ClientRandom, ClientTimers } from '@roomring/client';
import type { RegionLoadConfig } from './load-config.js';

/** Scheduling tick: at 10,000 calls/s a tick starts ~100 calls, a batch the loop absorbs. */
export const TICK_INTERVAL_MS = 10;

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1); plenty for name choice. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The seed of region `index`'s stream: one stream per region keeps each region's name
 * sequence independent of how the regions' calls interleave.
 */
export function regionSeed(seed: number, index: number): number {
  return (seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

/** A mulberry32 stream as the uniform 32-bit integers packages/client draws. */
export function seededClientRandom(seed: number): ClientRandom {
  const next = mulberry32(seed);
  return { nextUint32: () => Math.floor(next() * 4_294_967_296) };
}

export interface RoomChoice {
  name: string;
  isNew: boolean;
}

/** Picks each call's room: new with probability newFraction, else a uniform existing one. */
export class RoomChooser {
  readonly #region: RegionLoadConfig;
  readonly #random: () => number;
  #newSeq = 0;

  constructor(region: RegionLoadConfig, random: () => number) {
    this.#region = region;
    this.#random = random;
  }

  next(): RoomChoice {
    const { existing, newFraction, newPrefix } = this.#region;
    // Both draws are always made, so the stream advances the same whatever is chosen.
    const roll = this.#random();
    const pick = this.#random();
    if (existing.count === 0 || roll < newFraction) {
      const name = `${newPrefix}${this.#newSeq}`;
      this.#newSeq += 1;
      return { name, isNew: true };
    }
    return { name: `${existing.prefix}${Math.floor(pick * existing.count)}`, isNew: false };
  }
}

/**
 * Calls to start now so that `started` reaches floor(ratePerSec x elapsedMs / 1000): no
 * drift (the target is a function of elapsed time, not of ticks), catch-up after a late
 * tick. The 1e-9 absorbs float error (0.3 x 1000 / 1000 = 0.30000000000000004).
 */
export function callsDue(ratePerSec: number, elapsedMs: number, started: number): number {
  const target = Math.floor((ratePerSec * elapsedMs) / 1000 + 1e-9);
  return Math.max(0, target - started);
}

/**
 * Runs `fn` every `everyMs` on one-shot timers until the returned function is called. The
 * next timer is armed before `fn` runs, as setInterval does, so a tick's own work does not
 * stretch the period, and `fn` may cancel the repetition from inside.
 */
export function repeatEvery(timers: ClientTimers, everyMs: number, fn: () => void): () => void {
  let cancelled = false;
  let cancelNext: () => void = () => undefined;
  const arm = (): void => {
    cancelNext = timers.setTimer(everyMs, () => {
      if (cancelled) return;
      arm();
      fn();
    });
  };
  arm();
  return () => {
    cancelled = true;
    cancelNext();
  };
}
