/**
 * Per-target exponential back-off with full jitter, for re-dialling seeds and lost members.
 * Pure: the caller passes time and randomness.
 */
import { type Random, randomUnit } from './runtime.js';

export class Backoff {
  private failures = 0;
  private nextAttemptMs = 0;
  /** An attempt is under way (hold() was called and it has not ended yet). */
  private holding = false;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  ready(nowMs: number): boolean {
    return nowMs >= this.nextAttemptMs;
  }

  /** Records a failed attempt and schedules the next one at a jittered, doubled delay. */
  failed(nowMs: number, random: Random): void {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    this.holding = false;
    // Full jitter (uniform in [base/2, ceiling]) keeps many nodes from re-dialling in step.
    this.nextAttemptMs = nowMs + this.baseMs / 2 + randomUnit(random) * (ceiling - this.baseMs / 2);
  }

  succeeded(): void {
    this.failures = 0;
    this.nextAttemptMs = 0;
    this.holding = false;
  }

  /** Marks an attempt as under way so the target is not dialled twice at once. */
  hold(nowMs: number, forMs: number): void {
    this.nextAttemptMs = nowMs + forMs;
    this.holding = true;
  }

  /** An attempt is under way: held and not yet ended by failed() or succeeded(), and its
   *  hold has not run out. Tells it apart from waiting out the delay after a failure, which
   *  news of the target (it was heard from again) may cut short. */
  attemptUnderWay(nowMs: number): boolean {
    return this.holding && nowMs < this.nextAttemptMs;
  }
}
