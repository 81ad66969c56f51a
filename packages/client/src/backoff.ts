/**
 * Exponential back-off with full jitter (Brooker, "Exponential Backoff And Jitter", AWS
 * Architecture Blog 2015): retry k (0-based) waits a uniform random time in
 * [0, min(maxDelayMs, baseDelayMs x 2^k)]. Spreading retries over the whole range, rather
 * than around its cap, de-synchronises clients that failed together (one overloaded node
 * answering 503 to everyone at once), which is what turns a blip into a retry storm.
 */
import type { ClientRandom } from './client-init.js';

const UINT32_RANGE = 2 ** 32;

/** The upper bound of retry `retryIndex`'s delay (0-based). */
export function jitterCapMs(retryIndex: number, baseDelayMs: number, maxDelayMs: number): number {
  // 2^k overflows to Infinity past k = 1023; Math.min keeps the cap finite.
  return Math.min(maxDelayMs, baseDelayMs * 2 ** retryIndex);
}

/** A whole number of ms, uniform over [0, cap] inclusive. */
export function fullJitterDelayMs(
  retryIndex: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: ClientRandom,
): number {
  const cap = Math.floor(jitterCapMs(retryIndex, baseDelayMs, maxDelayMs));
  const u = random.nextUint32() >>> 0; // a misbehaving source is wrapped into 0..2^32-1
  return Math.floor((u / UINT32_RANGE) * (cap + 1));
}

/**
 * The wait before the next attempt: the jittered delay, raised to the server's
 * `Retry-After` when that is longer (the server knows when it expects to have capacity).
 */
export function retryDelayMs(jitteredMs: number, retryAfterMs: number | undefined): number {
  return retryAfterMs === undefined ? jitteredMs : Math.max(jitteredMs, retryAfterMs);
}
