/**
 * A fixed-size histogram with geometric buckets, for the quantiles of one sampling interval
 * (series.ts). Bucket i holds values in (min x growth^(i-1), min x growth^i]; a quantile is
 * its bucket's upper bound, clamped to the smallest and largest value seen, so it is at most
 * `growth` - 1 (20%) above the true value and never outside what was observed. Observing is
 * O(1) and allocation-free; the memory is one Float64Array of ~80 counts.
 */

export interface LogHistogramInit {
  /** Upper bound of the first bucket; smaller values land in it. */
  minValue: number;
  /** Values above this land in the last bucket. */
  maxValue: number;
  /** Ratio of one bucket's bound to the previous one's (> 1). */
  growth: number;
}

export class LogHistogram {
  private readonly counts: Float64Array;
  private readonly logGrowth: number;
  private total = 0;
  private least = Number.POSITIVE_INFINITY;
  private most = Number.NEGATIVE_INFINITY;

  constructor(private readonly init: LogHistogramInit) {
    if (!(init.minValue > 0 && init.maxValue > init.minValue && init.growth > 1)) {
      throw new RangeError('LogHistogram needs 0 < minValue < maxValue and growth > 1');
    }
    this.logGrowth = Math.log(init.growth);
    this.counts = new Float64Array(this.bucketOf(init.maxValue) + 1);
  }

  private bucketOf(value: number): number {
    if (!(value > this.init.minValue)) return 0;
    return Math.ceil(Math.log(value / this.init.minValue) / this.logGrowth - 1e-9);
  }

  get count(): number {
    return this.total;
  }

  get bucketCount(): number {
    return this.counts.length;
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bucket = Math.min(this.bucketOf(value), this.counts.length - 1);
    this.counts[bucket]!++;
    this.total++;
    if (value < this.least) this.least = value;
    if (value > this.most) this.most = value;
  }

  /** The q-quantile (0 < q <= 1) of what was observed; null when nothing was. */
  quantile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const upper = this.init.minValue * this.init.growth ** i;
        return Math.min(Math.max(upper, this.least), this.most);
      }
    }
    return this.most;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.least = Number.POSITIVE_INFINITY;
    this.most = Number.NEGATIVE_INFINITY;
  }
}
