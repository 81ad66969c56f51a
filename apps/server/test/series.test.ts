/** The dashboard's recent series (series.ts) and its histogram, on an injected clock. */
import { packHlc } from '@roomring/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogHistogram } from '../src/log-histogram.js';
import { SERIES_INTERVAL_MS, ServerSeries, watchReplicationLag } from '../src/series.js';

const SEED = 20_261_206;
const RANGE = { minValue: 0.05, maxValue: 60_000, growth: 1.2 };

describe('LogHistogram', () => {
  it('gives quantiles at most 20% above the true value, never outside what was seen', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 100_000, noNaN: true }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.constantFrom(0.5, 0.9, 0.99, 1),
        (values, q) => {
          const h = new LogHistogram(RANGE);
          for (const v of values) h.observe(v);
          const sorted = [...values].sort((a, b) => a - b);
          const truth = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
          const got = h.quantile(q)!;
          expect(got).toBeGreaterThanOrEqual(sorted[0]!);
          expect(got).toBeLessThanOrEqual(sorted.at(-1)!);
          // Inside the range the bucket bound is within one growth step of the truth.
          if (truth >= RANGE.minValue && truth <= RANGE.maxValue) {
            expect(got).toBeGreaterThanOrEqual(truth / RANGE.growth - 1e-9);
            expect(got).toBeLessThanOrEqual(truth * RANGE.growth + 1e-9);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('is empty after reset, ignores non-finite values, refuses a bad range', () => {
    const h = new LogHistogram(RANGE);
    expect(h.quantile(0.5)).toBeNull();
    h.observe(Number.NaN);
    h.observe(Number.POSITIVE_INFINITY);
    expect(h.count).toBe(0);
    h.observe(3);
    expect(h.quantile(0.99)).toBe(3);
    h.reset();
    expect(h.count).toBe(0);
    expect(h.quantile(0.5)).toBeNull();
    expect(h.bucketCount).toBe(78);
    expect(() => new LogHistogram({ minValue: 1, maxValue: 1, growth: 2 })).toThrow(RangeError);
    expect(() => new LogHistogram({ minValue: 1, maxValue: 10, growth: 1 })).toThrow(RangeError);
  });
});

function fakeClock(startMs = 1_000_000) {
  let now = startMs;
  return { nowMs: () => now, advance: (ms: number) => (now += ms) };
}

describe('ServerSeries', () => {
  it('closes an interval into one point: rate, latency quantiles, shed, gauges', () => {
    const clock = fakeClock();
    const series = new ServerSeries({
      nowMs: clock.nowMs,
      converged: () => true,
      admission: () => ({ inFlight: 3, queued: 2 }),
    });
    for (let i = 1; i <= 100; i++) series.observeRequest(i);
    series.observeShed();
    series.observeShed();
    clock.advance(SERIES_INTERVAL_MS);
    const point = series.sample();
    expect(point.requests).toBe(100);
    expect(point.requestsPerS).toBe(50);
    expect(point.latencyP50Ms!).toBeGreaterThanOrEqual(50);
    expect(point.latencyP50Ms!).toBeLessThanOrEqual(60);
    expect(point.latencyP99Ms!).toBeGreaterThanOrEqual(99);
    expect(point.latencyP99Ms!).toBeLessThanOrEqual(100);
    expect(point).toMatchObject({ shed: 2, inFlight: 3, queued: 2, replicated: 0 });
    expect(point.replicationLagP99Ms).toBeNull();
    // The next interval starts empty.
    clock.advance(SERIES_INTERVAL_MS);
    expect(series.sample()).toMatchObject({ requests: 0, latencyP50Ms: null, shed: 0 });
  });

  it('keeps at most pointsMax points, oldest dropped first', () => {
    const clock = fakeClock();
    const series = new ServerSeries({
      nowMs: clock.nowMs,
      converged: () => true,
      admission: () => ({ inFlight: 0, queued: 0 }),
      pointsMax: 5,
    });
    for (let i = 0; i < 12; i++) {
      clock.advance(SERIES_INTERVAL_MS);
      series.sample();
    }
    const view = series.view();
    expect(view.points).toHaveLength(5);
    expect(view.pointsMax).toBe(5);
    expect(view.points[0]!.atMs).toBe(1_000_000 + 8 * SERIES_INTERVAL_MS);
    expect(view.points.at(-1)!.atMs).toBe(1_000_000 + 12 * SERIES_INTERVAL_MS);
    expect(
      () =>
        new ServerSeries({
          ...{
            nowMs: clock.nowMs,
            converged: () => true,
            admission: () => ({ inFlight: 0, queued: 0 }),
          },
          pointsMax: 0,
        }),
    ).toThrow(RangeError);
  });

  it('measures how long the digests have disagreed, from the first disagreeing sample', () => {
    const clock = fakeClock();
    let converged = true;
    const series = new ServerSeries({
      nowMs: clock.nowMs,
      converged: () => converged,
      admission: () => ({ inFlight: 0, queued: 0 }),
    });
    clock.advance(SERIES_INTERVAL_MS);
    series.sample();
    expect(series.view().convergence).toEqual({ converged: true, divergedSinceMs: null, lagMs: 0 });
    converged = false;
    clock.advance(SERIES_INTERVAL_MS);
    series.sample();
    const since = clock.nowMs();
    clock.advance(SERIES_INTERVAL_MS);
    series.sample();
    clock.advance(500);
    expect(series.view().convergence).toEqual({
      converged: false,
      divergedSinceMs: since,
      lagMs: SERIES_INTERVAL_MS + 500,
    });
    converged = true;
    clock.advance(SERIES_INTERVAL_MS);
    series.sample();
    expect(series.view().convergence.lagMs).toBe(0);
    expect(series.view().points.map((p) => p.converged)).toEqual([true, false, false, true]);
  });

  it('counts the lag of remote room changes only, and only while the node runs', () => {
    const clock = fakeClock(Date.UTC(2026, 11, 6));
    const series = new ServerSeries({
      nowMs: clock.nowMs,
      converged: () => true,
      admission: () => ({ inFlight: 0, queued: 0 }),
    });
    const listeners = new Map<string, (payload: unknown) => void>();
    let state = 'running';
    const node = {
      on: (event: string, fn: (payload: unknown) => void) => {
        listeners.set(event, fn);
        return () => listeners.delete(event);
      },
      nodeState: () => state,
    };
    const off = watchReplicationLag(node as never, series, clock.nowMs);
    const hlc = (wallMs: number) => packHlc(wallMs, 0);
    const room = (createdMs: number, extra: Record<string, number> = {}) => ({
      createdAt: hlc(createdMs),
      settingsAt: 0,
      statsAt: 0,
      deletedAt: 0,
      ...extra,
    });
    const now = clock.nowMs();
    listeners.get('room-created')!({ room: room(now - 40), origin: 'remote' });
    listeners.get('room-updated')!({
      room: room(now - 9_000, { statsAt: hlc(now - 20) }),
      origin: 'remote',
    });
    listeners.get('room-deleted')!({
      room: room(now - 9_000, { deletedAt: hlc(now - 30) }),
      origin: 'remote',
    });
    listeners.get('room-created')!({ room: room(now - 5_000), origin: 'local' });
    state = 'resyncing';
    listeners.get('room-created')!({ room: room(now - 60_000), origin: 'remote' });
    clock.advance(SERIES_INTERVAL_MS);
    const point = series.sample();
    expect(point.replicated).toBe(3);
    expect(point.replicationLagP99Ms).toBe(40);
    expect(point.replicationLagP50Ms!).toBeGreaterThanOrEqual(30);
    expect(point.replicationLagP50Ms!).toBeLessThanOrEqual(36);
    off();
    expect(listeners.size).toBe(0);
  });
});
