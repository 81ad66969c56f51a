/**
 * What the load generator reports: one line per elapsed second, the `recording` line after a
 * warm-up and the `done` line (the contract replay.ts reads), and the counting behind them.
 * Percentiles come from bounded reservoirs, so memory stays fixed whatever the rate.
 */
import { REGIONS_MAX } from './load-config.js';
import { mulberry32, regionSeed } from './load-schedule.js';

export interface RegionSecondStats {
  callsStarted: number;
  ok: number;
  failed: number;
  timedOut: number;
  attempts: number;
}

/** One stdout line per elapsed second. */
export interface SecondStats {
  type: 'second';
  /** Seconds since start: 1, 2, ... */
  t: number;
  callsStarted: number;
  attempts: number;
  ok: number;
  failed: number;
  timedOut: number;
  shed: number;
  /** Of calls that completed OK in this second (start to answer, retries included). */
  p50Ms: number | null;
  p99Ms: number | null;
  inFlight: number;
  /** Keyed by the clients' HOME region (failover does not move the key). */
  byRegion: Record<string, RegionSecondStats>;
}

/** The last stdout line. `calls` excludes shed calls (they never started). */
export interface DoneStats {
  type: 'done';
  calls: number;
  attempts: number;
  ok: number;
  failed: number;
  timedOut: number;
  shed: number;
  ackedNew: number;
  /** Percentiles of every call that succeeded in the run (start -> answer, retries included). */
  p50Ms: number | null;
  p99Ms: number | null;
  /** p99 of the calls that succeeded after the first failover command; null without one. */
  p99AfterFailoverMs: number | null;
}

/** Written once when the warm-up ends (warmupS > 0): recorded seconds follow. */
export interface RecordingLine {
  type: 'recording';
}

/** How a call ended: answered, refused or failed, or out of time. */
export type CallEnd = 'ok' | 'failed' | 'timedOut';

/**
 * Latencies kept per second for percentiles (reservoir sampling beyond): 20k x 8 B = 160 KiB
 * and a sort of ~2 ms per second. The incident's 3 regions x ~1k calls/s stay far below, so
 * percentiles are exact there.
 */
export const LATENCY_SAMPLES_PER_SECOND_MAX = 20_000;

/** Latencies kept for the run-wide percentiles of the done line (8 B each: 1.6 MB); the
 *  replay's ~90k successful calls are all kept, a longer run is sampled uniformly. */
export const RUN_LATENCY_SAMPLES_MAX = 200_000;

/** Nearest-rank percentile (q in (0, 1]) of ascending values; null when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = Math.ceil(q * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

/**
 * Latencies of a period (a second, or the whole run): all up to `capacity`, then a uniform sample
 * (Vitter's algorithm R), so memory stays bounded whatever the rate.
 */
export class LatencyReservoir {
  readonly #capacity: number;
  readonly #random: () => number;
  readonly #samples: Float64Array;
  #kept = 0;
  #seen = 0;

  constructor(capacity: number, random: () => number) {
    this.#capacity = capacity;
    this.#random = random;
    this.#samples = new Float64Array(capacity);
  }

