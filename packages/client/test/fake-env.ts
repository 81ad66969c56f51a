/**
 * Test doubles: a virtual clock with timers, seeded randomness and a scripted `fetch`.
 * Nothing here waits in real time: `drive(promise)` runs due timers in order, jumping the
 * virtual clock, until the promise settles.
 */
import {
  type ClientClock,
  type ClientRandom,
  type ClientTimers,
  createRoomringClient,
  type FetchLike,
  type RoomringClient,
  type RoomringClientInit,
} from '../src/index.js';

/** 2026-01-01T00:00:00Z: a realistic wall clock for token claims. */
export const START_MS = 1_767_225_600_000;

interface Timer {
  dueMs: number;
  seq: number;
  fn: () => void;
}

/** Rounds of setImmediate between timer steps: lets promise chains with no real I/O settle. */
const FLUSH_ROUNDS = 2;

export class FakeScheduler implements ClientClock, ClientTimers {
  now = START_MS;
  readonly #timers = new Map<number, Timer>();
  #seq = 0;

  nowMs(): number {
    return this.now;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const seq = this.#seq++;
    this.#timers.set(seq, { dueMs: this.now + Math.max(0, delayMs), seq, fn });
    return () => {
      this.#timers.delete(seq);
    };
  }

  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Advances virtual time, firing due timers, until `promise` settles. */
  async drive<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    for (;;) {
      for (let i = 0; i < FLUSH_ROUNDS; i++) await new Promise((r) => setImmediate(r));
      if (settled) return promise;
      let next: Timer | undefined;
      for (const t of this.#timers.values()) {
        if (!next || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.seq < next.seq)) next = t;
      }
      if (!next) throw new Error('promise is pending but no timer is due: a deadlock');
      this.#timers.delete(next.seq);
      this.now = Math.max(this.now, next.dueMs);
      next.fn();
    }
  }
}

/** xorshift32: deterministic, seeded. */
export function seededRandom(seed: number): ClientRandom {
  let x = seed >>> 0 || 0x9e3779b9;
  return {
    nextUint32() {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    },
  };
}

/** Always the largest value: every full-jitter delay equals its cap. */
export const maxRandom: ClientRandom = { nextUint32: () => 0xffff_ffff };
/** Always 0: every full-jitter delay is 0. */
export const zeroRandom: ClientRandom = { nextUint32: () => 0 };

export interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  atMs: number;
  signal: AbortSignal | undefined;
}

export type Handler = (req: RecordedRequest, index: number) => Response | Promise<Response>;

/** A scripted server: every request is recorded, the handler answers it. */
export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  readonly fetch: FetchLike;

  constructor(clock: ClientClock, handler: Handler) {
    this.fetch = async (url, init) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) {
        headers[k.toLowerCase()] = v;
      }
      const req: RecordedRequest = {
        url,
        method: init.method ?? 'GET',
        headers,
        body: typeof init.body === 'string' ? init.body : undefined,
        atMs: clock.nowMs(),
        signal: init.signal ?? undefined,
      };
      this.requests.push(req);
      if (req.signal?.aborted) throw abortError();
      return handler(req, this.requests.length - 1);
    };
  }

  /** Gaps between consecutive requests, in virtual ms. */
  gapsMs(): number[] {
    return this.requests.slice(1).map((r, i) => r.atMs - this.requests[i]!.atMs);
  }
}

export function abortError(): Error {
  return Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
}

/** A response that never arrives unless the request is aborted (then it rejects). */
export function hang(req: RecordedRequest): Promise<Response> {
  return new Promise((_resolve, reject) => {
    req.signal?.addEventListener('abort', () => reject(abortError()), { once: true });
  });
}

/** A response delivered `delayMs` of virtual time later (or rejected on abort). */
export function later(
  timers: ClientTimers,
  delayMs: number,
  req: RecordedRequest,
  make: () => Response,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const cancel = timers.setTimer(delayMs, () => resolve(make()));
    req.signal?.addEventListener(
      'abort',
      () => {
        cancel();
        reject(abortError());
      },
      { once: true },
    );
  });
}

export function twirpError(
  status: number,
  code: string,
  msg = code,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ code, msg, meta: {} }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** A fetch failure as undici reports it: TypeError('fetch failed') with a coded cause. */
export function networkFailure(code: string): Error {
  const cause = Object.assign(new Error(`connect ${code} 127.0.0.1:7880`), { code });
  return new TypeError('fetch failed', { cause });
}

/** A Room as livekit-server writes it: snake_case, every field, int64 as strings. */
export function roomJson(name: string, sid = 'RM_abcdefghijkm'): Record<string, unknown> {
  return {
    sid,
    name,
    empty_timeout: 300,
    departure_timeout: 20,
    max_participants: 0,
    creation_time: '1767225600',
    creation_time_ms: '1767225600123',
    turn_password: '',
    enabled_codecs: [],
    metadata: '',
    num_participants: 0,
    num_publishers: 0,
    active_recording: false,
    version: null,
  };
}

export const API_KEY = 'devkey';
export const API_SECRET = 'secret';
export const BASE_URL = 'http://roomring.test:7880';

export interface Harness {
  sched: FakeScheduler;
  server: FakeServer;
  client: RoomringClient;
}

/** A client on a virtual clock talking to a scripted server. */
export function makeClient(handler: Handler, overrides: Partial<RoomringClientInit> = {}): Harness {
  const sched = new FakeScheduler();
  const server = new FakeServer(sched, handler);
  const client = createRoomringClient({
    baseUrl: BASE_URL,
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    clock: sched,
    timers: sched,
    random: seededRandom(1),
    fetch: server.fetch,
    ...overrides,
  });
  return { sched, server, client };
}

/** Runs `p` to completion on the scheduler and returns the error it threw. */
export async function driveError(sched: FakeScheduler, p: Promise<unknown>): Promise<unknown> {
  try {
    await sched.drive(p);
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}
