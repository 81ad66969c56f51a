/**
 * The real runtime for the node's logic: wall-clock time, Node.js timers and a
 * cryptographically strong random source (room sids must not be guessable).
 */
import { getRandomValues } from 'node:crypto';
import type { Runtime } from '@roomring/core';

/** Random words drawn from the OS per refill: 4,096 x 4 B = 16 KiB, enough for ~340 sids. */
const RANDOM_POOL_WORDS = 4_096;

export function createRealRuntime(): Runtime {
  const pool = new Uint32Array(RANDOM_POOL_WORDS);
  let next = RANDOM_POOL_WORDS;
  return {
    clock: { nowMs: () => Date.now() },
    timers: {
      setTimer(delayMs, callback) {
        const handle = setTimeout(callback, delayMs);
        return () => clearTimeout(handle);
      },
    },
    random: {
      nextUint32() {
        if (next === RANDOM_POOL_WORDS) {
          getRandomValues(pool);
          next = 0;
        }
        return pool[next++]!;
      },
    },
  };
}
