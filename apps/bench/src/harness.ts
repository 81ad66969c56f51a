/**
 * A small, dependency-free micro-benchmark harness.
 *
 * Each case runs in rounds: a warm-up round (JIT), then `rounds` measured rounds of at least
 * `roundMs` each; the reported figure is the median round, which is what survives the noise
 * of a shared 2-core machine best. Cases that compare against a target report it so the
 * report can say met / not met.
 */
import { performance } from 'node:perf_hooks';

export interface BenchResult {
  /** Suite, e.g. 'store'. */
  suite: string;
  name: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. '>= 1,000,000'. */
  target?: string;
  /** Whether the target was met; undefined when the case has no target. */
  met?: boolean;
  note?: string;
}

/** What a suite may be asked to vary (`pnpm bench` flags). */
export interface SuiteOptions {
  /** Run the cluster under test on real hosts (@roomring/hosts) instead of 127.0.0.1. */
  hosts: boolean;
}

export interface OpsOptions {
  roundMs?: number;
  rounds?: number;
}

/**
 * Measures `fn`, which performs `batch` operations per call, and returns operations per
 * second (median of rounds).
 */
export function measureOpsPerSec(fn: () => void, batch: number, options: OpsOptions = {}): number {
  const roundMs = options.roundMs ?? 300;
  const rounds = options.rounds ?? 5;
  const runRound = (): number => {
    let ops = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      fn();
      ops += batch;
      elapsed = performance.now() - start;
    } while (elapsed < roundMs);
    return (ops / elapsed) * 1000;
  };
  runRound(); // warm-up
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) rates.push(runRound());
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/** Forces a full GC; the bench runs with --expose-gc. */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the bench with node --expose-gc');
  gc();
  gc();
}

export function atLeast(value: number, target: number): Pick<BenchResult, 'target' | 'met'> {
  return { target: `>= ${formatNumber(target)}`, met: value >= target };
}

export function atMost(value: number, target: number): Pick<BenchResult, 'target' | 'met'> {
  return { target: `<= ${formatNumber(target)}`, met: value <= target };
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