  add(valueMs: number): void {
    this.#seen += 1;
    if (this.#kept < this.#capacity) {
      this.#samples[this.#kept] = valueMs;
      this.#kept += 1;
      return;
    }
    const slot = Math.floor(this.#random() * this.#seen);
    if (slot < this.#capacity) this.#samples[slot] = valueMs;
  }

  /** p50 and p99 of what was added since the last call, then empties. */
  takePercentiles(): { p50Ms: number | null; p99Ms: number | null } {
    const sorted = this.#samples.slice(0, this.#kept).sort();
    this.#kept = 0;
    this.#seen = 0;
    return { p50Ms: round2(percentile(sorted, 0.5)), p99Ms: round2(percentile(sorted, 0.99)) };
  }
}

function round2(v: number | null): number | null {
  return v === null ? null : Math.round(v * 100) / 100;
}

function zeroCounts(): RegionSecondStats {
  return { callsStarted: 0, ok: 0, failed: 0, timedOut: 0, attempts: 0 };
}

/** One region's counts; the run keeps it beside the region's other state. */
export interface RegionTally {
  readonly name: string;
  /** policy mode: the client's running attempt count (at-once counts with attemptStarted). */
  readonly attemptsCounter: (() => number) | undefined;
  /** attemptsCounter() at the last second boundary. */
  attemptsSeen: number;
  second: RegionSecondStats;
}

/**
 * Counts of the recorded calls: per second (reset at each line) and for the whole run. The
 * run reports events; this turns them into lines. Warm-up calls are reported only through
 * newRoomAcked (their rooms still count for the lost-room check).
 */
export class LoadStatistics {
  readonly #seed: number;
  readonly #tallies: RegionTally[];
  readonly #totals = {
    calls: 0,
    attempts: 0,
    ok: 0,
    failed: 0,
    timedOut: 0,
    shed: 0,
    ackedNew: 0,
  };
  readonly #latencies: LatencyReservoir;
  readonly #runLatencies: LatencyReservoir;
  #afterFailover: LatencyReservoir | undefined;
  #secondShed = 0;

  constructor(
    seed: number,
    regions: readonly { name: string; attemptsCounter: (() => number) | undefined }[],
  ) {
    this.#seed = seed;
    this.#tallies = regions.map((r) => ({
      name: r.name,
      attemptsCounter: r.attemptsCounter,
      attemptsSeen: 0,
      second: zeroCounts(),
    }));
    // Streams after the regions' own (REGIONS_MAX and up), so they never share one.
    this.#latencies = new LatencyReservoir(
      LATENCY_SAMPLES_PER_SECOND_MAX,
      mulberry32(regionSeed(seed, REGIONS_MAX)),
    );
    this.#runLatencies = new LatencyReservoir(
      RUN_LATENCY_SAMPLES_MAX,
      mulberry32(regionSeed(seed, REGIONS_MAX + 1)),
    );
  }

  /** The tally of region `index` (the order of the constructor's regions). */
  tally(index: number): RegionTally {
    return this.#tallies[index]!;
  }

  callShed(): void {
    this.#totals.shed += 1;
    this.#secondShed += 1;
  }

  callStarted(tally: RegionTally): void {
    this.#totals.calls += 1;
    tally.second.callsStarted += 1;
  }

  /** at-once mode: each attempt of a recorded call. */
  attemptStarted(tally: RegionTally): void {
    tally.second.attempts += 1;
    this.#totals.attempts += 1;
  }

  /** A recorded call ended; counted in the second it ends in. */
  callEnded(tally: RegionTally, end: CallEnd, latencyMs: number): void {
    if (end === 'ok') {
      tally.second.ok += 1;
      this.#totals.ok += 1;
      this.#latencies.add(latencyMs);
      this.#runLatencies.add(latencyMs);
      this.#afterFailover?.add(latencyMs);
    } else if (end === 'timedOut') {
      tally.second.timedOut += 1;
      this.#totals.timedOut += 1;
    } else {
      tally.second.failed += 1;
      this.#totals.failed += 1;
    }
  }

  /** A new room was acknowledged (warm-up calls included). */
  newRoomAcked(): void {
    this.#totals.ackedNew += 1;
  }

  /** From the first failover on, successful calls also feed p99AfterFailoverMs. */
  failedOver(): void {
    this.#afterFailover ??= new LatencyReservoir(
      RUN_LATENCY_SAMPLES_MAX,
      mulberry32(regionSeed(this.#seed, REGIONS_MAX + 2)),
    );
  }

  /** A warm-up second ended: its counts are read and dropped. */
  dropSecond(): void {
    for (const tally of this.#tallies) {
      if (tally.attemptsCounter) tally.attemptsSeen = tally.attemptsCounter();
      tally.second = zeroCounts();
    }
    this.#latencies.takePercentiles();
    this.#secondShed = 0;
  }

  /** The line of recorded second `t`; starts the next second's counts. */
  secondLine(t: number, inFlight: number): SecondStats {
    const byRegion = new Map<string, RegionSecondStats>();
    const line: SecondStats = {
      type: 'second',
      t,
      callsStarted: 0,
      attempts: 0,
      ok: 0,
      failed: 0,
      timedOut: 0,
      shed: this.#secondShed,
      p50Ms: null,
      p99Ms: null,
      inFlight,
      byRegion: {},
    };
    for (const tally of this.#tallies) {
      const counts = tally.second;
      if (tally.attemptsCounter) {
        const attempts = tally.attemptsCounter();
        counts.attempts = attempts - tally.attemptsSeen;
        this.#totals.attempts += counts.attempts;
        tally.attemptsSeen = attempts;
      }
      line.callsStarted += counts.callsStarted;
      line.attempts += counts.attempts;
      line.ok += counts.ok;
      line.failed += counts.failed;
      line.timedOut += counts.timedOut;
      byRegion.set(tally.name, counts);
      tally.second = zeroCounts();
    }
    const { p50Ms, p99Ms } = this.#latencies.takePercentiles();
    line.p50Ms = p50Ms;
    line.p99Ms = p99Ms;
    line.byRegion = Object.fromEntries(byRegion);
    this.#secondShed = 0;
    return line;
  }

  /** The done line; calls still in flight (past the drain bound) count as timedOut. */
  doneLine(stillInFlight: number): DoneStats {
    // Attempts made since the last second line (policy counters are read at boundaries).
    for (const tally of this.#tallies) {
      if (tally.attemptsCounter) {
        const attempts = tally.attemptsCounter();
        this.#totals.attempts += attempts - tally.attemptsSeen;
        tally.attemptsSeen = attempts;
      }
    }
    const run = this.#runLatencies.takePercentiles();
    return {
      type: 'done',
      ...this.#totals,
      timedOut: this.#totals.timedOut + stillInFlight,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
      p99AfterFailoverMs: this.#afterFailover?.takePercentiles().p99Ms ?? null,
    };
  }
}
