/**
 * The three things the node's logic takes from the world besides the network. Only adapters
 * (packages/node for real time, packages/sim for virtual time) implement them; the core never
 * reads a clock, sets a timer or draws a random number any other way (DESIGN.md section 3).
 */
import type { Clock, Random } from '@roomring/store';

export type { Clock, Random };

/** Cancels a pending timer; a no-op once it fired or was cancelled. */
export type CancelTimer = () => void;

export interface Timers {
  setTimer(delayMs: number, callback: () => void): CancelTimer;
}

export interface Runtime {
  clock: Clock;
  timers: Timers;
  random: Random;
}

/** Uniform in [0, 1). */
export function randomUnit(random: Random): number {
  return random.nextUint32() / 2 ** 32;
}
