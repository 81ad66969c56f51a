import { describe, expect, it } from 'vitest';
import {
  RoomringApiError,
  RoomringCanceledError,
  RoomringDeadlineExceededError,
  TIMEOUT_HEADER,
} from '../src/index.js';
import {
  driveError,
  hang,
  jsonResponse,
  later,
  makeClient,
  maxRandom,
  roomJson,
  START_MS,
  twirpError,
} from './fake-env.js';

const timeoutHeader = TIMEOUT_HEADER.toLowerCase();

describe('per-call deadline', () => {
  it('sends the time LEFT as X-Twirp-Timeout-Ms on every attempt', async () => {
    const { sched, server, client } = makeClient(() => twirpError(503, 'unavailable'), {
      random: maxRandom,
      retry: { budgetEnabled: false },
    });
    await driveError(sched, client.createRoom({ name: 'a' }, { deadlineMs: 3_000 }));
    expect(server.requests.map((r) => r.atMs - START_MS)).toEqual([0, 50, 150, 350]);
    expect(server.requests.map((r) => r.headers[timeoutHeader])).toEqual([
      '3000',
      '2950',
      '2850',
      '2650',
    ]);
  });

  it('uses defaultDeadlineMs (5000) when the call gives none', async () => {
    const { sched, server, client } = makeClient(() => jsonResponse({ members: [] }));
    await sched.drive(client.members());
    expect(server.requests[0]!.headers[timeoutHeader]).toBe('5000');
    const custom = makeClient(() => jsonResponse({ members: [] }), { defaultDeadlineMs: 1_234 });
    await custom.sched.drive(custom.client.members());
    expect(custom.server.requests[0]!.headers[timeoutHeader]).toBe('1234');
  });

  it('never starts a retry whose Retry-After ends past the deadline', async () => {
    const { sched, server, client } = makeClient(() =>
      twirpError(503, 'unavailable', 'busy', { 'retry-after': '3' }),
    );
    const err = await driveError(sched, client.createRoom({ name: 'a' }, { deadlineMs: 2_000 }));
    expect(err).toBeInstanceOf(RoomringApiError);
    expect((err as RoomringApiError).code).toBe('unavailable');
    expect((err as RoomringApiError).retryStop).toBe('deadline');
    expect(server.requests).toHaveLength(1);
    expect(sched.now).toBe(START_MS); // failed at once: no pointless wait
  });

  it('never starts a retry the previous attempt duration says cannot finish in time', async () => {
    // Each attempt takes 900 ms and answers 503. Deadline 2000: 900 + wait + 900 fits once.
    const slow = makeClient(
      (req) => later(slow.sched, 900, req, () => twirpError(503, 'unavailable')),
      {
        retry: { budgetEnabled: false },
      },
    );
    const err = await driveError(slow.sched, slow.client.listRooms([], { deadlineMs: 2_000 }));
    expect(slow.server.requests).toHaveLength(2);
    expect((err as RoomringApiError).retryStop).toBe('deadline');
    expect(slow.sched.now - START_MS).toBeLessThan(2_000);

    const tight = makeClient(
      (req) => later(tight.sched, 900, req, () => twirpError(503, 'unavailable')),
      {
        retry: { budgetEnabled: false },
      },
    );
    await driveError(tight.sched, tight.client.listRooms([], { deadlineMs: 1_500 }));
    expect(tight.server.requests).toHaveLength(1);
  });

  it('aborts a hung attempt at the deadline with RoomringDeadlineExceededError', async () => {
    const { sched, server, client } = makeClient(hang);
    const err = await driveError(sched, client.createRoom({ name: 'a' }, { deadlineMs: 750 }));
    expect(err).toBeInstanceOf(RoomringDeadlineExceededError);
    expect((err as RoomringDeadlineExceededError).name).toBe('RoomringDeadlineExceededError');
    expect((err as RoomringDeadlineExceededError).code).toBe('deadline_exceeded');
    expect((err as RoomringDeadlineExceededError).retryStop).toBe('deadline');
    expect(sched.now - START_MS).toBe(750);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.signal?.aborted).toBe(true);
    expect(sched.pendingTimers()).toBe(0);
    expect(client.counters().errorsByCode.get('deadline_exceeded')).toBe(1);
  });

  it("retries the server's 408 deadline_exceeded while time remains", async () => {
    const { sched, server, client } = makeClient((req, i) =>
      i === 0
        ? later(sched, 500, req, () => twirpError(408, 'deadline_exceeded'))
        : jsonResponse(roomJson('a')),
    );
    const room = await sched.drive(client.createRoom({ name: 'a' }, { deadlineMs: 5_000 }));
    expect(room.name).toBe('a');
    expect(server.requests).toHaveLength(2);
    expect(Number(server.requests[1]!.headers[timeoutHeader])).toBeLessThanOrEqual(4_500);
  });

  it("does not retry the server's 408 when the deadline leaves no time", async () => {
    const { sched, server, client } = makeClient((req) =>
      later(sched, 990, req, () => twirpError(408, 'deadline_exceeded')),
    );
    const err = await driveError(sched, client.createRoom({ name: 'a' }, { deadlineMs: 1_000 }));
    expect((err as RoomringApiError).code).toBe('deadline_exceeded');
    expect((err as RoomringApiError).retryStop).toBe('deadline');
    expect(server.requests).toHaveLength(1);
  });

  it('stops at once when the caller aborts during a back-off wait', async () => {
    const controller = new AbortController();
    const { sched, server, client } = makeClient(
      () => twirpError(503, 'unavailable', 'busy', { 'retry-after': '1' }),
      { retry: { budgetEnabled: false } },
    );
    sched.setTimer(300, () => controller.abort());
    const err = await driveError(
      sched,
      client.createRoom({ name: 'a' }, { signal: controller.signal }),
    );
    expect(err).toBeInstanceOf(RoomringCanceledError);
    expect((err as RoomringCanceledError).code).toBe('canceled');
    expect(server.requests).toHaveLength(1);
    expect(sched.now - START_MS).toBe(300);
  });

  it('aborts an in-flight attempt when the caller aborts', async () => {
    const controller = new AbortController();
    const { sched, server, client } = makeClient(hang);
    sched.setTimer(10, () => controller.abort());
    const err = await driveError(sched, client.status({ signal: controller.signal }));
    expect(err).toBeInstanceOf(RoomringCanceledError);
    expect(server.requests[0]!.signal?.aborted).toBe(true);
  });

  it('rejects a deadline that is not a positive number', async () => {
    const { client } = makeClient(() => jsonResponse({}));
    await expect(client.status({ deadlineMs: 0 })).rejects.toThrow(RangeError);
    await expect(client.status({ deadlineMs: Number.NaN })).rejects.toThrow(RangeError);
  });
});
