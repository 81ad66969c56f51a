/**
 * Micro-benchmarks of @roomring/client: what one call costs on the client side (token mint,
 * JSON encode, a Response parsed into a Room) against an in-memory `fetch`, Room parsing
 * throughput for a large ListRooms answer, the retry budget's admission check, and the
 * retry policy's load amplification under a total outage (the incident's retry storm),
 * replayed on a virtual clock.
 *
 * Targets: client overhead >= 20,000 calls/s, a third of the ~60k req/s a roomring node
 * can answer on this machine (PLATFORM.md), so a client is never what limits a load test;
 * ListRooms parsing >= 200,000 rooms/s (10k rooms in 50 ms); under a total outage
 * <= 1.11 attempts per call with the budget (10% + the minimum) against 4.0 without.
 */
import {
  createRoomringClient,
  type FetchLike,
  RetryBudget,
  type RoomringClient,
  type RoomringClientInit,
} from '@roomring/client';
import { atLeast, atMost, type BenchResult, measureOpsPerSec } from './harness.js';

const SUITE = 'client';
const OUTAGE_CALLS = 1_000;
const LIST_ROOMS = 10_000;

function roomJson(i: number): Record<string, unknown> {
  return {
    sid: `RM_${String(i).padStart(12, 'a')}`,
    name: `tenant-${i % 17}/room-${i * 7919}`,
    empty_timeout: 300,
    departure_timeout: 20,
    max_participants: 0,
    creation_time: '1767225600',
    creation_time_ms: '1767225600123',
    turn_password: '',
    enabled_codecs: [],
    metadata: i % 3 === 0 ? `{"topic":"standup ${i}"}` : '',
    num_participants: i % 9,
    num_publishers: i % 3,
    active_recording: false,
  };
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * A client whose fetch answers `body` from memory. The body is UTF-8 encoded once, as bytes
 * arrive from a socket, so the figure is the client's work, not the test double's encoding.
 */
function inMemoryClient(body: string, extra: Partial<RoomringClientInit> = {}): RoomringClient {
  const bytes = Buffer.from(body, 'utf8');
  const fetch: FetchLike = async () => new Response(bytes, { status: 200, headers: JSON_HEADERS });
  return createRoomringClient({
    baseUrl: 'http://127.0.0.1:7880',
    apiKey: 'devkey',
    apiSecret: 'secret',
    fetch,
    ...extra,
  });
}

/** Sequential awaited calls per second, median of `rounds` rounds of >= roundMs each. */
async function measureAsyncOpsPerSec(
  fn: () => Promise<unknown>,
  units: number,
  roundMs = 300,
  rounds = 5,
): Promise<number> {
  const runRound = async (): Promise<number> => {
    let ops = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      await fn();
      ops += units;
      elapsed = performance.now() - start;
    } while (elapsed < roundMs);
    return (ops / elapsed) * 1000;
  };
  await runRound(); // warm-up
  const rates: number[] = [];
  for (let i = 0; i < rounds; i++) rates.push(await runRound());
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)]!;
}

/** A virtual clock + timers: the outage replay takes virtual seconds, not real ones. */
class VirtualTime {
  now = 1_767_225_600_000;
  readonly #timers = new Map<number, { dueMs: number; fn: () => void }>();
  #seq = 0;

  nowMs = (): number => this.now;

  setTimer = (delayMs: number, fn: () => void): (() => void) => {
    const id = this.#seq++;
    this.#timers.set(id, { dueMs: this.now + delayMs, fn });
    return () => this.#timers.delete(id);
  };

  async drive(done: Promise<unknown>): Promise<void> {
    let settled = false;
    void done.finally(() => {
      settled = true;
    });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      if (settled) return;
      let nextId = -1;
      let next: { dueMs: number; fn: () => void } | undefined;
      for (const [id, t] of this.#timers) {
        if (!next || t.dueMs < next.dueMs) {
          next = t;
          nextId = id;
        }
      }
      if (!next) throw new Error('outage replay stalled');
      this.#timers.delete(nextId);
      this.now = Math.max(this.now, next.dueMs);
      next.fn();
    }
  }
}

/** Attempts per call when every attempt of 1,000 concurrent CreateRooms answers 503. */
async function outageAttemptsPerCall(budgetEnabled: boolean): Promise<number> {
  const time = new VirtualTime();
  let attempts = 0;
  const fetch: FetchLike = async () => {
    attempts++;
    return new Response('{"code":"unavailable","msg":"overloaded","meta":{}}', {
      status: 503,
      headers: JSON_HEADERS,
    });
  };
  let seed = 12_345;
  const client = inMemoryClient('', {
    fetch,
    clock: time,
    timers: time,
    random: {
      nextUint32: () => {
        seed ^= seed << 13;
        seed ^= seed >>> 17;
        seed ^= seed << 5;
        return seed >>> 0;
      },
    },
    retry: { budgetEnabled },
  });
  const calls = Array.from({ length: OUTAGE_CALLS }, (_, i) =>
    client.createRoom({ name: `room-${i}` }),
  );
  await time.drive(Promise.allSettled(calls));
  return attempts / OUTAGE_CALLS;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];

  const createBody = JSON.stringify(roomJson(1));
  const createClient = inMemoryClient(createBody);
  const callsPerSec = await measureAsyncOpsPerSec(
    () => createClient.createRoom({ name: 'tenant-1/room-7919' }),
    1,
  );
  results.push({
    suite: SUITE,
    name: 'createRoom overhead (in-memory fetch: token + JSON + Room parse)',
    value: callsPerSec,
    unit: 'calls/s',
    ...atLeast(callsPerSec, 20_000),
  });

  const listBody = JSON.stringify({
    rooms: Array.from({ length: LIST_ROOMS }, (_, i) => roomJson(i)),
  });
  const listClient = inMemoryClient(listBody);
  const roomsPerSec = await measureAsyncOpsPerSec(() => listClient.listRooms(), LIST_ROOMS);
  results.push({
    suite: SUITE,
    name: `listRooms parse (${LIST_ROOMS.toLocaleString('en-US')} snake_case rooms, ${(listBody.length / 1e6).toFixed(1)} MB)`,
    value: roomsPerSec,
    unit: 'rooms/s',
    ...atLeast(roomsPerSec, 200_000),
  });

  const budget = new RetryBudget(0.1, 10, 10_000);
  let t = 0;
  const admitsPerSec = measureOpsPerSec(() => {
    for (let i = 0; i < 1_000; i++) {
      t += 1;
      budget.recordCall(t);
      budget.tryAcquireRetry(t);
    }
  }, 1_000);
  results.push({
    suite: SUITE,
    name: 'retry budget: recordCall + tryAcquireRetry',
    value: admitsPerSec,
    unit: 'ops/s',
    ...atLeast(admitsPerSec, 1_000_000),
  });

  const withBudget = await outageAttemptsPerCall(true);
  results.push({
    suite: SUITE,
    name: `total outage, ${OUTAGE_CALLS.toLocaleString('en-US')} concurrent calls: attempts per call, with budget`,
    value: withBudget,
    unit: 'attempts/call',
    ...atMost(withBudget, 1.11),
  });
  const withoutBudget = await outageAttemptsPerCall(false);
  results.push({
    suite: SUITE,
    name: 'same, budget off (the retry storm the budget prevents)',
    value: withoutBudget,
    unit: 'attempts/call',
    note: 'maxAttempts 4: every failed call is sent 4 times',
  });
  return results;
}
