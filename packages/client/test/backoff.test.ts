import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RoomringApiError } from '../src/index.js';
import {
  jsonResponse,
  makeClient,
  maxRandom,
  roomJson,
  seededRandom,
  twirpError,
  zeroRandom,
} from './fake-env.js';

const unavailable = () => twirpError(503, 'unavailable');
const LONG_DEADLINE_MS = 600_000;

describe('exponential back-off with full jitter', () => {
  it('grows exponentially: with the largest random value each wait is its cap 50, 100, 200', async () => {
    const { sched, server, client } = makeClient(unavailable, {
      random: maxRandom,
      retry: { budgetEnabled: false },
    });
    const err = await sched
      .drive(client.createRoom({ name: 'a' }, { deadlineMs: LONG_DEADLINE_MS }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RoomringApiError);
    expect(server.gapsMs()).toEqual([50, 100, 200]);
    expect((err as RoomringApiError).retryStop).toBe('max-attempts');
    expect((err as RoomringApiError).attempts).toBe(4);
  });

  it('caps each wait at maxDelayMs', async () => {
    const { sched, server, client } = makeClient(unavailable, {
      random: maxRandom,
      retry: { budgetEnabled: false, maxAttempts: 6, maxDelayMs: 120 },
    });
    await sched.drive(client.listRooms([], { deadlineMs: LONG_DEADLINE_MS })).catch(() => {});
    expect(server.gapsMs()).toEqual([50, 100, 120, 120, 120]);
  });

  it('with the smallest random value retries at once (the jitter range starts at 0)', async () => {
    const { sched, server, client } = makeClient(unavailable, {
      random: zeroRandom,
      retry: { budgetEnabled: false },
    });
    await sched.drive(client.status({ deadlineMs: LONG_DEADLINE_MS })).catch(() => {});
    expect(server.gapsMs()).toEqual([0, 0, 0]);
  });

  it('property: every wait k is a whole number in [0, min(maxDelayMs, baseDelayMs * 2^k)]', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 0xffff_ffff }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 2, max: 10 }),
        async (seed, baseDelayMs, extraMs, maxAttempts) => {
          const maxDelayMs = baseDelayMs + extraMs;
          const { sched, server, client } = makeClient(unavailable, {
            random: seededRandom(seed),
            retry: { budgetEnabled: false, baseDelayMs, maxDelayMs, maxAttempts },
          });
          await sched.drive(client.members({ deadlineMs: 86_400_000 })).catch(() => {});
          const gaps = server.gapsMs();
          expect(gaps).toHaveLength(maxAttempts - 1);
          gaps.forEach((gap, k) => {
            expect(Number.isInteger(gap)).toBe(true);
            expect(gap).toBeGreaterThanOrEqual(0);
            expect(gap).toBeLessThanOrEqual(Math.min(maxDelayMs, baseDelayMs * 2 ** k));
          });
        },
      ),
      { seed: 20_260_101, numRuns: 100 },
    );
  });

  it('spreads the first retry uniformly over [0, 50] ms (mean ~25, both ends reached)', async () => {
    // 503 to a call's first attempt, 200 to its retry: one first-retry wait per call.
    const seen = new Set<string>();
    const { sched, server, client } = makeClient(
      (req) => {
        const id = req.headers['x-livekit-request-id']!;
        if (seen.has(id)) return jsonResponse(roomJson('r'));
        seen.add(id);
        return unavailable();
      },
      { random: seededRandom(7), retry: { budgetEnabled: false } },
    );
    const waits: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const before = server.requests.length;
      await sched.drive(client.createRoom({ name: `r${i}` }));
      expect(server.requests.length - before).toBe(2);
      waits.push(server.requests.at(-1)!.atMs - server.requests.at(-2)!.atMs);
    }
    const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
    // Uniform on 0..50: mean 25, standard error 14.7 / sqrt(2000) = 0.33. "Equal jitter"
    // (25 + U(0, 25)) would give 37.5; no jitter 50.
    expect(mean).toBeGreaterThan(23.5);
    expect(mean).toBeLessThan(26.5);
    expect(Math.min(...waits)).toBeLessThanOrEqual(1);
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(49);
    expect(Math.max(...waits)).toBeLessThanOrEqual(50);
  });
});

describe('Retry-After', () => {
  it('is a floor: a 1 s Retry-After delays the retry by 1000 ms, not the 0..50 ms jitter', async () => {
    const { sched, server, client } = makeClient((_req, i) =>
      i === 0
        ? twirpError(503, 'unavailable', 'not ready', { 'retry-after': '1' })
        : jsonResponse(roomJson('a')),
    );
    const room = await sched.drive(client.createRoom({ name: 'a' }));
    expect(room.name).toBe('a');
    expect(server.gapsMs()).toEqual([1_000]);
  });

  it('does not shorten a longer jittered wait (Retry-After: 0, jitter cap 50)', async () => {
    const { sched, server, client } = makeClient(
      (_req, i) =>
        i === 0
          ? twirpError(429, 'resource_exhausted', 'shed', { 'retry-after': '0' })
          : jsonResponse(roomJson('a')),
      { random: maxRandom },
    );
    await sched.drive(client.createRoom({ name: 'a' }));
    expect(server.gapsMs()).toEqual([50]);
  });

  it('accepts an HTTP date and exposes retryAfterMs on the error', async () => {
    const { sched, server, client } = makeClient((req, i) => {
      if (i > 0) return jsonResponse({ rooms: [] });
      return twirpError(503, 'unavailable', 'later', {
        'retry-after': new Date(req.atMs + 2_000).toUTCString(),
      });
    });
    await sched.drive(client.rooms());
    expect(server.gapsMs()).toEqual([2_000]);
    const { sched: s2, client: c2 } = makeClient(() =>
      twirpError(503, 'unavailable', 'later', { 'retry-after': '3' }),
    );
    const err = await s2.drive(c2.status({ retry: false })).catch((e: unknown) => e);
    expect((err as RoomringApiError).retryAfterMs).toBe(3_000);
    expect((err as RoomringApiError).retryStop).toBe('disabled');
  });
});
