import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUDGET_BUCKET_COUNT, RetryBudget, type RoomringError } from '../src/index.js';
import {
  driveError,
  type FakeScheduler,
  jsonResponse,
  makeClient,
  roomJson,
  twirpError,
} from './fake-env.js';

const alwaysUnavailable = () => twirpError(503, 'unavailable', 'overloaded');

/** Starts call `i` at virtual time i x spacingMs and resolves when all have settled. */
function callsOverTime(
  sched: FakeScheduler,
  count: number,
  spacingMs: number,
  start: (i: number) => Promise<unknown>,
): Promise<RoomringError[]> {
  return new Promise((resolve) => {
    const errors: RoomringError[] = [];
    let settled = 0;
    for (let i = 0; i < count; i++) {
      sched.setTimer(i * spacingMs, () => {
        start(i)
          .then(
            () => {},
            (e: RoomringError) => errors.push(e),
          )
          .finally(() => {
            if (++settled === count) resolve(errors);
          });
      });
    }
  });
}

describe('retry budget (the incident: retries must not multiply an overload)', () => {
  it('1,000 concurrent calls against an always-503 server: at most 10% + 10 extra attempts', async () => {
    const { sched, server, client } = makeClient(alwaysUnavailable);
    const calls = Array.from({ length: 1_000 }, (_, i) => client.createRoom({ name: `r${i}` }));
    const results = await sched.drive(Promise.allSettled(calls));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    const extra = server.requests.length - 1_000;
    expect(extra).toBeLessThanOrEqual(0.1 * 1_000 + 10);
    expect(extra).toBeGreaterThanOrEqual(0.1 * 1_000); // the budget is spent, not hoarded
    const c = client.counters();
    expect(c.calls).toBe(1_000);
    expect(c.attempts).toBe(server.requests.length);
    expect(c.retries).toBe(extra);
    expect(c.budgetExhausted).toBeGreaterThan(800);
    expect(c.errorsByCode.get('unavailable')).toBe(c.attempts);
    const stops = new Set(
      results
        .map((r) => (r as PromiseRejectedResult).reason as RoomringError)
        .map((e) => e.retryStop),
    );
    expect(stops.has('budget')).toBe(true);
  });

  it('the same storm with the budget off sends maxAttempts x (4,000) requests', async () => {
    const { sched, server, client } = makeClient(alwaysUnavailable, {
      retry: { budgetEnabled: false },
    });
    const calls = Array.from({ length: 1_000 }, (_, i) => client.createRoom({ name: `r${i}` }));
    await sched.drive(Promise.allSettled(calls));
    expect(server.requests).toHaveLength(4_000);
  });

  it('calls spread over 10 s (one per 10 ms): extra load stays under 12%', async () => {
    const { sched, server, client } = makeClient(alwaysUnavailable);
    const errors = await sched.drive(
      callsOverTime(sched, 1_000, 10, (i) => client.listRooms([`r${i}`])),
    );
    expect(errors).toHaveLength(1_000);
    // 10% of the calls plus the per-window minimum (10) for the ~2 windows the run touches.
    expect(server.requests.length - 1_000).toBeLessThanOrEqual(0.1 * 1_000 + 2 * 10);
  });

  it('calls spread over 40 s (4 windows): extra load stays at ratio + minimum per window', async () => {
    const { sched, server, client } = makeClient(alwaysUnavailable);
    await sched.drive(
      callsOverTime(sched, 2_000, 20, (i) => client.status({ deadlineMs: 1_000 + i })),
    );
    const extra = server.requests.length - 2_000;
    expect(extra).toBeLessThanOrEqual(0.1 * 2_000 + 5 * 10);
    expect(extra).toBeGreaterThanOrEqual(0.1 * 2_000);
  });

  it('a client making few calls can still retry a lone failure (the per-window minimum)', async () => {
    const { sched, server, client } = makeClient((_req, i) =>
      i < 3 ? alwaysUnavailable() : jsonResponse(roomJson('a')),
    );
    const room = await sched.drive(client.createRoom({ name: 'a' }));
    expect(room.name).toBe('a');
    expect(server.requests).toHaveLength(4);
  });

  it('refuses retries while the storm is in the window, and refills after it', async () => {
    let afterAttempts = 0;
    const { sched, client } = makeClient((req) => {
      if (req.body?.includes('"after"') && ++afterAttempts > 1) return jsonResponse(roomJson('x'));
      return alwaysUnavailable();
    });
    const storm = Array.from({ length: 200 }, (_, i) => client.createRoom({ name: `r${i}` }));
    await sched.drive(Promise.allSettled(storm));
    expect(client.counters().budgetExhausted).toBeGreaterThan(0);

    const during = await driveError(sched, client.createRoom({ name: 'during' }));
    expect((during as RoomringError).retryStop).toBe('budget');
    expect((during as RoomringError).attempts).toBe(1);

    await sched.drive(new Promise<void>((r) => sched.setTimer(10_000, r)));
    const room = await sched.drive(client.createRoom({ name: 'after' }));
    expect(room.name).toBe('x');
    expect(afterAttempts).toBe(2);
  });

  it('property: matches a reference model of "retries + 1 <= ratio x calls + min" over the sliding window', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 0.05, 0.1, 0.5, 1),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 2_000 }).map((k) => k * 10),
        fc.array(fc.record({ dtMs: fc.integer({ min: 0, max: 3_000 }), retry: fc.boolean() }), {
          maxLength: 400,
        }),
        (ratio, minPerWindow, windowMs, events) => {
          const budget = new RetryBudget(ratio, minPerWindow, windowMs);
          const bucketMs = windowMs / BUDGET_BUCKET_COUNT;
          const log: { bucket: number; retry: boolean }[] = [];
          let now = 1_767_225_600_000;
          for (const e of events) {
            now += e.dtMs;
            const bucket = Math.floor(now / bucketMs);
            const inWindow = log.filter((x) => x.bucket > bucket - BUDGET_BUCKET_COUNT);
            const calls = inWindow.filter((x) => !x.retry).length;
            const retries = inWindow.length - calls;
            if (e.retry) {
              const expected = retries + 1 <= ratio * calls + minPerWindow;
              expect(budget.tryAcquireRetry(now)).toBe(expected);
              if (expected) log.push({ bucket, retry: true });
            } else {
              budget.recordCall(now);
              log.push({ bucket, retry: false });
            }
          }
        },
      ),
      { seed: 424_242, numRuns: 300 },
    );
  });
});
