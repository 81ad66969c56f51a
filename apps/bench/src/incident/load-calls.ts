/**
 * One CreateRoom call in each client behaviour:
 *
 * - `at-once`: the incident's clients (/work/shared/incident-report.txt). Every attempt has
 *   its own timeout; a timeout, a network error, 5xx, 429 or 408 is retried IMMEDIATELY, with
 *   no delay and no budget, up to maxAttempts: a total outage multiplies the load by that.
 * - `policy`: packages/client's `createRoomringClient`, one per region (full-jitter back-off,
 *   ~10% retry budget, one deadline per call), on the run's clock, timers and randomness.
 *
 * Both read the region's route on every attempt, so a failover redirects retries of calls
 * already in flight too.
 */
import {
  type ClientClock,
  type ClientRandom,
  type ClientTimers,
  createRoomringClient,
  type FetchLike,
  mintAccessToken,
  type RoomringClient,
  RoomringError,
} from '@roomring/client';
import { isRecord, own } from './json-object.js';
import type { LoadConfig } from './load-config.js';

export const CREATE_ROOM_PATH = '/twirp/livekit.RoomService/CreateRoom';

/**
 * at-once clients reuse one token for this long (TTL 600 s, nbf back-dated 30 s): minting
 * costs ~5 us of HMAC, ~5% of a core at 10k calls/s that the generator must not spend.
 * policy clients mint per call, as packages/client does.
 */
export const TOKEN_REUSE_MS = 60_000;

/** An answer as at-once clients need it. */
export interface PostAnswer {
  status: number;
  text: string;
}

/** The two views of one HTTP client the run needs; load-http.ts adapts fetch or node:http. */
export interface LoadHttp {
  /**
   * One POST of an at-once attempt. Rejects with an error named `TimeoutError` once
   * `timeoutMs` has passed (answer or body not complete), with any other error on a
   * network failure.
   */
  post(
    url: string,
    headers: Record<string, string>,
    body: string,
    timeoutMs: number,
  ): Promise<PostAnswer>;
  /** For packages/client (policy mode), which enforces its own deadline via init.signal. */
  fetch: FetchLike;
}

export type CallOutcome = { kind: 'ok'; sid: string } | { kind: 'failed' } | { kind: 'timedOut' };

/** Where a region's calls go now: its own URL until a failover re-points it. */
export interface Route {
  current: string;
}

/** at-once: statuses worth an immediate retry (overload and gateway errors, timeouts). */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/** The at-once clients' shared token, minted again every TOKEN_REUSE_MS of wall time. */
export class ReusedToken {
  readonly #config: LoadConfig;
  readonly #wallClock: ClientClock;
  #value = '';
  #mintedAtMs = Number.NEGATIVE_INFINITY;

  constructor(config: LoadConfig, wallClock: ClientClock) {
    this.#config = config;
    this.#wallClock = wallClock;
  }

  headers(): Record<string, string> {
    const now = this.#wallClock.nowMs();
    if (now - this.#mintedAtMs > TOKEN_REUSE_MS) {
      const { apiKey, apiSecret } = this.#config;
      this.#value = mintAccessToken(apiKey, apiSecret, { roomCreate: true }, now);
      this.#mintedAtMs = now;
    }
    return { Authorization: `Bearer ${this.#value}`, 'Content-Type': 'application/json' };
  }
}

export interface AtOnceCall {
  config: LoadConfig;
  http: LoadHttp;
  token: ReusedToken;
  route: Route;
  name: string;
  /** Called before each attempt is sent. */
  onAttempt: () => void;
}

/** The incident's client: up to maxAttempts attempts, each retried at once. */
export async function callAtOnce(call: AtOnceCall): Promise<CallOutcome> {
  const { config, http, route } = call;
  const body = JSON.stringify({ name: call.name });
  let last: CallOutcome = { kind: 'failed' };
  for (let attempt = 1; attempt <= config.maxAttempts; attempt++) {
    call.onAttempt();
    try {
      // route.current is read per attempt: a failover redirects the retries too.
      const response = await http.post(
        `${route.current}${CREATE_ROOM_PATH}`,
        call.token.headers(),
        body,
        config.attemptTimeoutMs,
      );
      if (response.status >= 200 && response.status < 300) {
        const sid = roomSid(response.text);
        return sid === undefined ? { kind: 'failed' } : { kind: 'ok', sid };
      }
      last = response.status === 408 ? { kind: 'timedOut' } : { kind: 'failed' };
      if (!isRetryableStatus(response.status)) return last;
    } catch (err) {
      last = isTimeoutError(err) ? { kind: 'timedOut' } : { kind: 'failed' };
    }
  }
  return last;
}

export interface PolicyClientInit {
  config: LoadConfig;
  /** The region's own URL: the client's baseUrl. */
  baseUrl: string;
  route: Route;
  fetch: FetchLike;
  wallClock: ClientClock;
  timers: ClientTimers;
  random: ClientRandom;
}

/** A region's packages/client instance whose every attempt goes to the region's route. */
export function createPolicyClient(init: PolicyClientInit): RoomringClient {
  const { config, baseUrl, route, fetch } = init;
  // The client keeps its baseUrl; this wrapper swaps the root for the region's CURRENT
  // route on every attempt, so a failover reaches retries of calls already in flight.
  const routed: FetchLike = (url, req) =>
    fetch(url.startsWith(baseUrl) ? `${route.current}${url.slice(baseUrl.length)}` : url, req);
  return createRoomringClient({
    baseUrl,
    apiKey: config.apiKey,
    apiSecret: config.apiSecret,
    defaultDeadlineMs: config.callDeadlineMs,
    retry: { maxAttempts: config.maxAttempts },
    clock: init.wallClock,
    timers: init.timers,
    random: init.random,
    fetch: routed,
  });
}

/** One call through the policy client; its errors become outcomes. */
export async function callPolicy(
  client: RoomringClient,
  name: string,
  log: (message: string) => void,
): Promise<CallOutcome> {
  try {
    const room = await client.createRoom({ name });
    return { kind: 'ok', sid: room.sid };
  } catch (err) {
    if (err instanceof RoomringError) {
      // The local deadline and the server's 408 are both `deadline_exceeded`.
      return err.code === 'deadline_exceeded' ? { kind: 'timedOut' } : { kind: 'failed' };
    }
    log(`unexpected error from the client: ${String(err)}`);
    return { kind: 'failed' };
  }
}

/** The `sid` of a Room JSON answer, or undefined when the body is not one. */
function roomSid(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const sid = own(value, 'sid');
  return typeof sid === 'string' && sid !== '' ? sid : undefined;
}

/** AbortSignal.timeout aborts with a DOMException named TimeoutError; node-http mimics it. */
function isTimeoutError(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}
