/**
 * The retry budget (as in Finagle's RetryBudget and gRPC's retry throttling): a retry is
 * allowed only while
 *
 *     retries in the window + 1 <= budgetRatio x calls in the window + budgetMinPerWindow
 *
 * Retries then add at most ~budgetRatio extra requests (10% by default) however many calls
 * fail, instead of maxAttempts x (4x) under a total outage: the incident's retry storm was
 * every layer retrying every timed-out CreateRoom. The small per-window minimum lets a
 * client that makes a handful of calls still retry a lone failure.
 *
 * The window slides in `BUDGET_BUCKET_COUNT` buckets of windowMs / 10: constant memory,
 * O(1) work per call (10 bucket reads), and a window that is between 0.9 and 1 x windowMs
 * long at any moment.
 */

export const BUDGET_BUCKET_COUNT = 10;

export class RetryBudget {
  readonly #ratio: number;
  readonly #minPerWindow: number;
  readonly #bucketMs: number;
  readonly #calls = new Float64Array(BUDGET_BUCKET_COUNT);
  readonly #retries = new Float64Array(BUDGET_BUCKET_COUNT);
  /** Absolute index (floor(nowMs / bucketMs)) of the newest bucket. */
  #headBucket = Number.NEGATIVE_INFINITY;

  constructor(ratio: number, minPerWindow: number, windowMs: number) {
    this.#ratio = ratio;
    this.#minPerWindow = minPerWindow;
    this.#bucketMs = windowMs / BUDGET_BUCKET_COUNT;
  }

  /** Counts one call (its first attempt): each call earns `ratio` retries. */
  recordCall(nowMs: number): void {
    this.#calls[this.#advance(nowMs)]! += 1;
  }

  /** Takes one retry from the budget if the window allows it; false = refused. */
  tryAcquireRetry(nowMs: number): boolean {
    const slot = this.#advance(nowMs);
    let calls = 0;
    let retries = 0;
    for (let i = 0; i < BUDGET_BUCKET_COUNT; i++) {
      calls += this.#calls[i]!;
      retries += this.#retries[i]!;
    }
    if (retries + 1 > this.#ratio * calls + this.#minPerWindow) return false;
    this.#retries[slot]! += 1;
    return true;
  }

  /** Moves the window to `nowMs`, clearing buckets that slid out; returns the head slot. */
  #advance(nowMs: number): number {
    const bucket = Math.floor(nowMs / this.#bucketMs);
    if (bucket > this.#headBucket) {
      // A clock that jumped forward by a window or more clears everything (at most 10 steps).
      const steps = Math.min(bucket - this.#headBucket, BUDGET_BUCKET_COUNT);
      for (let i = 1; i <= steps; i++) {
        const slot = slotOf(bucket - steps + i);
        this.#calls[slot] = 0;
        this.#retries[slot] = 0;
      }
      this.#headBucket = bucket;
    }
    // A clock that went backwards keeps counting into the newest bucket: never less strict.
    return slotOf(this.#headBucket);
  }
}

function slotOf(bucket: number): number {
  const slot = bucket % BUDGET_BUCKET_COUNT;
  return slot < 0 ? slot + BUDGET_BUCKET_COUNT : slot;
}
